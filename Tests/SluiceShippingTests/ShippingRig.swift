import AsyncHTTPClient
import Foundation
import InMemoryLogging
import Logging
import SluiceIngest
import SluiceOpenSearch
import SluiceShipping
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

/// A spool, a shipper, and the local OpenSearch behind the fault proxy; all of it the test's own.
struct ShippingRig {
    let opensearch: ToolServer
    let proxy: FaultProxy
    let spool: Spool
    let shipper: Shipper
    let probe: OpenSearchProbe
    let folder: TemporaryFolder
    /// An index name no other test uses.
    let index: String

    /// Runs `body` with a fresh rig and stops everything afterwards.
    static func with(
        _ configure: (inout OpenSearchConfiguration) -> Void = { _ in },
        environment: [String: String] = [:],
        indexDefinition: @escaping @Sendable (String, ClusterInfo) -> [UInt8] = { _, _ in IndexDefinition.body(.logs) },
        logHandler: InMemoryLogHandler? = nil,
        _ body: (ShippingRig) async throws -> Void
    ) async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let controlClient = HTTPClient(eventLoopGroupProvider: .singleton)
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: controlClient)
        defer { proxy.stop() }
        var configuration = OpenSearchConfiguration(
            endpoint: proxy.url,
            retry: RetryPolicy(baseMilliseconds: 20, capMilliseconds: 200, maxAttempts: 8))
        configure(&configuration)
        let httpClient = OpenSearchClient.makeHTTPClient(configuration)
        let folder = try TemporaryFolder()
        do {
            let spool = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")))
            let logger = Logger(label: "test") { _ in
                logHandler.map { $0 as any LogHandler } ?? SwiftLogNoOpLogHandler()
            }
            let client = OpenSearchClient(
                configuration: configuration, httpClient: httpClient, environment: environment, logger: logger)
            let shipper = Shipper(
                spool: spool, client: client, clock: spool.configuration.clock, logger: logger,
                indexDefinition: indexDefinition)
            let rig = ShippingRig(
                opensearch: opensearch, proxy: proxy, spool: spool, shipper: shipper,
                probe: OpenSearchProbe(url: opensearch.url, client: controlClient), folder: folder,
                index: "t-" + UUID().uuidString.lowercased().prefix(12))
            try await body(rig)
        } catch {
            await httpClient.shutdown()
            try? await controlClient.shutdown()
            throw error
        }
        await httpClient.shutdown()
        try await controlClient.shutdown()
    }

    /// Ships until the spool is empty (retries included), at most `seconds`.
    @discardableResult
    func drainCompletely(seconds: Double = 30) async throws -> Shipper.Report {
        var total = Shipper.Report()
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let report = try await shipper.drain(until: UTCTime.nowMilliseconds() + 5_000)
            total.add(report)
            if try spool.statistics().rows == 0 { return total }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the spool did not drain in \(seconds) s: \(try spool.statistics().rows) records left")
        return total
    }

    /// `count` telemetry-shaped records for `index` (default: the rig's), ids unique to the batch.
    /// Ships one record (`warm-0`) into `index`, so that the shipper has asked the cluster what it
    /// is and made the index: a test that counts failed requests or arms faults then sees only its
    /// own (under the load of forty suites, a bootstrap request can fail once and be made again,
    /// which counts as a failed request).
    func bootstrap() async throws {
        try spool.append(records(1, prefix: "warm"))
        try await drainCompletely()
    }

    /// Whether the index holds `count` documents before the shipper abandons a request (at most
    /// 30 s): what a request that hangs does not hold back.
    func indexedBeforeAnAbandon(_ count: Int) async throws -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, await shipper.abandonedRequests == 0 {
            if try await probe.count(index) == count { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    func records(
        _ count: Int, index: String? = nil, prefix: String = "r",
        body: (Int) -> String = {
            #"{"@timestamp":"2026-11-25T12:00:00.000Z","time":"2026-11-25T12:00:00.000Z","type":"function","record":"line \#($0)","message":"line \#($0)"}"#
        }
    ) -> [SpoolRecord] {
        (0..<count).map { number in
            SpoolRecord(
                id: "\(prefix)-\(number)", index: index ?? self.index, eventTime: 1_795_608_000_000,
                document: Array(body(number).utf8))
        }
    }
}
