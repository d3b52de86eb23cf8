import AsyncHTTPClient
import Logging
import SluiceHTTP
import SluiceOpenSearch
import SluiceShipping
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

/// The loop's waits (its nap, a pause after a failure, a hold) run on the forwarder's clock: a
/// test clock moves them, and nothing waits out wall-clock time.
@Suite(.timeLimit(.minutes(1))) struct ShippingLoopTests {
    /// A loop over `spool` shipping to `configuration`'s endpoint, on the test clock.
    static func loop(
        _ spool: Spool, _ configuration: OpenSearchConfiguration, _ httpClient: HTTP1Client, _ clock: ManualClock,
        tickMilliseconds: Int64
    ) -> ShippingLoop {
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let client = OpenSearchClient(
            configuration: configuration, httpClient: httpClient, environment: [:], logger: logger)
        let shipper = Shipper(
            spool: spool, client: client, clock: clock.wallClock, logger: logger,
            indexDefinition: { _, _ in Array(#"{"mappings":{}}"#.utf8) })
        return ShippingLoop(shipper: shipper, logger: logger, tickMilliseconds: tickMilliseconds)
    }

    /// Waits until the loop is paused and asleep on the test clock.
    static func pausedAndAsleep(_ loop: ShippingLoop, _ clock: ManualClock) async -> Bool {
        await waitFor(seconds: 30) {
            guard case .paused = loop.phase else { return false }
            return clock.sleeping > 0
        }
    }

    @Test func aPauseAfterAFailureEndsWhenTheForwardersClockSaysSoNotTheWallClock() async throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        // Every request answered 503 at once. A minute's backoff on the wall clock would outlast
        // this test; on the test clock it ends when the test says.
        try await proxy.inject([["kind": "status", "status": 503, "count": 1_000]])
        let configuration = OpenSearchConfiguration(
            endpoint: proxy.url, retry: RetryPolicy(baseMilliseconds: 60_000, capMilliseconds: 60_000))
        let httpClient = OpenSearchClient.makeHTTPClient(configuration)
        defer { Task { await httpClient.shutdown() } }
        // A tick of 1 ms: the loop naps between passes on the test clock, never inside a pass.
        let loop = Self.loop(spool, configuration, httpClient, clock, tickMilliseconds: 1)
        _ = try spool.append(makeRecords(3))
        let running = Task { await loop.run() }
        defer { running.cancel() }

        #expect(
            await Self.pausedAndAsleep(loop, clock), "a failed request pauses the loop, asleep on the test clock")
        guard case .paused(let until) = loop.phase else {
            Issue.record("a failed request pauses the loop, found \(loop.phase)")
            return
        }
        let failed = await loop.report.failedRequests
        #expect(failed >= 1)
        // A hold returns at once while the loop is paused: nothing more can ship now.
        await loop.settled(until: clock.now + 3_600_000)
        #expect(await loop.report.failedRequests == failed, "no request while the test clock stands still")

        clock.advance(by: max(1, until - clock.now))
        #expect(
            await waitFor(seconds: 30) { await loop.report.failedRequests > failed }, "the pause ended with the clock")
        #expect(spool.waitingCount == 3, "a failure keeps every record")
    }

    @Test func aSpoolThatFailsWhileShippingIsTriedOnceATickNotInALoop() async throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        do {
            let spool = try openSpool(folder, clock: clock)
            for batch in 0..<20 { _ = try spool.append(makeRecords(200, prefix: "d\(batch)", bytes: 400)) }
        }
        try damageMiddlePage(of: folder.file("spool.sqlite"))
        let spool = try openSpool(folder, clock: clock)
        let configuration = OpenSearchConfiguration(endpoint: "http://127.0.0.1:1")
        let httpClient = OpenSearchClient.makeHTTPClient(configuration)
        defer { Task { await httpClient.shutdown() } }
        let loop = Self.loop(spool, configuration, httpClient, clock, tickMilliseconds: 1_000)
        let running = Task { await loop.run() }
        defer { running.cancel() }

        // The lease reads the damaged page and throws: the loop pauses a tick, asleep on the test
        // clock, instead of leasing again at once (it spun, taking every thread it could get).
        #expect(await Self.pausedAndAsleep(loop, clock), "a failed pass pauses the loop, found \(loop.phase)")
        guard case .paused(let until) = loop.phase else { return }
        #expect(until == clock.now + 1_000)
        // Tried again when the tick is over, and paused again.
        clock.advance(by: 1_000)
        #expect(
            await waitFor(seconds: 30) {
                guard case .paused(let next) = loop.phase else { return false }
                return next == until + 1_000 && clock.sleeping > 0
            }, "the next try came with the clock, found \(loop.phase)")
    }

    @Test func aHoldEndsAtItsDeadlineOnTheForwardersClock() async throws {
        let clock = ManualClock()
        let signal = ChangeSignal()
        let generation = signal.generation
        let waiting = Task { await signal.wait(after: generation, until: clock.now + 5_000, on: clock.wallClock) }
        #expect(await waitFor(seconds: 20) { clock.sleeping == 1 })
        clock.advance(by: 4_999)
        #expect(clock.sleeping == 1, "not yet")
        clock.advance(by: 1)
        await waiting.value
        #expect(clock.sleeping == 0)

        let early = Task { await signal.wait(after: generation, until: clock.now + 5_000, on: clock.wallClock) }
        #expect(await waitFor(seconds: 20) { clock.sleeping == 1 })
        signal.signal()
        await early.value
        #expect(await waitFor(seconds: 20) { clock.sleeping == 0 }, "a signal cancels the deadline's sleep")
    }
}
