import SluiceSpool
import SluiceTime

/// `sluice spool dead …`: the records OpenSearch refused for good.
enum Dead {
    static let command = Command(
        name: "dead", abstract: "List, show, requeue or purge dead letters.",
        subcommands: [List.command, Show.command, Requeue.command, Purge.command]
    )

    struct List {
        static let command = Command(
            name: "list", abstract: "List dead letters, oldest first.",
            options: [SpoolLocation.option, .value("limit", "n", help: "How many dead letters.", default: "50")],
            run: { arguments in
                let limit = try arguments.integer("limit", default: 50)
                guard limit > 0 else { throw UsageError("--limit must be at least 1") }
                try List(location: SpoolLocation(arguments), limit: limit).run()
            })

        let location: SpoolLocation
        let limit: Int

        func run() throws {
            try reportingFailures {
                let spool = try location.open(.readOnly)
                let letters = try spool.deadLetters(limit: limit)
                guard !letters.isEmpty else {
                    print("no dead letters")
                    return
                }
                defer {
                    if let all = try? spool.statistics().deadLetters, all > letters.count {
                        print("(\(all - letters.count) more; --limit shows more, `sluice spool export --dead` all)")
                    }
                }
                print(
                    Terminal.table(
                        ["ID", "DIED (UTC)", "INDEX", "ATTEMPTS", "ERROR", "REASON"],
                        letters.map { letter in
                            [
                                "\(letter.id)", UTCTime.iso8601(milliseconds: letter.diedAt), letter.index,
                                "\(letter.attempts)", letter.errorType ?? "-",
                                Terminal.excerpt(letter.reason, limit: 100),
                            ]
                        }))
            }
        }
    }

    struct Show {
        static let command = Command(
            name: "show", abstract: "Show one dead letter in full.", options: [SpoolLocation.option],
            argument: .value("id", "id", help: "The dead letter's id (from `dead list`)."),
            run: { arguments in
                guard let id = try Dead.id(arguments) else { throw UsageError("give the id of a dead letter") }
                try Show(location: SpoolLocation(arguments), id: id).run()
            })

        let location: SpoolLocation
        let id: Int64

        func run() throws {
            try reportingFailures {
                guard let letter = try location.open(.readOnly).deadLetter(id: id) else {
                    throw CommandFailure("no dead letter with id \(id); `sluice spool dead list` shows the ids")
                }
                print(
                    Terminal.table(
                        ["id", "\(letter.id)"],
                        [
                            ["document id", letter.documentID],
                            ["index", letter.index],
                            ["event time", UTCTime.iso8601(milliseconds: letter.eventTime)],
                            ["received", UTCTime.iso8601(milliseconds: letter.receivedAt)],
                            ["died", UTCTime.iso8601(milliseconds: letter.diedAt)],
                            ["attempts", "\(letter.attempts)"],
                            ["error type", letter.errorType ?? "-"],
                            ["reason", letter.reason],
                            ["document", String(decoding: letter.document, as: UTF8.self)],
                        ]))
            }
        }
    }

    struct Requeue {
        static let command = Command(
            name: "requeue", abstract: "Put dead letters back in the queue with their attempts reset.",
            options: [SpoolLocation.option, .flag("all", help: "Requeue every dead letter.")],
            argument: .value("id", "id", help: "The dead letter's id (or --all)."),
            run: { try Requeue($0).run() })

        let location: SpoolLocation
        let id: Int64?

        init(_ arguments: ParsedArguments) throws(UsageError) {
            location = SpoolLocation(arguments)
            id = try Dead.id(arguments)
            let all = arguments.flag("all")
            if id != nil && all { throw UsageError("give a dead letter id or --all, not both") }
            if id == nil && !all { throw UsageError("give the id of a dead letter (see `dead list`), or --all") }
        }

        func run() throws {
            try reportingFailures {
                let spool = try location.open(.maintenance)
                if let id, try spool.deadLetter(id: id) == nil {
                    throw CommandFailure("no dead letter with id \(id); `sluice spool dead list` shows the ids")
                }
                let count = try spool.requeueDeadLetters(id: id)
                print("requeued \(count) dead letter\(count == 1 ? "" : "s")")
            }
        }
    }

    struct Purge {
        static let command = Command(
            name: "purge", abstract: "Delete every dead letter.",
            options: [SpoolLocation.option, .flag("yes", help: "Confirm: the dead letters are gone for good.")],
            run: { try Purge(location: SpoolLocation($0), yes: $0.flag("yes")).run() })

        let location: SpoolLocation
        let yes: Bool

        func run() throws {
            try reportingFailures {
                // Without --yes nothing is written: the count comes from a read-only open.
                let waiting = try location.open(.readOnly).statistics().deadLetters
                guard waiting > 0 else {
                    print("no dead letters to purge")
                    return
                }
                guard yes else {
                    throw CommandFailure(
                        "purge deletes \(waiting) dead letter\(waiting == 1 ? "" : "s") for good; run it again with "
                            + "--yes (or keep them: `sluice spool export --dead` first)")
                }
                let count = try location.open(.maintenance).purgeDeadLetters()
                print("purged \(count) dead letter\(count == 1 ? "" : "s")")
            }
        }
    }

    /// The positional dead letter id, if given.
    static func id(_ arguments: ParsedArguments) throws(UsageError) -> Int64? {
        guard let text = arguments.argument else { return nil }
        guard let id = Int64(text) else { throw UsageError("a dead letter id is a whole number, not '\(text)'") }
        return id
    }
}
