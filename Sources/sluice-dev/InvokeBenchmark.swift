import ArgumentParser
import AsyncHTTPClient
import FoundationEssentials
import LambdaSimulator
import NIOCore
import NIOHTTP1
import SluiceSpool

#if canImport(Glibc)
    import Glibc
#endif

/// What each flush policy costs the function and what it leaves behind: the time the extension
/// adds to each invocation (runtime done → its `/next`), measured by the simulator, and what is
/// still in the spool when the environment shuts down.
struct InvokeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-invoke",
        abstract: "Added invocation time per flush policy, under the simulator, into a local OpenSearch.")

    @Option(help: "The sluice binary (the extension).") var sluice: String
    @Option(help: "The local OpenSearch.") var url: String
    @Option(help: "Invocations per policy.") var invocations = 200
    @Option(help: "Function log lines per invocation.") var lines = 10
    @Option(help: "Handler duration, milliseconds.") var handlerMilliseconds = 5
    @Option(help: "Frozen time between invocations, milliseconds.") var idleMilliseconds = 20
    @Option(help: "Folder for the simulated environments' /tmp.") var folder = "/tmp"
    @Option(parsing: .upToNextOption, help: "Policies to measure.") var policies = ["background", "end", "periodic:1"]
    @Option(
        parsing: .upToNextOption,
        help: "Memory sizes (MB) whose CPU share the extension then gets, as Lambda gives it, for the default policy.")
    var shares = [128, 512, 1_769]
    @Option(help: "Also print this many of the slowest invocations of each run (their place in the run, added time).")
    var slowest = 0

    func run() async throws {
        print(
            "added invocation time: \(invocations) invocations of \(handlerMilliseconds) ms with \(lines) log lines, "
                + "\(idleMilliseconds) ms frozen between them, then SHUTDOWN")
        print("| policy | p50 | p99 | max | init | shutdown | left in spool at shutdown | missing in OpenSearch |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for policy in policies {
            try await measure(policy)
        }
        guard !shares.isEmpty else { return }
        print()
        print("the default policy (background) with the extension on the CPU share of a function's memory size:")
        print(
            "| memory size (CPU share) | p50 | p99 | max | init | shutdown | left in spool at shutdown | missing in OpenSearch |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for memory in shares {
            try await measure("background", memorySizeMB: memory)
        }
    }

    private func measure(_ policy: String, memorySizeMB: Int? = nil) async throws {
        let tag = policy.replacing(":", with: "-") + (memorySizeMB.map { "-\($0)mb" } ?? "")
        let prefix = "bench-\(getpid())-\(tag)"
        let tmp = "\(folder)/sluice-bench-invoke-\(getpid())-\(tag)"
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        var configuration = SimulatorConfiguration(extensionPath: sluice)
        configuration.environment = [
            "URL": url, "PLATFORM_INDEX": "\(prefix)-platform", "FUNCTION_INDEX": "\(prefix)-function",
            "EXTENSION_INDEX": "\(prefix)-extension", "SLUICE_SPOOL_PATH": tmp + "/sluice/spool.sqlite",
            "SLUICE_FLUSH": policy,
        ]
        if let memorySizeMB {
            configuration.memorySizeMB = memorySizeMB
            configuration.limitsCPUByMemory = true
        }
        let ledger = try await LambdaSimulator.with(configuration) { simulator in
            try await simulator.start()
            for _ in 0..<invocations {
                try await simulator.invoke(logLines: lines, handlerDuration: .milliseconds(handlerMilliseconds))
                try await simulator.idle(for: .milliseconds(idleMilliseconds))
            }
            try await simulator.shutdown()
            return await simulator.ledger()
        }
        let added = ledger.invocations.compactMap(\.addedTime).map(Measure.milliseconds).sorted()
        if slowest > 0 {
            let places = ledger.invocations.enumerated().compactMap { place, invocation in
                invocation.addedTime.map { (place, Measure.milliseconds($0)) }
            }
            let worst = places.sorted { $0.1 > $1.1 }.prefix(slowest)
            print("slowest: " + worst.map { "#\($0.0) \(Measure.fixed($0.1, places: 2)) ms" }.joined(separator: ", "))
        }
        func at(_ share: Double) -> String { Measure.percentile(added, share) }
        let initTime = ledger.initializations.first.map {
            Measure.fixed(Measure.milliseconds($0.duration), places: 0) + " ms"
        }
        let shutdown = ledger.shutdowns.last.map { Measure.fixed(Measure.milliseconds($0.duration), places: 0) + " ms" }
        let indexed = try await count("\(prefix)-function")
        let left = try Spool.open(SpoolConfiguration(path: tmp + "/sluice/spool.sqlite"), access: .readOnly)
            .statistics().counters.leftAtShutdown
        let label = memorySizeMB.map { "\($0) MB (\(Measure.fixed(Double($0) / 1_769, places: 3)) vCPU)" } ?? policy
        print(
            "| \(label) | \(at(0.5)) | \(at(0.99)) | \(added.last.map(Measure.milliseconds) ?? "-") "
                + "| \(initTime ?? "-") | \(shutdown ?? "-") | \(left) | \(ledger.acknowledgedMarkers.count - indexed) |"
        )
        let missing = ledger.acknowledgedMarkers.count - indexed
        let p99 = Measure.value(at: 0.99, of: added) ?? .infinity
        let value = "p50 \(at(0.5)), p99 \(at(0.99)); \(missing) missing"
        if let memorySizeMB {
            let figure =
                "added invocation time at the \(memorySizeMB) MB CPU share, \(policy) (runtime done → /next, "
                + "\(invocations) invocations)"
            if memorySizeMB == 128 {
                Measure.summarize(figure, value, target: "p99 ≤ 5 ms, none missing", met: p99 <= 5 && missing == 0)
            } else {
                Measure.summarize(figure, value)
            }
            return
        }
        let figure = "added invocation time, \(policy) (runtime done → /next, \(invocations) invocations)"
        switch policy {
        case "background": Measure.summarize(figure, value, target: "p99 ≤ 2 ms", met: p99 <= 2 && missing == 0)
        case "end":
            Measure.summarize(figure, value, target: "p99 within the 100 ms budget", met: p99 <= 100 && missing == 0)
        default: Measure.summarize(figure, value)
        }
    }

    private func count(_ index: String) async throws -> Int {
        var refresh = HTTPClientRequest(url: "\(url)/\(index)/_refresh")
        refresh.method = .POST
        _ = try await HTTPClient.shared.execute(refresh, timeout: .seconds(30)).body.collect(upTo: 1 << 20)
        let response = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "\(url)/\(index)/_count"), timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Int(JSON.parse(Array(buffer: body))?["count"]?.numberValue ?? 0)
    }
}
