/// One event the platform produced, kept in a schema-neutral form until a delivery renders it for
/// the subscription it goes to (a log line is a string or an object depending on its schema and format).
struct TelemetryEvent: Sendable {
    /// What the event says: a platform record, or a log line of the function or the extension.
    enum Content: Sendable {
        case platform(JSON)
        /// `requestId` is the one the line shows (nil: none); `level` nil for a line without one.
        case logLine(
            message: String, level: String?, requestId: String?, style: FunctionLogLine.Style = .node,
            fields: [String: JSON] = [:])
    }

    /// Unique within one simulator, so the ledger can tell a re-delivery from a new event.
    let sequence: Int
    let type: String
    let milliseconds: Int64
    let content: Content
    /// The unique marker a function log line carries, if any.
    let marker: String?
    /// The invocation it belongs to (for a function line, whether or not its text shows the id).
    let requestId: String?
    /// The phase a function line was written in.
    let phase: FunctionPhase?

    var category: String { String(type.split(separator: ".").first ?? "") }

    var time: String { PlatformTime.iso8601(milliseconds: milliseconds) }

    /// The event as the platform puts it into a delivered array: `{time, type, record}`.
    func rendered(schemaVersion: String, logFormat: SimulatorConfiguration.LogFormat) -> JSON {
        ["time": .string(time), "type": .string(type), "record": record(schemaVersion, logFormat)]
    }

    private func record(_ schemaVersion: String, _ logFormat: SimulatorConfiguration.LogFormat) -> JSON {
        switch content {
        case .platform(let record):
            return record
        case .logLine(let message, let level, let requestId, let style, let extra):
            // Objects only with the JSON log format and a schema that knows them (2022-12-13 and later);
            // a bare print is captured as plain text whatever the format.
            guard logFormat == .json, schemaVersion >= "2022-12-13", style != .print else {
                guard type == "function" else { return .string(message) }
                let level = level ?? "INFO"
                switch style {
                case .node: return .string("\(time)\t\(requestId ?? "undefined")\t\(level)\t\(message)")
                case .python: return .string("[\(level)]\t\(time)\t\(requestId ?? "")\t\(message)")
                case .print: return .string(message)
                }
            }
            var fields = extra
            fields.merge([
                "timestamp": .string(time), "level": .string(level ?? "INFO"), "message": .string(message),
            ]) { $1 }
            if style == .python { fields["logger"] = fields["logger"] ?? "root" }
            if let requestId { fields["requestId"] = .string(requestId) }
            return .object(fields)
        }
    }
}
