import ArgumentParser
import SluiceSpool
import SluiceTime

/// `sluice spool dead …`: the records OpenSearch refused for good.
struct Dead: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List, show, requeue or purge dead letters.",
        subcommands: [List.self, Show.self, Requeue.self, Purge.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List dead letters, oldest first.")

        @OptionGroup var location: SpoolLocation
        @Option(help: "How many dead letters.") var limit = 50

        func run() throws {
            try reportingFailures {
                let letters = try location.open(.readOnly).deadLetters(limit: limit)
                guard !letters.isEmpty else {
                    print("no dead letters")
                    return
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

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one dead letter in full.")

        @OptionGroup var location: SpoolLocation
        @Argument(help: "The dead letter's id (from `dead list`).") var id: Int64

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

    struct Requeue: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back in the queue with their attempts reset.")

        @OptionGroup var location: SpoolLocation
        @Argument(help: "The dead letter's id.") var id: Int64?
        @Flag(help: "Requeue every dead letter.") var all = false

        func validate() throws {
            if id != nil && all { throw ValidationError("give a dead letter id or --all, not both") }
            if id == nil && !all { throw ValidationError("give the id of a dead letter (see `dead list`), or --all") }
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

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete every dead letter.")

        @OptionGroup var location: SpoolLocation
        @Flag(help: "Confirm: the dead letters are gone for good.") var yes = false

        func run() throws {
            try reportingFailures {
                let spool = try location.open(.maintenance)
                guard yes else {
                    let count = try spool.statistics().deadLetters
                    throw CommandFailure(
                        "purge deletes \(count) dead letters for good; run it again with --yes "
                            + "(or keep them: `sluice spool export --dead` first)")
                }
                let count = try spool.purgeDeadLetters()
                print("purged \(count) dead letter\(count == 1 ? "" : "s")")
            }
        }
    }
}
