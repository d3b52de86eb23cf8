/// Counters that survive restarts: what the spool has done since its file was created.
public struct SpoolCounters: Sendable, Equatable, Codable {
    /// Records handed to `append`.
    public var received = 0
    /// Records newly stored.
    public var stored = 0
    /// Re-delivered records not stored again.
    public var duplicate = 0
    /// Records removed because OpenSearch has them.
    public var shipped = 0
    /// Failed attempts scheduled for another try.
    public var retried = 0
    /// Records moved to the dead letters.
    public var deadLettered = 0
    /// Records and dead letters dropped by the cap.
    public var dropped = 0
    /// Records still spooled at each shutdown, summed.
    public var leftAtShutdown = 0
    /// Damaged files this spool replaced.
    public var quarantined = 0
    /// Records read back from those files and stored here.
    public var salvaged = 0
    /// Dead letters read back from those files and kept here.
    public var salvagedDeadLetters = 0
    /// Dead letters put back in the queue.
    public var requeued = 0
    /// Deliveries refused as malformed (answered 400, nothing stored).
    public var malformed = 0
    /// Requests to OpenSearch that failed as a whole (no answer, a 5xx, a 429): an outage's length
    /// in attempts. Their records stayed in the spool and spent no attempt.
    public var failedRequests = 0
    /// Telemetry Lambda dropped before it reached the extension, as its `platform.logsDropped`
    /// events said (records, bytes): its buffer filled while the extension did not keep up.
    public var droppedByLambda = 0
    public var droppedByLambdaBytes = 0
    /// What ingest's rules did, by rule name: `email.masked` (matches), `debug-lines.dropped`
    /// (lines), `min-level.dropped`, `<pattern rule>.unscanned` (texts a pattern ran out of time on).
    public var rules: [String: Int] = [:]

    public init() {}

    mutating func set(_ name: String, _ value: Int) {
        if name.hasPrefix(Spool.ruleCounterPrefix) {
            rules[String(name.dropFirst(Spool.ruleCounterPrefix.count))] = value
            return
        }
        switch name {
        case "received": received = value
        case "stored": stored = value
        case "duplicate": duplicate = value
        case "shipped": shipped = value
        case "retried": retried = value
        case "dead_lettered": deadLettered = value
        case "dropped": dropped = value
        case "left_at_shutdown": leftAtShutdown = value
        case "quarantined": quarantined = value
        case "salvaged": salvaged = value
        case "salvaged_dead_letters": salvagedDeadLetters = value
        case "requeued": requeued = value
        case "malformed": malformed = value
        case "failed_requests": failedRequests = value
        case "dropped_by_lambda": droppedByLambda = value
        case "dropped_by_lambda_bytes": droppedByLambdaBytes = value
        default: break
        }
    }
}

/// What is in a spool now.
public struct SpoolStatistics: Sendable, Equatable, Codable {
    public var path: String
    public var schemaVersion: Int
    /// Size of the database file plus its WAL.
    public var fileBytes: Int
    /// Records waiting to ship.
    public var rows: Int
    /// Their document bytes.
    public var bytes: Int
    /// Age of the oldest waiting record, in milliseconds (nil when empty).
    public var oldestAgeMilliseconds: Int64?
    /// Records a shipper may lease now; nil when not counted (`statistics(countingDue: false)`).
    public var dueNow: Int?
    /// Records held by an unexpired lease of this process (leases live in the owning process, so
    /// another process, such as the CLI, sees 0).
    public var leased: Int
    public var deadLetters: Int
    public var deadLetterBytes: Int
    public var capBytes: Int
    /// Invocations whose summary is not written yet (`sluice spool invocations` lists them).
    public var openInvocations: Int
    public var counters: SpoolCounters
    /// The last request to OpenSearch that failed as a whole, if one has.
    public var lastFailedRequest: FailedRequest?

    /// When a request failed (ms since the epoch) and why.
    public struct FailedRequest: Sendable, Equatable, Codable {
        public var at: Int64
        public var reason: String
    }
}
