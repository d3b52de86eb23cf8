import ArgumentParser
import AsyncHTTPClient
import Foundation
import LambdaSimulator
import NIOCore
import NIOHTTP1
import SluiceOpenSearch

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
        let url = try tool("url").trimmingCharacters(in: .whitespacesAndNewlines)
        let indices = ["demo-platform", "demo-function", "demo-extension"]
        var configuration = SimulatorConfiguration(extensionPath: sluice)
        configuration.functionName = "orders-demo"
        configuration.environment = [
            "URL": url, "PLATFORM_INDEX": indices[0], "FUNCTION_INDEX": indices[1], "EXTENSION_INDEX": indices[2],
            "SLUICE_SPOOL_PATH": tmp + "/sluice/spool.sqlite", "SLUICE_BUFFER_TIMEOUT_MS": "100",
            "SLUICE_RETRY_BASE_MS": "100", "SLUICE_RETRY_CAP_MS": "2000", "SLUICE_REQUEST_TIMEOUT_MS": "3000",
        ]
        let killAt = invocations / 3
        let downFrom = invocations / 2
        let downUntil = downFrom + max(1, invocations / 15)
        print("a simulated function: \(invocations) invocations with random freezes; kill -9 of the extension at")
        print("invocation \(killAt); OpenSearch stopped at \(downFrom) and restarted at \(downUntil)\n")

        var random = SystemRandomNumberGenerator()
        var dump: [[String: Any]] = []
        let started = Date()
        let ledger = try await LambdaSimulator.with(configuration) { simulator in
            try await simulator.start()
            for invocation in 0..<invocations {
                let lines = Int.random(in: 1...12, using: &random)
                if invocation == killAt {
                    async let running = try? simulator.invoke(logLines: lines, handlerDuration: .milliseconds(30))
                    try await Task.sleep(for: .milliseconds(Int.random(in: 5...40, using: &random)))
                    await simulator.kill9()
                    _ = await running
                    progress(invocation, "kill -9 of the extension; the next invoke starts it again")
                } else {
                    try await simulator.invoke(
                        logLines: lines, handlerDuration: .milliseconds(Int.random(in: 2...25, using: &random)))
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
        try await report(ledger, url: url, indices: indices, seconds: Date().timeIntervalSince(started))
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
        for document in documents {
            perIndex[document["_index"] as? String ?? "?", default: 0] += 1
            let source = document["_source"] as? [String: Any] ?? [:]
            if let message = source["message"] as? String,
                let range = message.range(of: #"marker-[0-9a-f-]{36}"#, options: .regularExpression)
            {
                markers[String(message[range]), default: 0] += 1
            }
        }
        let acknowledged = ledger.acknowledgedMarkers
        let missing = acknowledged.filter { markers[$0] == nil }.count
        let duplicated = markers.values.filter { $0 > 1 }.count
        let added = ledger.invocations.compactMap(\.addedTime).map(InvokeBenchmark.milliseconds).sorted()
        func percentile(_ p: Double) -> String {
            added.isEmpty ? "-" : String(format: "%.2f ms", added[min(added.count - 1, Int(Double(added.count) * p))])
        }
        print("what happened (\(String(format: "%.0f", seconds)) s)")
        print(
            "  invocations                  \(ledger.invocations.count) (\(ledger.invocations.filter { $0.status != .success }.count) failed or timed out)"
        )
        print("  extension starts             \(ledger.initializations.count) (one after the kill -9)")
        print("  telemetry events emitted     \(ledger.emitted)")
        print(
            "  acknowledged (answered 2xx)  \(ledger.acknowledged.count) (deliveries tried again after a failure: \(ledger.failedDeliveries))"
        )
        print("  function log lines           \(acknowledged.count) acknowledged, \(markers.count) in OpenSearch")
        print("  missing in OpenSearch        \(missing)")
        print("  duplicates in OpenSearch     \(duplicated)")
        print("  time added per invocation    p50 \(percentile(0.5)), p99 \(percentile(0.99))")
        print("  documents per index")
        for index in indices {
            print("    \(index)".padding(toLength: 31, withPad: " ", startingAt: 0) + "\(perIndex[index] ?? 0)")
        }
        print("\nsample documents")
        for index in indices {
            guard let sample = documents.last(where: { $0["_index"] as? String == index }),
                let source = sample["_source"]
            else { continue }
            let data = try JSONSerialization.data(
                withJSONObject: source, options: [.sortedKeys, .withoutEscapingSlashes])
            print("  \(index): \(String(decoding: data.prefix(400), as: UTF8.self))\(data.count > 400 ? "…" : "")")
        }
        if missing > 0 || duplicated > 0 { throw ExitCode(1) }
    }

    /// Every document of `indices`, with `_index`, `_id` and `_source`.
    private func documents(_ url: String, _ indices: [String]) async throws -> [[String: Any]] {
        var out: [[String: Any]] = []
        for index in indices {
            _ = try await call(.POST, url + "/\(index)/_refresh", nil)
            let body = try await call(.POST, url + "/\(index)/_search", #"{"size":10000,"query":{"match_all":{}}}"#)
            let hits =
                (((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["hits"] as? [String: Any])?[
                    "hits"] as? [[String: Any]]
            out += hits ?? []
        }
        return out
    }

    /// Starts OpenSearch again on the same port and puts back its indices (with Sluice's mappings)
    /// and documents, while the extension is frozen.
    private func restart(_ url: String, _ indices: [String], _ dump: [[String: Any]]) async throws {
        let port = url.split(separator: ":").last.map(String.init) ?? ""
        _ = try tool("start", "--parent-pid", String(getppid()), "--", "-addr", "127.0.0.1:\(port)")
        for index in indices {
            let kind: IndexDefinition.Kind = index.hasSuffix("-platform") ? .platform : .logs
            _ = try await call(.PUT, url + "/\(index)", String(decoding: IndexDefinition.body(kind), as: UTF8.self))
        }
        var bulk = ""
        for document in dump {
            let action = ["create": ["_index": document["_index"] ?? "", "_id": document["_id"] ?? ""]]
            let actionData = try JSONSerialization.data(withJSONObject: action)
            let sourceData = try JSONSerialization.data(withJSONObject: document["_source"] ?? [:])
            bulk +=
                String(decoding: actionData, as: UTF8.self) + "\n" + String(decoding: sourceData, as: UTF8.self) + "\n"
        }
        if !bulk.isEmpty { _ = try await call(.POST, url + "/_bulk", bulk, contentType: "application/x-ndjson") }
    }

    private func call(
        _ method: HTTPMethod, _ url: String, _ body: String?, contentType: String = "application/json"
    )
        async throws -> Data
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        return Data(Array(buffer: try await response.body.collect(upTo: 256 << 20)))
    }

    /// Runs `tools/opensearch COMMAND --dir DIR [ARGS]` and returns what it printed.
    private func tool(_ command: String, _ arguments: String...) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: opensearchTool)
        var argv = [command, "--dir", opensearchDir]
        if let split = arguments.firstIndex(of: "--") {
            argv += Array(arguments[..<split]) + ["--"] + Array(arguments[arguments.index(after: split)...])
        } else {
            argv += arguments
        }
        process.arguments = argv
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("\(opensearchTool) \(command) failed (exit \(process.terminationStatus))")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
