/// One event the platform produced, kept in a schema-neutral form until a delivery renders it for
/// the subscription it goes to (a log line is a string or an object depending on its schema and format).
struct TelemetryEvent: Sendable {
    /// What the event says: a platform record, or a log line of the function or the extension.
    enum Content: Sendable {
        case platform(JSON)
        case logLine(message: String, level: String, requestId: String?)
    }

    /// Unique within one simulator, so the ledger can tell a re-delivery from a new event.
    let sequence: Int
    let type: String
    let milliseconds: Int64
    let content: Content
    /// The unique marker a function log line carries, if any.
    let marker: String?
    let requestId: String?

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
        case .logLine(let message, let level, let requestId):
            // Objects only with the JSON log format and a schema that knows them (2022-12-13 and later).
            guard logFormat == .json, schemaVersion >= "2022-12-13" else {
                guard type == "function" else { return .string(message) }
                return .string("\(time)\t\(requestId ?? "undefined")\t\(level)\t\(message)")
            }
            var fields: [String: JSON] = [
                "timestamp": .string(time), "level": .string(level), "message": .string(message),
            ]
            if let requestId { fields["requestId"] = .string(requestId) }
            return .object(fields)
        }
    }
}
