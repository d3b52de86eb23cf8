import CSQLiteFaults
import Foundation
import SluiceSpool
import SluiceTestSupport
import Testing

/// Opening a spool while its file cannot be read (an I/O error, from a VFS shim on this test's
/// files only) is an error to report, not damage: the file is not moved aside, and once the errors
/// stop it opens with every record.
struct SpoolIOFaultTests {
    @Test(arguments: [0, 1, 2, 4, 8])
    func anOpenThatCannotReadLeavesTheFileWhereItIs(skip: Int) throws {
        #expect(sluice_faults_install() == 0)
        let folder = try TemporaryFolder()
        do {
            let spool = try openSpool(folder)
            try spool.append(makeRecords(500, prefix: "r", bytes: 300))
        }
        sluice_faults_arm(folder.path, SLUICE_FAULT_READ_ERROR, Int32(skip), -1)
        let opened = Result { try openSpool(folder) }
        let injected = sluice_faults_injected(folder.path)
        sluice_faults_disarm(folder.path)
        if skip == 0 {
            #expect(injected > 0)
            #expect(throws: SpoolError.self) { try opened.get() }
        }
        if case .success(let spool) = opened {
            // The reads the fault let through were all the open needed.
            #expect(injected == 0 || skip > 0)
            #expect(spool.quarantinedPath == nil, "a read error is not damage")
        }
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("quarantine") }
                .isEmpty)
        let spool = try openSpool(folder)
        #expect(spool.quarantinedPath == nil)
        #expect(try spool.statistics().rows == 500)
        #expect(try spool.check().problems.isEmpty)
    }
}
