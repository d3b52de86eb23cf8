/// Telemetry-shaped documents of a chosen size, with ids that grow with time as the extension's do.
struct SyntheticTelemetry {
    let recordBytes: Int
    let startTime: Int64

    /// The document and id of the `number`th record.
    func record(_ number: Int, index: String = "lambda-function") -> (id: String, time: Int64, document: [UInt8]) {
        let time = startTime + Int64(number / 8)
        let id = "\(hex(time, width: 12))-synthetic-\(hex(Int64(number), width: 8))"
        let head = #"{"@timestamp":\#(time),"type":"function","record":"line \#(number) "#
        let fill = max(0, recordBytes - head.utf8.count - 2)
        return (id, time, Array((head + String(repeating: "x", count: fill) + #""}"#).utf8))
    }

    private func hex(_ value: Int64, width: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
