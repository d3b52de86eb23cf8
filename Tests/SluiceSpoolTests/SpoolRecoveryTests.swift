import Foundation
import InMemoryLogging
import Logging
import SluiceTestSupport
import Testing

@testable import SluiceSpool

@Suite struct SpoolRecoveryTests {
    @Test func newSpoolIsPrivateToItsOwner() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("nested/deeper/spool.sqlite")
        let spool = try Spool.open(SpoolConfiguration(path: path))
        try spool.append(makeRecords(1))
        let fileMode = try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        let folderMode = try #require(
            FileManager.default.attributesOfItem(atPath: folder.file("nested/deeper"))[.posixPermissions] as? Int)
        #expect(fileMode == 0o600)
        #expect(folderMode == 0o700)
        let wal = try #require(FileManager.default.attributesOfItem(atPath: path + "-wal")[.posixPermissions] as? Int)
        #expect(wal == 0o600, "write-ahead log in use, with the file's mode")
    }

    @Test func garbageFileIsQuarantinedAndAFreshSpoolStarts() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let garbage = Data((0..<8192).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        try garbage.write(to: URL(fileURLWithPath: path))

        let logs = InMemoryLogHandler()
        let spool = try Spool.open(SpoolConfiguration(path: path), logger: Logger(label: "test") { _ in logs })
        let aside = try #require(spool.quarantinedPath)
        let logged = try #require(logs.entries.first { $0.level == .error })
        #expect(logged.message.description.contains("moved aside"))
        #expect(logged.metadata["spool.quarantined_to"]?.description == aside)
        #expect(aside.hasPrefix(path + ".corrupt-"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: aside)) == garbage, "the damaged file is kept as it was")
        let stats = try spool.statistics()
        #expect(stats.counters.quarantined == 1)
        #expect(stats.rows == 0)
        #expect(try spool.append(makeRecords(3)).stored == 3, "the fresh spool works")
    }

    @Test func truncatedFileIsQuarantinedAndAFreshSpoolStarts() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let spool = try openSpool(folder)
            for batch in 0..<20 { try spool.append(makeRecords(200, prefix: "t\(batch)", bytes: 400)) }
        }
        // Closing the last connection checkpoints the WAL into the file; cut the file in half.
        let size = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 1 << 20)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()

        let spool = try openSpool(folder)
        #expect(spool.quarantinedPath != nil)
        #expect(try spool.statistics().counters.quarantined == 1)
        #expect(try spool.statistics().rows == 0)
    }

    @Test func fullDiskIsAnErrorAndKeepsEarlierRecords() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock, maxFileBytes: 1 << 20)
        let early = makeRecords(100, prefix: "early")
        try spool.append(early)

        var fullAt: Int?
        for batch in 0..<100 {
            do {
                try spool.append(makeRecords(200, prefix: "fill\(batch)", bytes: 500))
            } catch let error as SpoolError {
                #expect(error.code == .diskFull)
                #expect(error.sqliteCode == 13)
                #expect(error.message.contains("full"))
                fullAt = batch
                break
            }
        }
        let batches = try #require(fullAt, "the file limit was never reached")
        let stats = try spool.statistics()
        #expect(stats.rows == 100 + batches * 200, "the failed batch wrote nothing, earlier ones are intact")
        #expect(try spool.check().problems.isEmpty)
        #expect(try spool.peek(limit: 100).map(\.id) == early.map(\.id))

        // Shipping makes room again and the spool carries on.
        while true {
            let leased = try spool.lease(maxCount: 1000, maxBytes: 1 << 30)
            if leased.isEmpty { break }
            try spool.settle(leased.map { ($0.seq, .shipped) })
        }
        #expect(try spool.append(makeRecords(200, prefix: "after", bytes: 500)).stored == 200)
    }

    @Test func damageFoundAfterTheOpenIsMarkedAndMovedAsideAtTheNextStart() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let spool = try openSpool(folder)
            for batch in 0..<20 { try spool.append(makeRecords(200, prefix: "d\(batch)", bytes: 400)) }
        }
        try damageMiddlePage(of: path)

        // The owner's open leaves the full check out (it is on the cold start) ...
        let damaged = try openSpool(folder)
        #expect(damaged.quarantinedPath == nil)
        // ... and the check, run later on its own connection, finds the damage and marks the file.
        guard case .damaged(let problem) = damaged.verify() else {
            Issue.record("the damaged page was not found")
            return
        }
        #expect(problem.contains(path))
        #expect(FileManager.default.fileExists(atPath: path + ".damaged"))

        let next = try openSpool(folder)
        let aside = try #require(next.quarantinedPath, "the next start moves the marked file aside")
        #expect(FileManager.default.fileExists(atPath: aside))
        #expect(!FileManager.default.fileExists(atPath: path + ".damaged"))
        #expect(try next.statistics().counters.quarantined == 1)
        #expect(try next.statistics().rows == 0)
        #expect(next.verify() == .sound)
    }

    /// A damaged page costs the records on it, not the backlog: what can be read of the file moved
    /// aside is appended to the new spool, each record once however often the salvage runs.
    @Test func whatCanBeReadOfADamagedSpoolIsSalvagedOnce() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        var written: [String] = []
        do {
            let spool = try openSpool(folder)
            for batch in 0..<20 {
                let records = makeRecords(200, prefix: "s\(batch)", bytes: 400)
                written += records.map(\.id)
                try spool.append(records)
            }
        }
        try damageMiddlePage(of: path)
        _ = try openSpool(folder).verify()
        let aside = try #require(try openSpool(folder).quarantinedPath)
        // A process killed before its salvage ran leaves it to the next start: it is in the spool.
        let next = try openSpool(folder)
        #expect(next.quarantinedPath == nil)
        #expect(next.pendingSalvage() == aside)
        try next.append(makeRecords(3, prefix: "new", bytes: 400))

        let salvage = next.salvage(from: aside, batch: 300)
        #expect(salvage.unreadable, "the damaged page")
        #expect(salvage.recovered > 3_000 && salvage.recovered < 4_000, "\(salvage)")
        let held = Set(try next.peek(limit: 10_000).map(\.id))
        #expect(held.count == salvage.recovered + 3)
        #expect(held.subtracting(written).count == 3, "nothing made up: the salvaged are the written")
        #expect(try next.statistics().counters.salvaged == salvage.recovered)
        #expect(try next.statistics().rows == held.count, "the totals follow")
        #expect(next.pendingSalvage() == nil, "read to its end")
        #expect(try openSpool(folder).pendingSalvage() == nil)

        // Again (a process killed during the first): nothing is stored twice.
        let again = next.salvage(from: aside)
        #expect(again.recovered == 0 && again.deadLetters == 0)
        #expect(try next.statistics().rows == held.count)
        // Documents come back whole.
        let record = try #require(try next.peek(limit: 1).first)
        #expect(record.document.count == 400)

        // A file that is not SQLite at all gives nothing, and says so.
        try Data("not a database".utf8).write(to: URL(fileURLWithPath: folder.file("garbage")))
        let nothing = next.salvage(from: folder.file("garbage"))
        #expect(nothing.unreadable && nothing.recovered == 0)
    }

    /// The dead letters of a damaged spool are kept too, as dead letters (reason, attempts and
    /// document as they were), once however often the salvage runs, and counted.
    @Test func aDamagedSpoolsDeadLettersAreKeptOnce() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        var died: [String: String] = [:]
        do {
            let spool = try openSpool(folder)
            for batch in 0..<20 { try spool.append(makeRecords(200, prefix: "s\(batch)", bytes: 400)) }
            let leased = try spool.lease(maxCount: 300, maxBytes: 1 << 30)
            for record in leased { died[record.id] = "mapper_parsing_exception on \(record.id)" }
            try spool.settle(
                leased.map { ($0.seq, .deadLetter(reason: died[$0.id]!, errorType: "mapper_parsing_exception")) })
        }
        try damageMiddlePage(of: path)
        _ = try openSpool(folder).verify()
        let aside = try #require(try openSpool(folder).quarantinedPath)
        let next = try openSpool(folder)
        // One dead letter of this spool's own: the salvage adds to it, and does not take it for one of the file's.
        try next.append(makeRecords(1, prefix: "own", bytes: 400))
        let own = try next.lease(maxCount: 1, maxBytes: 1 << 20)
        try next.settle(own.map { ($0.seq, .deadLetter(reason: "own", errorType: nil)) })

        let salvage = next.salvage(from: aside)
        #expect(salvage.deadLetters > 200 && salvage.deadLetters <= 300, "\(salvage)")
        let letters = try next.deadLetters(limit: 1_000)
        #expect(letters.count == salvage.deadLetters + 1)
        for letter in letters where letter.reason != "own" {
            #expect(died[letter.documentID] == letter.reason, "nothing made up: \(letter.documentID)")
            #expect(letter.errorType == "mapper_parsing_exception")
            #expect(letter.attempts == 1)
            #expect(letter.document.count == 400)
        }
        #expect(Set(letters.map(\.documentID)).count == letters.count)
        let statistics = try next.statistics()
        #expect(statistics.deadLetters == letters.count, "the totals follow")
        #expect(statistics.counters.salvagedDeadLetters == salvage.deadLetters)

        // Again (a process killed during the first): nothing is kept twice.
        let again = next.salvage(from: aside)
        #expect(again.deadLetters == 0 && again.duplicates >= salvage.deadLetters)
        #expect(try next.deadLetters(limit: 1_000).count == letters.count)
        #expect(try next.check().problems.isEmpty, "the stored totals match the tables")
        // Requeued, they ship as records again.
        #expect(try next.requeueDeadLetters() == letters.count)
    }

    @Test func storedTotalsFollowEveryChangeAndVacuumRecountsThem() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let spool = try openSpool(folder, capBytes: 20_000)
            try spool.append(makeRecords(10, prefix: "a", bytes: 1_000))
            let leased = try spool.lease(maxCount: 4, maxBytes: 1 << 20)
            try spool.settle([
                (leased[0].seq, .shipped), (leased[1].seq, .deadLetter(reason: "mapping", errorType: nil)),
                (leased[2].seq, .retry(at: 0, error: "429")),
            ])
            spool.release([leased[3].seq])
            // 8 records and a dead letter (9 kB) + 15 kB: the oldest go to fit the 20 kB cap.
            #expect(try spool.append(makeRecords(15, prefix: "b", bytes: 1_000)).evicted > 0)
        }
        let cli = try Spool.open(SpoolConfiguration(path: path), access: .maintenance)
        #expect(try cli.requeueDeadLetters() == 0, "the dead letter was evicted first")
        try cli.append(makeRecords(2, prefix: "c", bytes: 500))
        #expect(try cli.check().problems.isEmpty, "the stored totals match the tables")

        let reopened = try openSpool(folder, capBytes: 20_000)
        // The owner's totals come from the stored row, not from counting: they equal the tables.
        let totals = reopened.state.withLock { $0.totals }
        let rows = try reopened.peek(limit: 1_000)
        #expect(totals.rows == rows.count)
        #expect(totals.bytes == rows.map(\.document.count).reduce(0, +))
        #expect(totals.deadRows == 0)

        // Drift (only a bug or a hand edit could cause it) is found by check and mended by vacuum.
        try reopened.state.withLock { state in
            try state.connection.execute("UPDATE totals SET rows = rows + 5")
        }
        let drifted = try cli.check().problems
        #expect(drifted.contains { $0.contains("stored totals") })
        try cli.vacuum()
        #expect(try cli.check().problems.isEmpty)
        #expect(cli.state.withLock { $0.totals.rows } == rows.count)
    }

    /// A salvage killed part-way goes on where it stopped: what it stored and what shipped since is
    /// neither stored nor counted again (the shipper runs during a salvage).
    @Test func aSalvageBegunAgainGoesOnWhereItStopped() throws {
        let folder = try TemporaryFolder()
        let aside = folder.file("aside.sqlite")
        let written = makeRecords(1_000, prefix: "old", bytes: 300)
        do {
            let old = try Spool.open(SpoolConfiguration(path: aside))
            for start in stride(from: 0, to: 1_000, by: 100) { try old.append(Array(written[start..<start + 100])) }
        }
        // The first salvage stored the first 400 (the runs of seqs 1 to 400 of the file's first
        // table, the last from seq 301: a run is read and stored whole) and was killed; they
        // shipped meanwhile.
        let spool = try openSpool(folder)
        try spool.append(
            Array(written.prefix(400)),
            also: { connection, appended in
                try Spool.bump(connection, adding: "salvaged", by: appended.stored)
                try Spool.setMeta(
                    connection, Spool.salvageProgressKey,
                    Spool.SalvageProgress(query: 0, after: 301).text(aside: aside))
            })
        let shipped = try spool.lease(maxCount: 1_000, maxBytes: 1 << 30)
        try spool.settle(shipped.map { ($0.seq, .shipped) })

        let salvage = spool.salvage(from: aside, batch: 250)
        #expect(salvage.recovered == 600 && salvage.duplicates == 0 && !salvage.unreadable, "\(salvage)")
        #expect(try spool.peek(limit: 2_000).map(\.id) == written.suffix(600).map(\.id))
        #expect(try spool.statistics().counters.salvaged == 1_000)
        let meta = try SQLiteConnection(path: folder.file("spool.sqlite"), mode: .readOnly)
        #expect(try meta.scalar("SELECT count(*) FROM meta WHERE key = 'salvage_progress'") == 0, "read to its end")
        // Progress of another file is not this one's: a salvage of it reads it from its start.
        let other = Spool.SalvageProgress("0 400 \(folder.file("other.sqlite"))", aside: aside)
        #expect(other.query == 0 && other.after == 0)
    }
}
