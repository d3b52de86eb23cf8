import CSQLiteFaults
import Logging
import SluiceIngest
import SluiceSpool
import SluiceTestSupport
import Testing

/// The spool under the I/O errors SQLite itself can hit (a failing or torn write, a full disk, a
/// failing fsync), injected by a VFS shim for this test's files only: a delivery whose append fails
/// is answered 503 and leaves nothing half-written, the platform's re-send stores it once, and the
/// spool file stays sound.
struct IngestFaultTests {
    static let kinds: [(String, sluice_fault_kind)] = [
        ("write error", SLUICE_FAULT_WRITE_ERROR), ("short write", SLUICE_FAULT_SHORT_WRITE),
        ("disk full", SLUICE_FAULT_DISK_FULL),
    ]

    /// 300 lines of about 500 bytes: a transaction of many pages, so that the fault can strike
    /// early in it, in the middle, or at its commit.
    static func delivery(_ tag: String) -> [UInt8] {
        TelemetryFixtures.delivery(
            (0..<300).map { number in
                #"{"time":"\#(TelemetryFixtures.time)","type":"function","record":"\#(tag) line \#(number) \#(String(repeating: "x", count: 480))"}"#
            })
    }

    static func ingestor(_ spool: Spool) throws -> Ingestor {
        Ingestor(
            spool: spool,
            document: TelemetryDocument(function: .init(name: "orders", version: "1", region: "eu-west-1")),
            environmentID: try spool.environmentID(),
            indices: .init(platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    @Test(arguments: 0..<kinds.count, [0, 1, 3, 10, 40])
    func aFailedAppendIsAnswered503AndTheResendIsStoredOnce(kind: Int, skip: Int) throws {
        #expect(sluice_faults_install() == 0)
        let (name, fault) = Self.kinds[kind]
        let folder = try TemporaryFolder()
        var stored = 0
        do {
            let spool = try openSpool(folder)
            let ingestor = try Self.ingestor(spool)
            #expect(ingestor.ingest(Self.delivery("before")).status == 200)
            stored = try spool.statistics().rows
            #expect(stored == 300)

            sluice_faults_arm(folder.path, fault, Int32(skip), -1)
            let failed = ingestor.ingest(Self.delivery("faulted"))
            let injected = sluice_faults_injected(folder.path)
            sluice_faults_disarm(folder.path)
            #expect(injected > 0 || skip > 0, "the first write of a transaction fails")
            if injected > 0 {
                #expect(failed.status == 503, "\(name) after \(skip): \(failed)")
            } else {
                // The transaction needed fewer operations than were let through.
                #expect(failed.status == 200)
            }
            // All or nothing, never part (a write that failed after the commit, in a checkpoint,
            // leaves the commit standing).
            let after = try spool.statistics().rows
            #expect(after == (failed.status == 200 ? 600 : 300), "\(name) after \(skip): \(after) rows")

            // The platform sends it again; stored once whatever the first attempt left.
            #expect(ingestor.ingest(Self.delivery("faulted")).status == 200, "\(name) after \(skip)")
            #expect(try spool.statistics().rows == 600)
            #expect(ingestor.ingest(Self.delivery("later")).status == 200)
            #expect(try spool.check().problems.isEmpty)
            stored = try spool.statistics().rows
        }
        // What the process saw committed is what a new process finds in the file.
        let reopened = try openSpool(folder)
        #expect(reopened.quarantinedPath == nil)
        #expect(try reopened.statistics().rows == stored)
        #expect(stored == 900)
        #expect(try reopened.check().problems.isEmpty)
    }

    /// Commits do not wait for fsync (WAL with synchronous=NORMAL: a commit survives the process's
    /// crash, which is what Lambda can do to it); checkpoints do. Checkpoints that cannot fsync fail
    /// on their own, deliveries are still answered 200, and the file is whole once the errors stop.
    @Test func failingFsyncsFailOnlyCheckpointsAndTheFileCatchesUp() throws {
        #expect(sluice_faults_install() == 0)
        let folder = try TemporaryFolder()
        do {
            let spool = try openSpool(folder)
            let ingestor = try Self.ingestor(spool)
            sluice_faults_arm(folder.path, SLUICE_FAULT_SYNC_ERROR, 0, -1)
            // Enough pages (about 24 MB of WAL, several times the 4 MiB at which the spool
            // checkpoints) for SQLite's automatic checkpoints to run, and fail.
            for number in 0..<100 {
                #expect(ingestor.ingest(Self.delivery("d\(number)")).status == 200)
            }
            #expect(sluice_faults_injected(folder.path) > 0, "a checkpoint tried to fsync")
            // A checkpoint syncs the WAL before it copies a page: none reached the main file.
            let mainFile = folder.file("spool.sqlite")
            #expect(fileSize(mainFile) < 1 << 20, "no checkpoint copied pages while fsync failed")
            sluice_faults_disarm(folder.path)
            #expect(ingestor.ingest(Self.delivery("after")).status == 200)
            #expect(try spool.statistics().rows == 101 * 300)
            // The next commit's checkpoint copies the whole WAL: the main file holds every record.
            #expect(fileSize(mainFile) > 16 << 20, "a checkpoint ran once fsync worked again")
        }
        let reopened = try openSpool(folder)
        #expect(reopened.quarantinedPath == nil)
        #expect(try reopened.statistics().rows == 101 * 300)
        #expect(try reopened.check().problems.isEmpty)
    }
}
