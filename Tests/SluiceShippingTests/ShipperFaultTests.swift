import CSQLiteFaults
import SluiceShipping
import SluiceSpool
import SluiceTestSupport
import Testing

/// The shipper when the spool cannot record what OpenSearch said (the settle's write or fsync
/// fails, from a VFS shim on this test's files only): no record is counted shipped without a
/// committed settle, the records go again at once, and each is in OpenSearch once.
@Suite(.timeLimit(.minutes(2))) struct ShipperFaultTests {
    @Test(arguments: [SLUICE_FAULT_WRITE_ERROR, SLUICE_FAULT_SHORT_WRITE, SLUICE_FAULT_DISK_FULL])
    func aSettleThatFailsNeverMarksARecordShipped(fault: sluice_fault_kind) async throws {
        #expect(sluice_faults_install() == 0)
        try await ShippingRig.with { rig in
            try await rig.bootstrap()
            try rig.spool.append(rig.records(300))
            let before = try rig.spool.statistics().counters.shipped
            sluice_faults_arm(rig.folder.path, fault, 0, -1)
            await #expect(throws: SpoolError.self) { try await rig.shipper.shipBatch() }
            let injected = sluice_faults_injected(rig.folder.path)
            sluice_faults_disarm(rig.folder.path)
            #expect(injected > 0)
            // OpenSearch has the documents, but the spool never said so.
            let statistics = try rig.spool.statistics()
            #expect(statistics.rows == 300)
            #expect(statistics.counters.shipped == before)
            #expect(try await rig.probe.count(rig.index) == 301, "the 300 and the bootstrap's record")

            // The errors stop: what was not settled goes again at once, not after its lease.
            let report = try await rig.drainCompletely(seconds: 10)
            #expect(report.shipped == 300)
            #expect(report.duplicates == 300, "sent again under the same ids")
            #expect(try rig.spool.statistics().counters.shipped - before == 300)
            #expect(try await rig.probe.count(rig.index) == 301, "each once")
            #expect(try rig.spool.check().problems.isEmpty)
        }
    }
}
