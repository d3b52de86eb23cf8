/// A Telemetry API subscription request: where to deliver, what, and how the platform buffers.
public struct TelemetrySubscription: Sendable, Equatable {
    /// The schemas the Telemetry API accepts.
    public static let schemaVersions = ["2022-07-01", "2022-12-13", "2025-01-29"]
    /// The documented buffering ranges.
    public static let maxItemsRange = 1_000...10_000
    public static let maxBytesRange = 262_144...1_048_576
    public static let timeoutMillisecondsRange = 25...30_000

    public var schemaVersion: String
    /// Where the platform POSTs, e.g. `http://sandbox.localdomain:4243/telemetry`.
    public var destination: String
    public var types: [String]
    public var maxItems: Int
    public var maxBytes: Int
    public var timeoutMilliseconds: Int

    public init(
        schemaVersion: String = "2022-12-13", destination: String,
        types: [String] = ["platform", "function", "extension"], maxItems: Int = 1_000, maxBytes: Int = 262_144,
        timeoutMilliseconds: Int = 1_000
    ) {
        self.schemaVersion = schemaVersion
        self.destination = destination
        self.types = types
        self.maxItems = maxItems
        self.maxBytes = maxBytes
        self.timeoutMilliseconds = timeoutMilliseconds
    }

    /// The PUT body.
    public var body: String {
        let types = self.types.map { "\"\($0)\"" }.joined(separator: ",")
        return """
            {"schemaVersion":"\(schemaVersion)","destination":{"protocol":"HTTP","URI":"\(destination)"},\
            "types":[\(types)],"buffering":{"maxItems":\(maxItems),"maxBytes":\(maxBytes),\
            "timeoutMs":\(timeoutMilliseconds)}}
            """
    }
}
