import ArgumentParser
import AsyncHTTPClient
import Logging
import NIOCore
import SluiceIngest
import SluiceOpenSearch
import SluiceShipping
import SluiceSpool
import SluiceTime

#if canImport(Glibc)
    import Glibc
#endif

/// Shipping throughput: the shipper draining a spool into OpenSearch, against POSTing the same
/// bulk bodies straight to the same server in the same run.
struct ShipBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-ship",
        abstract: "Drain a spool into OpenSearch against direct _bulk POSTs of the same bodies.")

    @Option(help: "OpenSearch base URL.") var url: String
    @Option(help: "Folder for the spool (on the disk /tmp is on).") var folder = "/tmp"
    @Option(help: "Records to ship.") var records = 100_000
    @Option(help: "Document bytes per record.") var recordBytes = 250
    @Option(help: "Documents per bulk request.") var batchSize = 5_000

    func run() async throws {
        let telemetry = SyntheticTelemetry(recordBytes: recordBytes, startTime: UTCTime.nowMilliseconds())
        let suffix = String(UTCTime.nowMilliseconds())
        let spoolIndex = "bench-spool-\(suffix)"
        let directIndex = "bench-direct-\(suffix)"
        let configuration = OpenSearchConfiguration(endpoint: url, maxBatchCount: batchSize)
        let httpClient = OpenSearchClient.makeHTTPClient(configuration)
        let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }
        let client = OpenSearchClient(
            configuration: configuration, httpClient: httpClient, environment: [:], logger: logger)
        let path = "\(folder)/sluice-bench-ship-\(getpid()).sqlite"
        defer { for end in ["", "-wal", "-shm"] { unlink(path + end) } }

        let spool = try Spool.open(SpoolConfiguration(path: path, capBytes: 1 << 40))
        let shipper = Shipper(spool: spool, client: client, clock: .system, logger: logger) { _, _ in
            IndexDefinition.body(.logs)
        }
        _ = await client.ensureIndex(directIndex, definition: IndexDefinition.body(.logs))
        _ = await client.ensureIndex(spoolIndex, definition: IndexDefinition.body(.logs))

        // The server slows as it fills, so the two sides take turns: direct, shipper, shipper, direct.
        let half = records / 2
        var directTime = (wall: 0.0, cpu: 0.0)
        var shipTime = (wall: 0.0, cpu: 0.0)
        var indexed = 0
        for round in 0..<4 {
            let first = (round < 2 ? 0 : half)
            let numbers = first..<(first + half)
            if round == 0 || round == 3 {
                // Direct: the same documents, encoded and compressed as the shipper does, POSTed in turn.
                let direct = stride(from: numbers.lowerBound, to: numbers.upperBound, by: batchSize).map { start in
                    (start..<min(start + batchSize, numbers.upperBound)).map { number in
                        let record = telemetry.record(number, index: directIndex)
                        return BulkDocument(index: directIndex, id: record.id, body: record.document)
                    }
                }
                let start = (wall: monotonicSeconds(), cpu: cpuSeconds())
                for documents in direct {
                    guard case .items(let outcomes) = await client.bulk(documents),
                        outcomes.allSatisfy({ $0 == .indexed })
                    else { throw ValidationError("a direct bulk request failed") }
                }
                directTime.wall += monotonicSeconds() - start.wall
                directTime.cpu += cpuSeconds() - start.cpu
            } else {
                for chunk in stride(from: numbers.lowerBound, to: numbers.upperBound, by: 1000) {
                    try spool.append(
                        (chunk..<min(chunk + 1000, numbers.upperBound)).map { number in
                            let record = telemetry.record(number, index: spoolIndex)
                            return SpoolRecord(
                                id: record.id, index: spoolIndex, eventTime: record.time, document: record.document)
                        })
                }
                let start = (wall: monotonicSeconds(), cpu: cpuSeconds())
                indexed += try await shipper.drain(until: UTCTime.nowMilliseconds() + 600_000).indexed
                shipTime.wall += monotonicSeconds() - start.wall
                shipTime.cpu += cpuSeconds() - start.cpu
            }
        }
        await httpClient.shutdown()
        guard indexed == 2 * half else { throw ValidationError("shipped \(indexed) of \(2 * half)") }

        let directRate = Double(2 * half) / directTime.wall
        let shipRate = Double(2 * half) / shipTime.wall
        print("ship benchmark: \(records) records of \(recordBytes) bytes, \(batchSize) per bulk request, gzip")
        print("| figure | docs/s | CPU ms per 1000 docs | vs direct | target |")
        print("|---|---:|---:|---:|---|")
        print("| direct _bulk POSTs (encoded, gzip) | \(Int(directRate)) | \(perThousand(directTime.cpu)) | 1.00 | |")
        print(
            "| shipper: spool → _bulk → settle | \(Int(shipRate)) | \(perThousand(shipTime.cpu)) | "
                + "\(Measure.fixed(Measure.ratio(shipRate, directRate), places: 2)) | ≥ 0.85 |")
        let ratio = Measure.ratio(shipRate, directRate)
        Measure.summarize(
            "ship: spool → OpenSearch _bulk → settle, against direct bulk POSTs",
            Measure.against(shipRate, directRate, of: "direct", unit: "docs/s"),
            target: "≥ 0.85 of direct", met: ratio >= 0.85)
    }

    private func perThousand(_ seconds: Double) -> String {
        let value = seconds * 1000 / (Double(records) / 1000)
        return String(Double(Int(value * 10)) / 10)
    }
}

/// User plus system CPU time of this process, in seconds.
func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}
