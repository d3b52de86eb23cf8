import Foundation
import SluiceDigest
import SluiceSpool
import SluiceTestSupport
import Testing

/// The `sluice spool` commands, run as the built binary against a fixture spool.
@Suite struct SpoolCLITests {
    /// A closed spool with 12 waiting records in two indices and two dead letters.
    static func fixture(_ folder: TemporaryFolder) throws -> String {
        let path = folder.file("fixture.sqlite")
        let spool = try Spool.open(SpoolConfiguration(path: path))
        try spool.append(makeRecords(8, prefix: "fn", index: "lambda-function"))
        try spool.append(makeRecords(6, prefix: "pf", index: "lambda-platform"))
        let leased = try spool.lease(maxCount: 2, maxBytes: 1 << 20)
        try spool.settle([
            (
                leased[0].seq,
                .deadLetter(reason: "failed to parse field [record.level]", errorType: "mapper_parsing_exception")
            ),
            (leased[1].seq, .deadLetter(reason: "document too large", errorType: "illegal_argument_exception")),
        ])
        try spool.append([], invocations: InvocationChanges(), ruleCounts: ["email.masked": 3, "health.dropped": 2])
        return path
    }

    func sluice(_ arguments: String...) async throws -> ProcessResult {
        try await runProduct("sluice", arguments)
    }

    @Test func invocationsShowsTheOpenInvocationsAndTheNewestMarks() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("invocations.sqlite")
        let spool = try Spool.open(SpoolConfiguration(path: path))
        var changes = InvocationChanges()
        changes.addedMarks = [
            InvocationMark(at: 1_795_612_518_000, kind: .initialization, detail: "on-demand"),
            InvocationMark(at: 1_795_612_518_100, kind: .start, requestId: "req-open", traceId: "1-abc-def"),
        ]
        changes.upserted = [
            OpenInvocation(
                requestId: "req-open", startedAt: 1_795_612_518_100,
                state: Array(
                    #"{"startTime":"2026-11-25T13:15:18.100Z","coldStart":true,"logLines":3,"errorLines":1}"#.utf8)),
            // Summarised incomplete at SHUTDOWN, open for a report that may still come.
            OpenInvocation(
                requestId: "req-late", startedAt: 1_795_612_518_200,
                state: Array(#"{"startTime":"2026-11-25T13:15:18.200Z","summarisedIncomplete":true}"#.utf8)),
        ]
        try spool.apply(changes)

        let text = try await sluice("spool", "invocations", "--path", path)
        #expect(text.status == 0, "\(text.error)")
        #expect(text.output.contains("req-open"))
        #expect(text.output.contains("2026-11-25T13:15:18.100Z"))
        #expect(text.output.contains("on-demand"))
        #expect(text.output.contains("1-abc-def"))

        let json = try await sluice("spool", "invocations", "--json", "--path", path)
        #expect(json.status == 0)
        let lines = try json.output.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let open = try #require(lines.compactMap { $0["open"] as? [String: Any] }.first)
        #expect(open["requestId"] as? String == "req-open")
        let late = try #require(lines.first { ($0["open"] as? [String: Any])?["requestId"] as? String == "req-late" })
        #expect(late["summarisedIncomplete"] as? Bool == true)
        #expect(lines.first { $0["open"] != nil }?["summarisedIncomplete"] == nil)
        #expect(text.output.split(separator: "\n").contains { $0.contains("req-late") && $0.hasSuffix("incomplete") })
        #expect(open["status"] as? String == "incomplete")
        #expect(open["logLines"] as? Int == 3)
        #expect(lines.compactMap { $0["mark"] as? [String: Any] }.map { $0["kind"] as? String } == ["init", "start"])

        let empty = try await sluice("spool", "invocations", "--path", try Self.fixture(folder))
        #expect(empty.output.contains("no open invocations"))
    }

    @Test func statsPrintsCountersAndWhatWaits() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let text = try await sluice("spool", "stats", "--path", path)
        #expect(text.status == 0)
        #expect(text.output.contains("waiting           12 records"))
        #expect(text.output.contains("dead letters      2"))
        #expect(text.output.contains("received          14"))
        #expect(text.output.contains("rules             email.masked 3, health.dropped 2"))

        let json = try await sluice("spool", "stats", "--json", "--path", path)
        #expect(json.status == 0)
        let decoded = try JSONDecoder().decode(SpoolStatistics.self, from: Data(json.output.utf8))
        #expect(decoded.rows == 12)
        #expect(decoded.deadLetters == 2)
        #expect(decoded.counters.deadLettered == 2)
        #expect(decoded.counters.rules == ["email.masked": 3, "health.dropped": 2])
        #expect(decoded.schemaVersion == Migration.embedded.last?.id)
        #expect(text.output.contains("failed requests   0\nlast failure      -"))
        #expect(text.output.contains("dropped           0\nLambda dropped    0 records (0 B)"))
        #expect(decoded.lastFailedRequest == nil)

        // An outage the extension met: counted, and the last failure with its time and reason.
        try Spool.open(SpoolConfiguration(path: path)).recordFailedRequest(
            at: 1_795_612_518_100, reason: "transport: connection refused by 10.0.0.1:443")
        let after = try await sluice("spool", "stats", "--path", path)
        #expect(after.output.contains("failed requests   1"))
        #expect(
            after.output.contains(
                "last failure      2026-11-25T13:15:18.100Z transport: connection refused by 10.0.0.1:443"),
            "\(after.output)")
        let afterJSON = try await sluice("spool", "stats", "--json", "--path", path)
        let decodedAfter = try JSONDecoder().decode(SpoolStatistics.self, from: Data(afterJSON.output.utf8))
        #expect(decodedAfter.counters.failedRequests == 1)
        #expect(decodedAfter.lastFailedRequest?.reason == "transport: connection refused by 10.0.0.1:443")
        #expect(decodedAfter.lastFailedRequest?.at == 1_795_612_518_100)
    }

    @Test func peekShowsTheNextRecordsOfAnIndex() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let all = try await sluice("spool", "peek", "--path", path, "--limit", "3")
        #expect(all.status == 0)
        let lines = all.output.split(separator: "\n")
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("SEQ"))
        #expect(lines[1].contains("fn-2"), "the two oldest became dead letters")
        #expect(lines[4] == "(9 more waiting; --limit shows more)")

