import Foundation
import LambdaSimulator
import SluiceTestSupport
import Testing

/// The platform delivers every event it buffered, in the shapes of the reference, until a 2xx
/// acknowledges it; drops and reports what a subscriber that falls behind cannot take.
@Suite struct TelemetryDeliveryTests {
    struct LogShape: Sendable, CustomTestStringConvertible {
        let format: SimulatorConfiguration.LogFormat
        let schema: String
        let objects: Bool
        var testDescription: String { "\(format.rawValue) log format, schema \(schema)" }
    }

    @Test(arguments: [
        LogShape(format: .text, schema: "2022-12-13", objects: false),
        LogShape(format: .json, schema: "2022-12-13", objects: true),
        LogShape(format: .json, schema: "2022-07-01", objects: false),
    ])
    func everyEventIsDeliveredAndTheLedgerIsWhatTheExtensionStored(_ shape: LogShape) async throws {
        let fixture = try MiniExtension(["MINI_SCHEMA": shape.schema, "MINI_ON_SHUTDOWN": "drain:600"]) {
            $0.logFormat = shape.format
        }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            let initReport = try await simulator.start()
            #expect(initReport.status == .success)
            var invocations: [InvocationReport] = []
            for _ in 0..<3 { invocations.append(try await simulator.invoke(logLines: 4)) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            #expect(!shutdown.killedAtDeadline)
            #expect(shutdown.eventDelivered)

            let ledger = await simulator.ledger()
            #expect(ledger.acknowledged.map(\.delivered).counted == fixture.storedEvents.counted)
            #expect(ledger.emitted == ledger.acknowledged.count)
            #expect(ledger.pending == 0 && ledger.dropped == 0 && ledger.discarded == 0)
            #expect(ledger.failedDeliveries == 0)

            // A marker per log line, each acknowledged once.
            let markers = invocations.flatMap(\.markers)
            #expect(Set(markers).count == 12)
            #expect(ledger.acknowledgedMarkers == Set(markers))
            #expect(ledger.acknowledged(type: "function").count == 12)
            for line in ledger.acknowledged(type: "function") {
                let marker = try #require(line.marker)
                if shape.objects {
                    #expect(line.record["requestId"] == line.requestId.map(JSON.string))
                    #expect(line.record["level"] == "INFO")
                    #expect(line.record["message"]?.stringValue?.contains(marker) == true)
                } else {
                    #expect(line.record.stringValue?.contains(marker) == true)
                }
            }

            let types = ledger.acknowledged.map(\.type).counted
            for type in [
                "platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.extension",
                "platform.telemetrySubscription",
            ] {
                #expect(types[type] == 1, "\(type)")
            }
            for type in ["platform.start", "platform.runtimeDone", "platform.report"] {
                #expect(types[type] == 3, "\(type)")
            }
            let reports = ledger.acknowledged(type: "platform.report")
            #expect(reports.map(\.requestId) == invocations.map(\.requestId))
            for report in reports {
                #expect(report.record["status"] == "success")
                for metric in ["durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB"] {
                    #expect(report.record["metrics"]?[metric]?.numberValue != nil, "\(metric)")
                }
            }
            #expect(reports.first?.record["metrics"]?["initDurationMs"] != nil)
            #expect(reports.last?.record["metrics"]?["initDurationMs"] == nil)
            let extensionReady = ledger.acknowledged(type: "platform.extension").first?.record
            #expect(
                extensionReady == ["name": "mini_extension.py", "state": "Ready", "events": ["INVOKE", "SHUTDOWN"]])
            for event in ledger.acknowledged {
                #expect(event.time.count == 24 && event.time.hasSuffix("Z"), "\(event.time)")
            }

            // What the extension got from /next.
            let events = fixture.nextEvents
            #expect(events.compactMap { $0["requestId"]?.stringValue } == invocations.map(\.requestId))
            let invoke = try #require(events.first)
            #expect(invoke["eventType"] == "INVOKE")
            #expect(invoke["invokedFunctionArn"]?.stringValue?.hasSuffix(":function:sluice-simulated") == true)
            #expect(invoke["tracing"]?["type"] == "X-Amzn-Trace-Id")
            let deadline = try #require(invoke["deadlineMs"]?.numberValue)
            #expect(abs(deadline - Date().timeIntervalSince1970 * 1000) < 60_000)
            let last = try #require(events.last)
            #expect(last["eventType"] == "SHUTDOWN")
            #expect(last["shutdownReason"] == "spindown")
            #expect(last["deadlineMs"]?.numberValue != nil)
            #expect(invocations.allSatisfy { $0.addedTime != nil && !$0.timedOut })
        }
    }

    @Test func rejectedDeliveriesAreDeliveredAgainAndRawDeliveriesAreNotRecorded() async throws {
        // The redelivery backoff doubles (100, 200, 400 ms): the drain waits long enough for the fourth
        // attempt to come after SHUTDOWN on a loaded machine.
        let fixture = try MiniExtension(["MINI_ACK_STATUSES": "500,503,429,200", "MINI_ON_SHUTDOWN": "drain:2000"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let invocation = try await simulator.invoke(logLines: 5)

            let before = await simulator.ledger()
            let malformed = try await simulator.deliverRaw(Array("[{\"time\": not json".utf8))
            #expect(malformed.status == 400)
            let after = await simulator.ledger()
            #expect(after.deliveryAttempts == before.deliveryAttempts)
            #expect(after.acknowledged.count == before.acknowledged.count)

            try await simulator.shutdown()
            let ledger = await simulator.ledger()
            #expect(ledger.failedDeliveries == 3)
            #expect(ledger.deliveryAttempts > ledger.failedDeliveries)
            #expect(ledger.acknowledgedMarkers == Set(invocation.markers))
            #expect(ledger.emitted == ledger.acknowledged.count)
            let deliveries = fixture.records("deliveries.jsonl")
            #expect(deliveries.filter { $0["malformed"] == true }.count == 1)
            let statuses = deliveries.filter { $0["malformed"] == nil }.compactMap { $0["status"]?.numberValue }
            #expect(Array(statuses.prefix(4)) == [500, 503, 429, 200])
            // Refused batches came again; what the extension kept is each event once.
            #expect(fixture.storedEvents.counted == ledger.acknowledged.map(\.delivered).counted)
        }
    }

    @Test func aSubscriberThatFallsBehindGetsLogsDropped() async throws {
        let fixture = try MiniExtension(["MINI_ON_SHUTDOWN": "drain:600"]) {
            $0.platformBufferLimitBytes = 16 << 10
        }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let invocation = try await simulator.invoke(logLines: 60, logLinePadding: 1000)
            try await simulator.shutdown()

            let ledger = await simulator.ledger()
            #expect(ledger.dropped > 0)
            // One report per backlog (more only if one was already on its way when more was dropped).
            let reports = ledger.acknowledged(type: "platform.logsDropped").map(\.record)
            #expect(!reports.isEmpty)
            #expect(reports.compactMap { $0["droppedRecords"]?.numberValue }.reduce(0, +) == Double(ledger.dropped))
            #expect(reports.allSatisfy { ($0["droppedBytes"]?.numberValue ?? 0) > 0 })
            #expect(reports.allSatisfy { $0["reason"]?.stringValue?.isEmpty == false })
            // Every event emitted was either acknowledged or dropped; the oldest buffered go first, so
            // the newest line survives (which lines were already on their way depends on timing).
            #expect(ledger.emitted == ledger.acknowledged.count + ledger.dropped)
            let keptLines = invocation.markers.filter(ledger.acknowledgedMarkers.contains)
            #expect(keptLines.count < invocation.markers.count)
            #expect(keptLines.last == invocation.markers.last)
            #expect(fixture.storedEvents.counted == ledger.acknowledged.map(\.delivered).counted)
        }
    }

    @Test func theExtensionsOutputComesBackToItAsExtensionRecords() async throws {
        let fixture = try MiniExtension(["MINI_PRINT_PER_DELIVERY": "1"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            // Each delivery prints a line, which becomes a record, which is delivered: it feeds itself.
            let fed = await waitFor(seconds: 10) {
                await simulator.ledger().acknowledged(type: "extension").count >= 3
            }
            #expect(fed)
            let output = await simulator.extensionOutput()
            #expect(output.first?.hasPrefix("delivery 1: ") == true)
            for record in await simulator.ledger().acknowledged(type: "extension") {
                let line = try #require(record.record.stringValue)
                #expect(output.contains(line))
                #expect(line.hasPrefix("delivery "))
            }
        }
    }
}
