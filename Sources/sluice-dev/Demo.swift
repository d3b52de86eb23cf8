import ArgumentParser
import AsyncHTTPClient
import FoundationEssentials
import LambdaSimulator
import NIOCore
import NIOHTTP1
import SluiceForwarder
import SluiceIngest
import SluiceOpenSearch

#if canImport(Glibc)
    import Glibc
#endif

/// The demo: a simulated function with the real extension, freezes between invocations, one kill -9
/// and an OpenSearch restart; then what reached OpenSearch against what the platform delivered.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run a simulated Lambda function with the real extension into OpenSearch.")

    @Option(help: "The sluice binary (the extension).") var sluice: String
    @Option(help: "The local OpenSearch's state folder, for `tools/opensearch` (to restart it).") var opensearchDir:
        String
    @Option(help: "The `tools/opensearch` script.") var opensearchTool = "tools/opensearch"
    @Option(help: "Invocations to run.") var invocations = 300
    @Option(help: "The simulated environment's /tmp.") var tmp: String

    func run() async throws {
        let url = String(try tool("url").filter { !$0.isWhitespace })
        let indices = ["demo-platform", "demo-function", "demo-extension", "demo-invocations"]
        var configuration = SimulatorConfiguration(extensionPath: sluice)
        configuration.functionName = "orders-demo"
        configuration.environment = [
            "URL": url, "PLATFORM_INDEX": indices[0], "FUNCTION_INDEX": indices[1], "EXTENSION_INDEX": indices[2],
            "INVOCATION_INDEX": indices[3],
            "SLUICE_SPOOL_PATH": tmp + "/sluice/spool.sqlite", "SLUICE_BUFFER_TIMEOUT_MS": "100",
            "SLUICE_RETRY_BASE_MS": "100", "SLUICE_RETRY_CAP_MS": "2000", "SLUICE_REQUEST_TIMEOUT_MS": "3000",
        ]
        let killAt = invocations / 3
        let downFrom = invocations / 2
        let downUntil = downFrom + max(1, invocations / 15)
        print("a simulated function: \(invocations) invocations with random freezes; kill -9 of the extension at")
        print("invocation \(killAt); OpenSearch stopped at \(downFrom) and restarted at \(downUntil)\n")

        var random = SystemRandomNumberGenerator()
        var dump: [JSON] = []
        let started = ContinuousClock.now
        let ledger = try await LambdaSimulator.with(configuration) { simulator in
            try await simulator.start()
            for invocation in 0..<invocations {
                // Lines as a Node.js handler writes them, a print() with no request id, and one
                // written by background work after the response; every 25th invocation fails.
                var script = InvocationScript(
                    lines: FunctionLogLine.numbered(Int.random(in: 1...10, using: &random)) + [
                        .print("print() from invocation \(invocation + 1)"),
                        FunctionLogLine("background work done", afterRuntimeDone: true),
                    ],
                    handlerDuration: .milliseconds(Int.random(in: 2...25, using: &random)))
                if invocation % 25 == 24 { script.outcome = .error(errorType: "Runtime.UnhandledPromiseRejection") }
                if invocation == killAt {
                    script.handlerDuration = .milliseconds(30)
                    async let running = try? simulator.invoke(script)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 5...40, using: &random)))
                    await simulator.kill9()
                    _ = await running
                    progress(invocation, "kill -9 of the extension; the next invoke starts it again")
                } else {
                    try await simulator.invoke(script)
                }
                if invocation == downFrom {
                    // The extension is frozen now; keep what OpenSearch holds, as a real cluster would.
                    dump = try await documents(url, indices)
                    _ = try tool("stop")
                    progress(invocation, "OpenSearch stopped (\(dump.count) documents kept for the restart)")
                }
                if invocation == downUntil {
                    try await restart(url, indices, dump)
                    progress(invocation, "OpenSearch restarted on the same port with its documents")
                }
                try await simulator.idle(for: .milliseconds(Int.random(in: 0...60, using: &random)))
                if invocation % 10 == 9 { progress(invocation, nil) }
            }
            try await simulator.shutdown()
            return await simulator.ledger()
        }
        print("\r\u{1B}[K")
        try await report(
            ledger, url: url, indices: indices, seconds: Measure.milliseconds(ContinuousClock.now - started) / 1000)
    }

    private func progress(_ invocation: Int, _ event: String?) {
        if let event {
            print("\r\u{1B}[K  invocation \(invocation + 1): \(event)")
        } else {
            print("\r\u{1B}[K  \(invocation + 1) of \(invocations) invocations", terminator: "")
            fflush(nil)
        }
    }

    private func report(_ ledger: PlatformLedger, url: String, indices: [String], seconds: Double) async throws {
        let documents = try await self.documents(url, indices)
        var perIndex: [String: Int] = [:]
        var markers: [String: Int] = [:]
        let marker = try Regex("marker-[0-9a-f-]{36}")
        for document in documents {
            perIndex[document["_index"]?.stringValue ?? "?", default: 0] += 1
            if let message = document["_source"]?["message"]?.stringValue, let found = message.firstMatch(of: marker) {
                markers[String(message[found.range]), default: 0] += 1
            }
        }
        let acknowledged = ledger.acknowledgedMarkers
        let missing = acknowledged.filter { markers[$0] == nil }.count
        let duplicated = markers.values.filter { $0 > 1 }.count
        let added = ledger.invocations.compactMap(\.addedTime).map(Measure.milliseconds).sorted()
        // Harmed: worse than the function itself made it (its own errors are not the extension's).
        let harmed = ledger.invocations.filter { $0.status != ($0.runtimeStatus ?? .success) }.count
        // The invocation view: each line's request id against the platform's, one summary a report.
        var byMarker: [String: String?] = [:]
        for document in documents where document["_index"]?.stringValue == indices[1] {
            if let message = document["_source"]?["message"]?.stringValue, let found = message.firstMatch(of: marker) {
                byMarker[String(message[found.range])] = document["_source"]?["requestId"]?.stringValue
            }
        }
        let lines = ledger.acknowledged.filter { $0.type == "function" && $0.marker != nil }
        let tied = lines.filter { line in byMarker[line.marker!].map { $0 == line.requestId } ?? false }.count
        let summaries = documents.filter { $0["_index"]?.stringValue == indices[3] }
        let reports = ledger.acknowledged(type: "platform.report").count
        // Summarised at SHUTDOWN with what was known: no report, so no `end`.
        let unreported = summaries.filter { $0["_source"]?["end"] == nil }.count
        func row(_ label: String, _ value: String) { print("  " + label + pad(label, 29) + value) }
        print("what happened (\(Measure.fixed(seconds, places: 0)) s)")
        row("invocations", "\(ledger.invocations.count) (\(harmed) failed or timed out)")
        row("extension starts", "\(ledger.initializations.count) (one after the kill -9)")
        row("telemetry events emitted", "\(ledger.emitted)")
        row(
            "acknowledged (answered 2xx)",
            "\(ledger.acknowledged.count) (deliveries tried again after a failure: \(ledger.failedDeliveries))")
        row("function log lines", "\(acknowledged.count) acknowledged, \(markers.count) in OpenSearch")
        row("missing in OpenSearch", "\(missing)")
        row("duplicates in OpenSearch", "\(duplicated)")
        row("lines with their invocation", "\(tied) of \(lines.count) (request id as the platform knows it)")
        row("invocation summaries", "\(summaries.count) for \(reports) reports (\(unreported) without a report)")
        row(
            "time added per invocation",
            "p50 \(Measure.percentile(added, 0.5)), p99 \(Measure.percentile(added, 0.99))")
        print("  documents per index")
        for index in indices { row("  " + index, "\(perIndex[index] ?? 0)") }
        try await dashboardView(url, invocations: indices[3])
        print("\nsample documents")
        for index in indices {
            guard let source = documents.last(where: { $0["_index"]?.stringValue == index })?["_source"] else {
                continue
            }
            let text = source.serialized
            print("  \(index): \(text.prefix(400))\(text.count > 400 ? "…" : "")")
        }
        if missing > 0 || duplicated > 0 || tied < lines.count { throw ExitCode(1) }
    }

    /// Three of the dashboard's panels, from their own aggregations (`LambdaDashboard`), as the
    /// local OpenSearch answers them: proof that the queries work on what the extension wrote.
    private func dashboardView(_ url: String, invocations index: String) async throws {
        func answer(_ id: String) async throws -> JSON? {
            guard let visualization = LambdaDashboard.visualizations.first(where: { $0.id == id }) else { return nil }
            let body = LambdaDashboard.searchRequest(visualization, interval: "1d").text
            return JSON.parse(try await call(.POST, url + "/\(index)/_search", body))
        }
        func row(_ label: String, _ value: String) { print("  " + label + pad(label, 29) + value) }
        print("\nthe Lambda overview dashboard's panels, as OpenSearch answers their queries")
        // Invocations by status: a date histogram (2), by status (3).
        var statuses: [String: Int] = [:]
        for day in try await answer("sluice-invocations-by-status")?["aggregations"]?["2"]?["buckets"]?.arrayValue ?? []
        {
            for bucket in day["3"]?["buckets"]?.arrayValue ?? [] {
                statuses[bucket["key"]?.stringValue ?? "?", default: 0] += Int(bucket["doc_count"]?.numberValue ?? 0)
            }
        }
        let total = max(1, statuses.values.reduce(0, +))
        for (status, count) in statuses.sorted(by: { $0.value > $1.value }) {
            let bar = String(repeating: "█", count: max(1, count * 40 / total))
            row("invocations, \(status)", "\(count) \(bar)")
        }
        // Duration percentiles (1) per day (2).
        for day in try await answer("sluice-duration")?["aggregations"]?["2"]?["buckets"]?.arrayValue ?? [] {
            let values = day["1"]?["values"]
            let text = ["50.0", "95.0", "99.0"].map { key in
                "p\(key.dropLast(2)) \(Measure.fixed(values?[key]?.numberValue ?? 0, places: 1))"
            }
            row("duration, ms", text.joined(separator: ", "))
        }
        // Cold starts: a count and the average init duration (2) per day (3).
        let cold = try await answer("sluice-cold-starts")
        let initMs =
            cold?["aggregations"]?["3"]?["buckets"]?.arrayValue?.compactMap { $0["2"]?["value"]?.numberValue } ?? []
        row(
            "cold starts",
            "\(Int(cold?["hits"]?["total"]?["value"]?.numberValue ?? 0)), init \(Measure.fixed(initMs.first ?? 0, places: 1)) ms on average"
        )
    }

    private func pad(_ label: String, _ width: Int) -> String {
        String(repeating: " ", count: max(1, width - label.count))
    }

    /// Every document of `indices`, with `_index`, `_id` and `_source`.
    private func documents(_ url: String, _ indices: [String]) async throws -> [JSON] {
        var out: [JSON] = []
        for index in indices {
            _ = try await call(.POST, url + "/\(index)/_refresh", nil)
            let body = try await call(.POST, url + "/\(index)/_search", #"{"size":10000,"query":{"match_all":{}}}"#)
            out += JSON.parse(body)?["hits"]?["hits"]?.arrayValue ?? []
        }
        return out
    }

    /// Starts OpenSearch again on the same port and puts back its indices (with Sluice's mappings)
    /// and documents, while the extension is frozen.
    private func restart(_ url: String, _ indices: [String], _ dump: [JSON]) async throws {
        let port = url.split(separator: ":").last.map(String.init) ?? ""
        _ = try tool("start", "--parent-pid", String(getppid()), "--", "-addr", "127.0.0.1:\(port)")
        for index in indices {
            let kind: IndexDefinition.Kind =
                index.hasSuffix("-platform") ? .platform : index.hasSuffix("-invocations") ? .invocations : .logs
            _ = try await call(.PUT, url + "/\(index)", String(decoding: IndexDefinition.body(kind), as: UTF8.self))
        }
        var bulk = ""
        for document in dump {
            let action: JSON = ["create": ["_index": document["_index"] ?? .null, "_id": document["_id"] ?? .null]]
            bulk += action.serialized + "\n" + (document["_source"] ?? [:]).serialized + "\n"
        }
        if !bulk.isEmpty { _ = try await call(.POST, url + "/_bulk", bulk, contentType: "application/x-ndjson") }
    }

    private func call(
        _ method: HTTPMethod, _ url: String, _ body: String?, contentType: String = "application/json"
    )
        async throws -> [UInt8]
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return Array(buffer: try await response.body.collect(upTo: 256 << 20))
    }

    /// Runs `tools/opensearch COMMAND --dir DIR [ARGS]` and returns what it printed.
    private func tool(_ command: String, _ arguments: String...) throws -> String {
        let (status, output) = try Subprocess.run(opensearchTool, [command, "--dir", opensearchDir] + arguments)
        guard status == 0 else { throw ValidationError("\(opensearchTool) \(command) failed (exit \(status))") }
        return output
    }
}
