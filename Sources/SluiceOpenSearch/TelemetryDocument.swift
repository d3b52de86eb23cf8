/// Builds the OpenSearch document of one telemetry event.
///
/// The AWS sample's fields stay as they were (`time`, `type`, `record`), so existing dashboards
/// keep working; Sluice adds `@timestamp` (for data streams and time-based views), the function's
/// name, version and region, and `requestId` when the record has one. Log events (`function`,
/// `extension`) also get `message` and `level` at top level: see `IndexDefinition` for why.
public struct TelemetryDocument: Sendable {
    /// What every document of one function carries.
    public struct Function: Sendable, Equatable {
        public var name: String
        public var version: String
        public var region: String

        public init(name: String, version: String, region: String) {
            self.name = name
            self.version = version
            self.region = region
        }
    }

    public let function: Function

    public init(function: Function) {
        self.function = function
    }

    /// Whether events of `type` are log lines (`function`, `extension`) rather than platform events.
    public static func isLog(_ type: String) -> Bool { type == "function" || type == "extension" }

    /// The document for an event with `time` (as Lambda sent it), `type` and `record`.
    public func encode(time: String, type: String, record: JSONValue) -> [UInt8] {
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
        if let requestId = record["requestId"]?.string {
            field("requestId")
            JSONText.appendString(requestId, to: &out)
        }
        if Self.isLog(type) {
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
        out.append(UInt8(ascii: "}"))
        return out
    }
}
