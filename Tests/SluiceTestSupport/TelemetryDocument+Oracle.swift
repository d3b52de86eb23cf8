public import SluiceIngest
import SluiceJSON

/// The test oracle: the document of an event built from a decoded record, the slow and obvious
/// way, to compare with what ingest writes from the bytes.
extension TelemetryDocument {
    /// The document for an event with `time` (as Lambda sent it), `type` and `record`; a log line
    /// also gets `context` (its invocation), a JSON record's own request id first.
    public func encode(time: String, type: String, record: JSONValue, context: LineContext? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        func field(_ name: String, _ first: Bool = false) {
            if !first { out.append(UInt8(ascii: ",")) }
            JSONText.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
        }
        out.append(UInt8(ascii: "{"))
        field("@timestamp", true)
        JSONText.appendString(time, to: &out)
        field("time")
        JSONText.appendString(time, to: &out)
        field("type")
        JSONText.appendString(type, to: &out)
        field("functionName")
        JSONText.appendString(function.name, to: &out)
        field("functionVersion")
        JSONText.appendString(function.version, to: &out)
        field("region")
        JSONText.appendString(function.region, to: &out)
        let isLog = Self.isLog(type)
        if let requestId = record["requestId"]?.string ?? (isLog ? context?.requestId : nil) {
            field("requestId")
            JSONText.appendString(requestId, to: &out)
        }
        if isLog, let traceId = context?.traceId {
            field("traceId")
            JSONText.appendString(traceId, to: &out)
        }
        if isLog, let phase = context?.phase {
            field("phase")
            JSONText.appendString(phase.rawValue, to: &out)
        }
        if isLog {
            switch record {
            case .string(let line):
                field("message")
                JSONText.appendString(line, to: &out)
            case .object:
                if let message = record["message"] {
                    field("message")
                    JSONText.appendString(message.string ?? message.text, to: &out)
                }
                if let level = record["level"]?.string {
                    field("level")
                    JSONText.appendString(level, to: &out)
                }
            default:
                field("message")
                JSONText.appendString(record.text, to: &out)
            }
        }
        field("record")
        record.write(to: &out)
        if isLog, case .object = record {
            field("fields")
            record.write(to: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
