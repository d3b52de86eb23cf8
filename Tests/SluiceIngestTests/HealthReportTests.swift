import Foundation
import InMemoryLogging
import Logging
import SluiceIngest
import SluiceLambda
import SluiceSpool
import SluiceTestSupport
import Testing

/// The extension's health documents: through the spool with the delivery that makes one due, at
/// most one a minute, with deterministic ids, and one at SHUTDOWN.
struct HealthReportTests {
    let folder: TemporaryFolder
    let clock = ManualClock(1_764_000_000_000)
    let spool: Spool

    init() throws {
        folder = try TemporaryFolder()
        spool = try openSpool(folder, clock: clock)
    }

    func ingestor(logs: InMemoryLogHandler? = nil) throws -> Ingestor {
        Ingestor(
            spool: spool,
            document: TelemetryDocument(function: .init(name: "orders", version: "1", region: "eu-west-1")),
            environmentID: try spool.environmentID(),
            indices: .init(
                platform: IndexPattern("plat"), function: IndexPattern("fn"), extension: IndexPattern("ext"),
                invocation: IndexPattern("inv")),
            logger: Logger(label: "test") { _ in logs.map { $0 as any LogHandler } ?? SwiftLogNoOpLogHandler() },
            rules: IngestRules(rules: IngestRules.builtins("email").0),
            health: HealthReport(version: "9.9.9", settings: [("SLUICE_FLUSH", "background"), ("URL", "http://x")]),
            clock: clock.wallClock)
    }

