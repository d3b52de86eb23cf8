import ArgumentParser
import SluiceSpool
import SluiceTime

/// `sluice spool peek`: the next records in shipping order, without leasing them.
struct Peek: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the next records in shipping order (nothing is leased or changed).")

    @OptionGroup var location: SpoolLocation
    @Option(help: "How many records.") var limit = 10
    @Option(help: "Only records for this index.") var index: String?
    @Flag(help: "Print each record as one JSON line, document in full.") var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        try reportingFailures {
            let spool = try location.open(.readOnly)
            let now = UTCTime.nowMilliseconds()
            let records = try spool.peek(limit: limit, index: index)
            if json {
                for record in records { print(Export.line(record)) }
                return
            }
            if records.isEmpty {
                print(index.map { "no records waiting for index \($0)" } ?? "no records waiting")
                return
            }
            print(
                Terminal.table(
                    ["SEQ", "INDEX", "ATTEMPTS", "DUE", "ID", "DOCUMENT"],
                    records.map { record in
                        [
                            "\(record.seq)", record.index, "\(record.attempts)",
                            record.dueAt <= now
                                ? "now"
                                : "in "
                                    + Terminal.duration(milliseconds: record.dueAt - now),
                            record.id,
                            Terminal.excerpt(String(decoding: record.document, as: UTF8.self), limit: 80),
                        ]
                    }))
        }
    }
}