        let platform = try await sluice("spool", "peek", "--path", path, "--index", "lambda-platform", "--json")
        let rows = platform.output.split(separator: "\n")
        #expect(rows.count == 6)
        for row in rows {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
            #expect(object["index"] as? String == "lambda-platform")
            #expect(object["document"] is [String: Any])
        }
        #expect(try await sluice("spool", "peek", "--path", path, "--limit", "0").status == 64)
    }

    @Test func theCommandLineSaysWhatItTakesAndRefusesWhatItDoesNot() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let help = try await sluice("spool", "peek", "--help")
        #expect(help.status == 0)
        #expect(
            help.output.contains("USAGE: sluice spool peek [--path <file>] [--limit <n>] [--index <name>] [--json]"))
        #expect(help.output.contains("(default: 10)"))
        let group = try await sluice("help", "spool")
        #expect(group.status == 0)
        for name in ["stats", "peek", "dead", "invocations", "export", "check", "vacuum"] {
            #expect(group.output.contains("\n  \(name) "), "\(name)")
        }
        #expect(try await sluice("spool").output == group.output, "a group without its subcommand prints its help")
        #expect(try await sluice("--version").output.first?.isNumber == true)

        let equals = try await sluice("spool", "peek", "--path=\(path)", "--limit=2")
        #expect(equals.status == 0, "\(equals.error)")
        #expect(equals.output.split(separator: "\n").count == 4, "a header, two records, how many more")

        for (arguments, message) in [
            (["spool", "peek", "--path", path, "--limit", "two"], "Error: --limit takes a whole number, not 'two'"),
            (["spool", "peek", "--path", path, "--colour"], "Error: unknown option '--colour'"),
            (["spool", "peek", "--path"], "Error: --path needs a value (file)"),
            (["spool", "peek", "--json=yes", "--path", path], "Error: --json takes no value"),
            (["spool", "peek", "extra", "--path", path], "Error: unexpected argument 'extra'"),
            (["spool", "sweep"], "Error: unknown subcommand 'sweep'"),
            (
                ["spool", "export", "--format", "csv", "--path", path],
                "Error: --format must be ndjson or bulk, not 'csv'"
            ),
            (["spool", "dead", "show", "x", "--path", path], "Error: a dead letter id is a whole number, not 'x'"),
        ] {
            let result = try await runProduct("sluice", arguments)
            #expect(result.status == 64, "\(arguments)")
            #expect(result.error.hasPrefix(message + "\nUsage: sluice "), "\(arguments): \(result.error)")
            #expect(result.output.isEmpty)
        }
    }

    @Test func deadLettersCanBeListedShownRequeuedAndPurged() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let list = try await sluice("spool", "dead", "list", "--path", path)
        #expect(list.status == 0)
        #expect(list.output.contains("mapper_parsing_exception"))
        #expect(list.output.contains("failed to parse field [record.level]"))
        let limited = try await sluice("spool", "dead", "list", "--limit", "1", "--path", path)
        #expect(limited.output.hasSuffix("(1 more; --limit shows more, `sluice spool export --dead` all)\n"))
        #expect(try await sluice("spool", "dead", "list", "--limit", "0", "--path", path).status == 64)

        let show = try await sluice("spool", "dead", "show", "1", "--path", path)
        #expect(show.status == 0)
        #expect(show.output.contains("fn-0"))
        #expect(show.output.contains(#""type":"function""#))
        let missing = try await sluice("spool", "dead", "show", "99", "--path", path)
        #expect(missing.status == 1)
        #expect(missing.error == "sluice: no dead letter with id 99; `sluice spool dead list` shows the ids\n")

        #expect(try await sluice("spool", "dead", "requeue", "--path", path).status == 64, "an id or --all is required")
        let requeue = try await sluice("spool", "dead", "requeue", "2", "--path", path)
        #expect(requeue.output == "requeued 1 dead letter\n")

        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let refused = try await sluice("spool", "dead", "purge", "--path", path)
        #expect(refused.status == 1)
        #expect(refused.error.contains("--yes"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "nothing written without --yes")
        let purge = try await sluice("spool", "dead", "purge", "--yes", "--path", path)
        #expect(purge.output == "purged 1 dead letter\n")

        let stats = try Spool.open(SpoolConfiguration(path: path), access: .readOnly).statistics()
        #expect(stats.rows == 13)
        #expect(stats.deadLetters == 0)
        #expect(stats.counters.requeued == 1)
    }

    @Test func exportWritesEveryRecordAsNDJSONOrBulk() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let ndjson = try await sluice("spool", "export", "--format", "ndjson", "--path", path)
        #expect(ndjson.status == 0)
        let lines = ndjson.output.split(separator: "\n")
        #expect(lines.count == 12)
        let ids = try lines.map { line in
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            return try #require(object["id"] as? String)
        }
        #expect(Set(ids).count == 12)

        let dead = try await sluice("spool", "export", "--dead", "--path", path)
        let letters = dead.output.split(separator: "\n")
        #expect(letters.count == 2)
        #expect(letters[0].contains(#""errorType":"mapper_parsing_exception""#))

        let bulk = try await sluice("spool", "export", "--format", "bulk", "--path", path)
        let bulkLines = bulk.output.split(separator: "\n")
        #expect(bulkLines.count == 24)
        #expect(bulkLines[0] == #"{"create":{"_index":"lambda-function","_id":"fn-2"}}"#)
    }

    @Test func checkPassesASoundSpoolAndFailsADamagedOne() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let ok = try await sluice("spool", "check", "--path", path)
        #expect(ok.status == 0)
        #expect(ok.output.hasPrefix("ok: "))

        let damaged = folder.file("damaged.sqlite")
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: damaged))
        let bad = try await sluice("spool", "check", "--path", damaged)
        #expect(bad.status == 1)
        #expect(bad.error.contains("problem"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: damaged)) == Data(repeating: 0x5A, count: 4096))
    }

    @Test func aMissingSpoolIsOneClearLine() async throws {
        let folder = try TemporaryFolder()
        for command in [["stats"], ["peek"], ["dead", "list"], ["export"], ["check"], ["vacuum"]] {
            let result = try await runProduct("sluice", ["spool"] + command + ["--path", folder.file("none.sqlite")])
            #expect(result.status == 2, "\(command)")
            #expect(result.output.isEmpty)
            #expect(result.error == "sluice: no spool at \(folder.file("none.sqlite")): check --path\n")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.file("none.sqlite")), "nothing was created")
        let unset = try await runProduct(
            "sluice", ["spool", "stats"], environment: ["SLUICE_SPOOL_PATH": folder.file("none.sqlite")])
        #expect(unset.error.hasSuffix(": the path is SLUICE_SPOOL_PATH's; check it\n"))
        let aFolder = try await sluice("spool", "stats", "--path", folder.path)
        #expect(aFolder.status == 1)
        #expect(aFolder.error == "sluice: \(folder.path) is a folder: give the spool's file (spool.sqlite in it)\n")
    }

    /// Another program's database, or an empty file: every command refuses it in one line, and a
    /// repair (which would give it a spool's tables) writes nothing to it.
    @Test func aFileThatIsNotASpoolIsRefusedAndNeverWritten() async throws {
        let folder = try TemporaryFolder()
        let foreign = folder.file("customers.db")
        do {
            let connection = try SQLiteConnection(path: foreign, mode: .readWriteCreate)
            try connection.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        }
        let empty = folder.file("empty.sqlite")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        for path in [foreign, empty] {
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            for command in [
                ["stats"], ["peek"], ["export"], ["dead", "purge"], ["dead", "purge", "--yes"],
                ["dead", "requeue", "--all"], ["vacuum"],
            ] {
                let result = try await runProduct("sluice", ["spool"] + command + ["--path", path])
                #expect(result.status == 1, "\(command) \(path)")
                #expect(result.error.hasPrefix("sluice: \(path) is not a Sluice spool"), "\(command): \(result.error)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before, "\(path) unchanged")
            #expect(!FileManager.default.fileExists(atPath: path + "-wal") || fileSize(path + "-wal") == 0)
        }
    }

    /// A full disk under an export (`/dev/full` here) fails the command: a script that saves the
    /// dead letters and then purges them must not take a cut-off file for a whole one.
    @Test func anOutputThatCannotAllBeWrittenFailsTheCommand() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let sluice = try builtProduct("sluice")
        for command in ["export --dead", "export", "stats"] {
            let script = "\"$0\" spool \(command) --path \"$1\" > /dev/full"
            let result = try await runProcess("/bin/sh", ["-c", script, sluice, path])
            #expect(result.status == 1, "\(command)")
            #expect(result.error.contains("could not write all of the output"), "\(command): \(result.error)")
        }
    }

    /// `peek` shows what the shipper takes next: due retries first, then fresh records in arrival
    /// order, then retries not due yet.
    @Test func peekShowsTheShippingOrder() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("order.sqlite")
        do {
            let spool = try Spool.open(SpoolConfiguration(path: path))
            try spool.append(makeRecords(4, prefix: "r"))
            let leased = try spool.lease(maxCount: 2, maxBytes: 1 << 20)
            try spool.settle([
                (leased[0].seq, .retry(at: 1, error: "429")),
                (leased[1].seq, .retry(at: Int64.max / 2, error: "429")),
            ])
        }
        let peek = try await sluice("spool", "peek", "--json", "--path", path)
        let ids = try peek.output.split(separator: "\n").map { line in
            try #require((try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["id"] as? String)
        }
        #expect(ids == ["r-0", "r-2", "r-3", "r-1"])
    }

    @Test func statsMeasuresAgainstTheCapTheExtensionIsGiven() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let result = try await runProduct(
            "sluice", ["spool", "stats", "--json", "--path", path], environment: ["SLUICE_SPOOL_CAP": "1GiB"])
        let decoded = try JSONDecoder().decode(SpoolStatistics.self, from: Data(result.output.utf8))
        #expect(decoded.capBytes == 1 << 30)
    }

    @Test func pathComesFromTheEnvironmentWhenNotGiven() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let result = try await runProduct(
            "sluice", ["spool", "stats", "--json"], environment: ["SLUICE_SPOOL_PATH": path])
        #expect(result.status == 0)
        #expect(result.output.contains(#""rows" : 12"#))
    }

    @Test func readOnlyCommandsNeverChangeTheFile() async throws {
        let folder = try TemporaryFolder()
        let path = try Self.fixture(folder)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        for command in [
            ["stats"], ["stats", "--json"], ["peek"], ["dead", "list"], ["dead", "show", "1"], ["export"],
            ["export", "--dead"], ["check"],
        ] {
            let result = try await runProduct("sluice", ["spool"] + command + ["--path", path])
            #expect(result.status == 0, "\(command): \(result.error)")
        }
        let after = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(SHA256.hash(after) == SHA256.hash(before))
        #expect(fileSize(path + "-wal") == 0, "nothing was written to a WAL either")
    }

    @Test func vacuumGivesSpaceBack() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("big.sqlite")
        do {
            let spool = try Spool.open(SpoolConfiguration(path: path))
            try spool.append(makeRecords(4000, bytes: 1000))
            while true {
                let leased = try spool.lease(maxCount: 1000, maxBytes: 1 << 30)
                if leased.isEmpty { break }
                try spool.settle(leased.map { ($0.seq, .shipped) })
            }
        }
        let before = fileSize(path)
        let result = try await runProduct("sluice", ["spool", "vacuum", "--path", path])
        #expect(result.status == 0)
        #expect(fileSize(path) < before / 4)
    }
}