    /// One invocation whose report says the extension added `overhead` ms.
    static func invocation(_ number: Int, overhead: Double) -> [UInt8] {
        let time = "2026-11-25T12:00:0\(number).000Z"
        func event(_ type: String, _ record: String) -> String {
            #"{"time":"\#(time)","type":"\#(type)","record":\#(record)}"#
        }
        return TelemetryFixtures.delivery([
            event("platform.start", #"{"requestId":"r\#(number)","version":"1"}"#),
            event("function", #""mail bob@example.com""#),
            event(
                "platform.report",
                #"{"requestId":"r\#(number)","status":"success","metrics":{"durationMs":2,"billedDurationMs":2,"memorySizeMB":128,"maxMemoryUsedMB":50},"spans":[{"name":"extensionOverhead","start":"\#(time)","durationMs":\#(overhead)}]}"#
            ),
        ])
    }

    func healthDocuments() throws -> [(id: String, document: JSONValue)] {
        try spool.peek(limit: 1000).filter { $0.id.hasPrefix("health-") }.sorted { $0.seq < $1.seq }.map {
            ($0.id, try JSONValue.parse($0.document))
        }
    }

    @Test func oneAMinuteWithTheDeliveryThatMakesItDueAndOneAtShutdown() throws {
        let ingest = try ingestor()
        #expect(ingest.ingest(Self.invocation(1, overhead: 4)) == .accepted)
        #expect(ingest.ingest(Self.invocation(2, overhead: 1)) == .accepted)
        var health = try healthDocuments()
        #expect(health.count == 1, "the first delivery's; the second is in the same minute")
        let first = health[0].document
        #expect(first["type"]?.string == "sluice.health")
        #expect(first["reason"]?.string == "interval")
        #expect(first["functionName"]?.string == "orders")
        #expect(first["sluice"]?["version"]?.string == "9.9.9")
        #expect(first["configuration"]?["SLUICE_FLUSH"]?.string == "background")
        // Written with the first delivery: the statistics before it, the invocation it completed.
        #expect(first["addedMs"]?["invocations"]?.double == 1)
        #expect(first["addedMs"]?["max"]?.double == 4)
        // The process's CPU time by stage, whole milliseconds: the total holds the stages.
        let cpu = first["cpuMs"]
        let stages = ["ingest", "spoolAppend", "leaseSettle", "encode", "answer"].map { cpu?[$0]?.double ?? -1 }
        #expect(stages.allSatisfy { $0 >= 0 })
        #expect((cpu?["total"]?.double ?? 0) > 0)
        #expect((cpu?["other"]?.double ?? -1) >= 0)
        #expect((cpu?["total"]?.double ?? 0) + 6 >= stages.reduce(0, +) + (cpu?["other"]?.double ?? 0))

        clock.advance(by: HealthReport.intervalMilliseconds)
        #expect(ingest.ingest(Self.invocation(3, overhead: 2)) == .accepted)
        health = try healthDocuments()
        #expect(health.count == 2)
        let second = health[1].document
        #expect(second["addedMs"]?["invocations"]?.double == 2, "the invocations since the last report")
        #expect(second["addedMs"]?["p50"]?.double == 2)
        #expect(second["addedMs"]?["max"]?.double == 2)
        #expect(second["spool"]?["waiting"]?.double ?? 0 > 0)
        #expect(second["rules"]?["email.masked"]?.double == 2)

        ingest.reportHealthAtShutdown(at: clock.now)
        health = try healthDocuments()
        #expect(health.count == 3)
        #expect(health[2].document["reason"]?.string == "shutdown")
        #expect(Set(health.map(\.id)).count == 3)
    }

    @Test func anOutageShowsInTheHealthDocumentsWrittenAfterIt() throws {
        let ingest = try ingestor()
        #expect(ingest.ingest(Self.invocation(1, overhead: 1)) == .accepted)
        let before = try #require(try healthDocuments().first).document
        #expect(before["spool"]?["failedRequests"]?.double == 0, "no request has failed")
        #expect(before["lastFailedRequest"] == nil)

        // The shipper's requests fail as a whole (it counts each in the spool), then go through again.
        try spool.recordFailedRequest(at: clock.now + 1_000, reason: "transport: connection refused by 10.0.0.1:443")
        try spool.recordFailedRequest(at: clock.now + 5_000, reason: "unavailable: HTTP 503: cluster is blocked")
        clock.advance(by: HealthReport.intervalMilliseconds)
        #expect(ingest.ingest(Self.invocation(2, overhead: 1)) == .accepted)
        let after = try #require(try healthDocuments().last).document
        #expect(after["spool"]?["failedRequests"]?.double == 2)
        #expect(after["lastFailedRequest"]?["reason"]?.string == "unavailable: HTTP 503: cluster is blocked")
        #expect(after["lastFailedRequest"]?["at"]?.string == "2025-11-24T16:00:05.000Z")
    }

    /// Lambda's `platform.logsDropped`: telemetry that never reached the extension. Counted in the
    /// spool with its delivery (a re-delivery is not counted again), said in a warning, and shown
    /// by the health documents.
    @Test func whatLambdaDroppedIsCountedOnceAndShown() throws {
        let logs = InMemoryLogHandler()
        let ingest = try ingestor(logs: logs)
        let dropped = TelemetryFixtures.delivery([
            #"{"time":"2026-11-25T12:00:00.000Z","type":"platform.logsDropped","record":{"droppedBytes":12800,"droppedRecords":50,"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}}"#,
            #"{"time":"2026-11-25T12:00:00.500Z","type":"platform.logsDropped","record":{"droppedBytes":400,"droppedRecords":2,"reason":"again"}}"#,
        ])
        #expect(ingest.ingest(dropped) == .accepted)
        #expect(ingest.ingest(dropped) == .accepted, "the same batch again: its 200 was lost")
        var counters = try spool.counters()
        #expect(counters.droppedByLambda == 52)
        #expect(counters.droppedByLambdaBytes == 13_200)
        let warnings = logs.entries.filter { "\($0.message)".contains("Lambda dropped") }
        #expect(warnings.count == 1)
        #expect(warnings.first.map { "\($0.message)" }?.contains("52 telemetry records") == true)
        #expect(warnings.first?.metadata["reason"] == "again")

        clock.advance(by: HealthReport.intervalMilliseconds)
        #expect(ingest.ingest(Self.invocation(1, overhead: 1)) == .accepted)
        let health = try #require(try healthDocuments().last).document
        #expect(health["spool"]?["droppedByLambda"]?.double == 52)
        #expect(health["spool"]?["droppedByLambdaBytes"]?.double == 13_200)
        counters = try spool.counters()
        #expect(counters.droppedByLambda == 52, "a delivery without drops adds none")
    }

    @Test func aRestartInTheSameMinuteWritesTheSameDocumentOnce() throws {
        #expect(try ingestor().ingest(Self.invocation(1, overhead: 1)) == .accepted)
        // A new process (a kill -9 and a restart) in the same minute: the same id, kept once.
        #expect(try ingestor().ingest(Self.invocation(2, overhead: 1)) == .accepted)
        let health = try healthDocuments()
        #expect(health.count == 1)
        #expect(health[0].id == HealthReport.id(environment: try spool.environmentID(), minute: clock.now / 60_000))
    }
}
