import SluiceSpool
import SluiceTime

/// `sluice spool stats`: counters and what is waiting.
struct Stats {
    static let command = Command(
        name: "stats", abstract: "Counters and what is waiting to ship.",
        options: [SpoolLocation.option, .flag("json", help: "Print JSON instead of text.")],
        run: { try Stats(location: SpoolLocation($0), json: $0.flag("json")).run() })

    let location: SpoolLocation
    let json: Bool

    func run() throws {
        try reportingFailures {
            let stats = try location.open(.readOnly).statistics()
            if json {
                print(Self.json(stats))
            } else {
                print(Self.text(stats))
            }
        }
    }

    /// The statistics as a JSON object, keys sorted, one member per line (the members and names of
    /// `SpoolStatistics`'s `Codable` form, which a test decodes).
    static func json(_ stats: SpoolStatistics) -> String {
        let c = stats.counters
        let rules = c.rules.sorted { $0.key < $1.key }.map { ($0.key, "\($0.value)") }
        let counters: [(String, String)] = [
            ("deadLettered", "\(c.deadLettered)"), ("dropped", "\(c.dropped)"),
            ("droppedByLambda", "\(c.droppedByLambda)"), ("droppedByLambdaBytes", "\(c.droppedByLambdaBytes)"),
            ("duplicate", "\(c.duplicate)"),
            ("failedRequests", "\(c.failedRequests)"), ("leftAtShutdown", "\(c.leftAtShutdown)"),
            ("malformed", "\(c.malformed)"),
            ("quarantined", "\(c.quarantined)"), ("received", "\(c.received)"), ("requeued", "\(c.requeued)"),
            ("retried", "\(c.retried)"), ("rules", object(rules, indent: 2)), ("salvaged", "\(c.salvaged)"),
            ("salvagedDeadLetters", "\(c.salvagedDeadLetters)"), ("shipped", "\(c.shipped)"),
            ("stored", "\(c.stored)"),
        ]
        var members: [(String, String)] = [
            ("bytes", "\(stats.bytes)"), ("capBytes", "\(stats.capBytes)"), ("counters", object(counters, indent: 1)),
            ("deadLetterBytes", "\(stats.deadLetterBytes)"), ("deadLetters", "\(stats.deadLetters)"),
            ("dueNow", "\(stats.dueNow ?? 0)"), ("fileBytes", "\(stats.fileBytes)"), ("leased", "\(stats.leased)"),
            ("openInvocations", "\(stats.openInvocations)"), ("path", Terminal.jsonString(stats.path)),
            ("rows", "\(stats.rows)"), ("schemaVersion", "\(stats.schemaVersion)"),
        ]
        if let age = stats.oldestAgeMilliseconds { members.append(("oldestAgeMilliseconds", "\(age)")) }
        if let failed = stats.lastFailedRequest {
            members.append(
                (
                    "lastFailedRequest",
                    object(
                        [("at", "\(failed.at)"), ("reason", Terminal.jsonString(failed.reason))], indent: 1)
                ))
        }
        return object(members.sorted { $0.0 < $1.0 }, indent: 0)
    }

    /// `members` (name, JSON value) as an object of one member per line, at nesting `indent`.
    private static func object(_ members: [(String, String)], indent: Int) -> String {
        guard !members.isEmpty else { return "{}" }
        let inner = String(repeating: "  ", count: indent + 1)
        return "{\n"
            + members.map { inner + Terminal.jsonString($0.0) + " : " + $0.1 }.joined(separator: ",\n")
            + "\n" + String(repeating: "  ", count: indent) + "}"
    }

    static func text(_ stats: SpoolStatistics) -> String {
        let c = stats.counters
        let share = Terminal.oneDecimal(
            Double(stats.bytes + stats.deadLetterBytes) * 100 / Double(max(1, stats.capBytes)))
        let rows: [[String]] = [
            ["spool", "\(stats.path) (schema \(stats.schemaVersion), \(Terminal.bytes(stats.fileBytes)) on disk)"],
            [
                "waiting",
                "\(stats.rows) records, \(Terminal.bytes(stats.bytes)) (\(share) % of the \(Terminal.bytes(stats.capBytes)) cap)",
            ],
            ["oldest", stats.oldestAgeMilliseconds.map { Terminal.duration(milliseconds: $0) } ?? "-"],
            ["due now", "\(stats.dueNow ?? 0)"],
            ["dead letters", "\(stats.deadLetters) (\(Terminal.bytes(stats.deadLetterBytes)))"],
            ["open invocations", "\(stats.openInvocations)"],
            ["received", "\(c.received)"],
            ["stored", "\(c.stored)"],
            ["duplicate", "\(c.duplicate)"],
            ["shipped", "\(c.shipped)"],
            ["retried", "\(c.retried)"],
            ["dead-lettered", "\(c.deadLettered)"],
            ["requeued", "\(c.requeued)"],
            ["dropped", "\(c.dropped)"],
            // What Lambda said it dropped before a delivery (platform.logsDropped): never in the spool.
            ["Lambda dropped", "\(c.droppedByLambda) records (\(Terminal.bytes(c.droppedByLambdaBytes)))"],
            ["left at shutdown", "\(c.leftAtShutdown)"],
            ["quarantined", "\(c.quarantined)"],
            ["salvaged", "\(c.salvaged) records, \(c.salvagedDeadLetters) dead letters"],
            ["malformed", "\(c.malformed)"],
            ["failed requests", "\(c.failedRequests)"],
            // The last `_bulk` request that failed as a whole: `2026-12-06T19:02:11.000Z transport: …`.
            [
                "last failure",
                stats.lastFailedRequest.map { "\(UTCTime.iso8601(milliseconds: $0.at)) \($0.reason)" } ?? "-",
            ],
            // What ingest's rules did, by rule: `email.masked 3, health.dropped 2`.
            [
                "rules",
                c.rules.isEmpty
                    ? "-" : c.rules.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
            ],
        ]
        let width = rows.map { $0[0].count }.max() ?? 0
        return rows.map { $0[0] + String(repeating: " ", count: width - $0[0].count + 2) + $0[1] }
            .joined(separator: "\n")
    }
}
