import SluiceSpool
import SluiceTime

/// `sluice spool peek`: the next records in shipping order, without leasing them.
struct Peek {
    static let command = Command(
        name: "peek", abstract: "Show the next records in shipping order (nothing is leased or changed).",
        options: [
            SpoolLocation.option, .value("limit", "n", help: "How many records.", default: "10"),
            .value("index", "name", help: "Only records for this index."),
            .flag("json", help: "Print each record as one JSON line, document in full."),
        ],
        run: { try Peek($0).run() })

    let location: SpoolLocation
    let limit: Int
    let index: String?
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        location = SpoolLocation(arguments)
        limit = try arguments.integer("limit", default: 10)
        index = arguments.string("index")
        json = arguments.flag("json")
        guard limit > 0 else { throw UsageError("--limit must be at least 1") }
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
            if index == nil, records.count == limit, let waiting = try? spool.statistics().rows, waiting > limit {
                print("(\(waiting - limit) more waiting; --limit shows more)")
            }
        }
    }
}
