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
        let spool = try openSpool(folder, clock: clock, maxFileBytes: 256 << 10)
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
}
