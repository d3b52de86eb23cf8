import ArgumentParser
import FoundationEssentials
import SluiceSpool

/// `sluice spool stats`: counters and what is waiting.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counters and what is waiting to ship.")

    @OptionGroup var location: SpoolLocation
    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        try reportingFailures {
            let stats = try location.open(.readOnly).statistics()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(stats), as: UTF8.self))
            } else {
                print(Self.text(stats))
            }
        }
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
            ["due now", "\(stats.dueNow)"],
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
            ["left at shutdown", "\(c.leftAtShutdown)"],
            ["quarantined", "\(c.quarantined)"],
            ["malformed", "\(c.malformed)"],
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
