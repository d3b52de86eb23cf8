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

    /// `,"functionName":…,"functionVersion":…,"region":…`, the same for every document.
    private let functionFields: [UInt8]

    public init(function: Function) {
        self.function = function
        var fields: [UInt8] = []
        for (name, value) in [
            ("functionName", function.name), ("functionVersion", function.version), ("region", function.region),
        ] {
            fields += Array(",\"\(name)\":".utf8)
            JSONText.appendString(value, to: &fields)
        }
        self.functionFields = fields
    }

    /// Whether events of `type` are log lines (`function`, `extension`) rather than platform events.
    public static func isLog(_ type: String) -> Bool { type == "function" || type == "extension" }

    /// The same document as `encode(time:type:record:)`, from JSON text the caller has validated:
    /// `timeToken`, `requestIdToken`, `messageToken` and `levelToken` are JSON string tokens (quotes
    /// included), and `appendRecord` writes the record's JSON value without a newline in it. This is
    /// the ingest path: nothing is decoded, a record goes into its document as the bytes it came in.
    public func encode(
        timeToken: ArraySlice<UInt8>, type: String, requestIdToken: ArraySlice<UInt8>?,
        messageToken: ArraySlice<UInt8>?, levelToken: ArraySlice<UInt8>?, appendRecord: (inout [UInt8]) -> Void
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        out += Self.timestampKey
        out += timeToken
        out += Self.timeKey
        out += timeToken
        out += Self.typeKey
        JSONText.appendString(type, to: &out)
        out += functionFields
        if let requestIdToken {
            out += Self.requestIdKey
            out += requestIdToken
        }
        if let messageToken {
            out += Self.messageKey
            out += messageToken
        }
        if let levelToken {
            out += Self.levelKey
            out += levelToken
        }
        out += Self.recordKey
        appendRecord(&out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// A JSON string token for `text`, quotes included.
    public static func stringToken(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        JSONText.appendString(text, to: &out)
        return out
    }

    private static let timestampKey = Array(#"{"@timestamp":"#.utf8)
    private static let timeKey = Array(#","time":"#.utf8)
    private static let typeKey = Array(#","type":"#.utf8)
    private static let requestIdKey = Array(#","requestId":"#.utf8)
    private static let messageKey = Array(#","message":"#.utf8)
    private static let levelKey = Array(#","level":"#.utf8)
    private static let recordKey = Array(#","record":"#.utf8)

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
