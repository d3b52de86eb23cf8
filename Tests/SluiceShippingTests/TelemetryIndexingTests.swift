import Foundation
import SluiceIngest
import SluiceOpenSearch
import SluiceShipping
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

@Suite(.timeLimit(.minutes(2))) struct TelemetryIndexingTests {
    @Test func everyEventTypeIndexesWithoutAMappingConflict() async throws {
        try await ShippingRig.with(indexDefinition: { index, cluster in
            IndexDefinition.body(index.hasSuffix("-platform") ? .platform : .logs, flatObject: cluster.hasFlatObject)
        }) { rig in
            let builder = TelemetryDocument(function: .init(name: "orders", version: "$LATEST", region: "eu-west-1"))
            var records: [SpoolRecord] = []
            for (number, event) in (TelemetryFixtures.events + TelemetryFixtures.events.reversed()).enumerated() {
                let index = TelemetryDocument.isLog(event.type) ? "\(rig.index)-logs" : "\(rig.index)-platform"
                records.append(
                    SpoolRecord(
                        id: "e-\(number)", index: index, eventTime: 0,
                        document: builder.encode(
                            time: "2026-11-25T12:00:00.123Z", type: event.type,
                            record: try JSONValue.parse(Array(event.record.utf8)))))
            }
            try rig.spool.append(records)
            let report = try await rig.drainCompletely()
            #expect(report.deadLettered == 0)
            #expect(report.indexed == records.count)
            let logs = TelemetryFixtures.events.filter { TelemetryDocument.isLog($0.type) }.count * 2
            #expect(try await rig.probe.count("\(rig.index)-logs") == logs)
            #expect(try await rig.probe.count("\(rig.index)-platform") == records.count - logs)
        }
    }
}
