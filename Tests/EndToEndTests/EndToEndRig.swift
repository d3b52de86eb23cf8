import AsyncHTTPClient
import Foundation
import LambdaSimulator
import SluiceSpool
import SluiceTestSupport
import Testing

/// The built `sluice` binary under the Lambda simulator, shipping through the fault proxy into the
/// local OpenSearch; everything the test's own (folder, ports, index names) and stopped afterwards.
struct EndToEndRig {
    let opensearch: ToolServer
    let proxy: FaultProxy
    let probe: OpenSearchProbe
    let folder: TemporaryFolder
    let prefix: String

    var platformIndex: String { "\(prefix)-platform" }
    var functionIndex: String { "\(prefix)-function" }
    var extensionIndex: String { "\(prefix)-extension" }
    var invocationIndex: String { "\(prefix)-invocations" }
    var spoolPath: String { folder.file("tmp/sluice/spool.sqlite") }

    /// Runs `body` with a rig and a simulator around the built binary. `environment` adds to (or
    /// overrides) the extension's variables; `configure` adjusts the simulated platform.
    static func with(
        environment: [String: String] = [:], configure: (inout SimulatorConfiguration) -> Void = { _ in },
        _ body: (EndToEndRig, LambdaSimulator) async throws -> Void
    ) async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        let rig = EndToEndRig(
            opensearch: opensearch, proxy: proxy,
            probe: OpenSearchProbe(url: opensearch.url, client: HTTPClient.shared),
            folder: try TemporaryFolder(), prefix: "e2e-" + UUID().uuidString.lowercased().prefix(10))
        // SLUICE_EXTENSION_BINARY runs another build of the extension, such as the layer's.
        let binary = try ProcessInfo.processInfo.environment["SLUICE_EXTENSION_BINARY"] ?? builtProduct("sluice")
        var configuration = SimulatorConfiguration(extensionPath: binary)
        configuration.environment = [
            "URL": proxy.url, "PLATFORM_INDEX": rig.platformIndex, "FUNCTION_INDEX": rig.functionIndex,
            "EXTENSION_INDEX": rig.extensionIndex, "INVOCATION_INDEX": rig.invocationIndex,
            "SLUICE_SPOOL_PATH": rig.spoolPath,
            // The shortest buffering Lambda allows keeps the tests quick; backoff short for the same reason.
            "SLUICE_BUFFER_TIMEOUT_MS": "25", "SLUICE_RETRY_BASE_MS": "50", "SLUICE_RETRY_CAP_MS": "1000",
            "SLUICE_REQUEST_TIMEOUT_MS": "3000",
        ].merging(environment) { $1 }
        // A sanitized build (tools/test --sanitize): the extension writes its reports into the
        // test's folder, and any report fails the test.
        // The sanitizers slow the extension several times over on two cores, so its SHUTDOWN phase
        // gets four times Lambda's 2 s: what is tested there is that it finishes its drain and exits
        // before the deadline it is given, not how much two seconds hold.
        let reports = rig.folder.file("sanitizer")
        for name in ["TSAN_OPTIONS", "ASAN_OPTIONS"] {
            if let options = ProcessInfo.processInfo.environment[name] {
                configuration.environment[name] = options + ":log_path=" + reports
                configuration.shutdownBudget = configuration.shutdownBudget * 4
            }
        }
        configure(&configuration)
        try await LambdaSimulator.with(configuration) { simulator in
            try await body(rig, simulator)
        }
        let written = (try? FileManager.default.contentsOfDirectory(atPath: rig.folder.path)) ?? []
        for file in written where file.hasPrefix("sanitizer") {
            let report = (try? String(contentsOfFile: rig.folder.file(file), encoding: .utf8)) ?? ""
            Issue.record("the sanitizer reported in the extension: \(report.prefix(4_000))")
        }
    }

    /// The spool's statistics, read as the CLI reads them.
    func statistics() throws -> SpoolStatistics {
        try Spool.open(SpoolConfiguration(path: spoolPath), access: .readOnly).statistics()
    }

    /// One key per event: type, time and the record in a canonical form.
    static func key(type: String, time: String, record: Any) throws -> String {
        let data = try JSONSerialization.data(
            withJSONObject: record, options: [.sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
        return type + " " + time + " " + String(decoding: data, as: UTF8.self)
    }

    /// How many documents of each event key the three indices hold.
    func indexedKeys() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for index in [platformIndex, functionIndex, extensionIndex] {
            for document in try await probe.documents(index).values {
                let key = try Self.key(
                    type: document["type"] as? String ?? "", time: document["time"] as? String ?? "",
                    record: document["record"] ?? NSNull())
                counts[key, default: 0] += 1
            }
        }
        return counts
    }

    /// Every event the platform saw acknowledged is in OpenSearch exactly once, and nothing is
    /// there twice. `except` leaves out acknowledged events that may be missing for a reason the
    /// test asserts itself (dropped by the spool cap, dead-lettered); it returns what is missing.
    @discardableResult
    func expectEveryAcknowledgedEventIndexedOnce(
        _ ledger: PlatformLedger, allowMissing: Int = 0, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int {
        var expected: [String: Int] = [:]
        for event in ledger.acknowledged {
            let record = try JSONSerialization.jsonObject(
                with: Data(event.record.serialized.utf8), options: .fragmentsAllowed)
            expected[try Self.key(type: event.type, time: event.time, record: record), default: 0] += 1
        }
        let indexed = try await waitForIndexed(expected, allowMissing: allowMissing)
        let duplicated = indexed.filter { $0.value > max(1, expected[$0.key] ?? 0) }
        #expect(
            duplicated.isEmpty, "indexed more than once: \(duplicated.keys.prefix(3))", sourceLocation: sourceLocation)
        var missing = 0
        for (key, count) in expected { missing += max(0, count - (indexed[key] ?? 0)) }
        let examples = expected.filter { $0.value > (indexed[$0.key] ?? 0) }.keys.sorted().prefix(1)
        let dead = (try? Spool.open(SpoolConfiguration(path: spoolPath), access: .readOnly).deadLetters()) ?? []
        #expect(
            missing <= allowMissing,
            "\(missing) acknowledged events missing, e.g. \(Array(examples)); dead letters: \(dead.count), first: \(dead.first.map { "\($0.errorType ?? "") \($0.reason)" } ?? "-")",
            sourceLocation: sourceLocation)
        #expect(!ledger.acknowledged.isEmpty, sourceLocation: sourceLocation)
        try await expectInvocationView(ledger, complete: allowMissing == 0, sourceLocation: sourceLocation)
        return missing
    }

    /// The invocation view against the platform's own account: every acknowledged function line
    /// that is in OpenSearch carries its invocation's request id (none for init and shutdown lines)
    /// and phase, however it was rendered; every acknowledged report has exactly one summary (at
    /// most one when `complete` is false: records may have been dropped), equal to the report, and
    /// no invocation has two.
    func expectInvocationView(
        _ ledger: PlatformLedger, complete: Bool, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        var byMarker: [String: [String: Any]] = [:]
        for document in try await probe.documents(functionIndex).values {
            guard let message = document["message"] as? String, let start = message.range(of: "marker-") else {
                continue
            }
            byMarker[String(message[start.lowerBound...].prefix(43))] = document
        }
        var wrong: [String] = []
        var linesByRequest: [String: Int] = [:]
        for event in ledger.acknowledged where event.type == "function" {
            if let requestId = event.requestId { linesByRequest[requestId, default: 0] += 1 }
            guard let marker = event.marker, let document = byMarker[marker] else { continue }
            let requestId = document["requestId"] as? String
            let phase = document["phase"] as? String
            if requestId != event.requestId || phase != event.phase?.rawValue {
                wrong.append(
                    "\(marker) at \(event.time) (delivery \(event.delivery)): \(requestId ?? "-")/\(phase ?? "-") for \(event.requestId ?? "-")/\(event.phase?.rawValue ?? "-")"
                )
            }
        }
        #expect(
            wrong.isEmpty, "\(wrong.count) lines tied to the wrong invocation, e.g. \(wrong.prefix(3))",
            sourceLocation: sourceLocation)

        let reports = try ledger.acknowledged(type: "platform.report").map { event in
            try #require(
                try JSONSerialization.jsonObject(with: Data(event.record.serialized.utf8)) as? [String: Any])
        }
        var summaries: [String: [[String: Any]]] = [:]
        let deadline = Date().addingTimeInterval(20)
        repeat {
            summaries = Dictionary(grouping: try await probe.documents(invocationIndex).values) {
                $0["requestId"] as? String ?? ""
            }
            let found = reports.filter { summaries[$0["requestId"] as? String ?? ""] != nil }.count
            if !complete || found == reports.count { break }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        let twice = summaries.filter { $0.value.count > 1 }.keys
        #expect(twice.isEmpty, "invocations with two summaries: \(twice.prefix(3))", sourceLocation: sourceLocation)
        var unequal: [String] = []
        var absent = 0
        for report in reports {
            let requestId = report["requestId"] as? String ?? ""
            guard let summary = summaries[requestId]?.first else {
                absent += 1
                continue
            }
            let metrics = report["metrics"] as? [String: Any] ?? [:]
            func number(_ value: Any?) -> Double? { (value as? NSNumber)?.doubleValue }
            var differences: [String] = []
            for name in [
                "durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs",
                "restoreDurationMs",
            ]
            where number(metrics[name]) != number(summary[name]) {
                differences.append("\(name) \(metrics[name] ?? "-") ≠ \(summary[name] ?? "-")")
            }
            if summary["status"] as? String != report["status"] as? String { differences.append("status") }
            let cold = metrics["initDurationMs"] != nil || metrics["restoreDurationMs"] != nil
            if summary["coldStart"] as? Bool != cold { differences.append("coldStart") }
            if complete, number(summary["logLines"]) != Double(linesByRequest[requestId] ?? 0) {
                differences.append("logLines \(summary["logLines"] ?? "-") ≠ \(linesByRequest[requestId] ?? 0)")
            }
            if !differences.isEmpty { unequal.append("\(requestId): \(differences.joined(separator: ", "))") }
        }
        #expect(
            !complete || absent == 0, "\(absent) of \(reports.count) reports have no summary",
            sourceLocation: sourceLocation)
        #expect(unequal.isEmpty, "summaries unlike their report: \(unequal.prefix(3))", sourceLocation: sourceLocation)
    }

    /// Reads the indices until they hold what is expected (shipping may still be under way), for a
    /// bounded time; returns the last reading.
    private func waitForIndexed(_ expected: [String: Int], allowMissing: Int) async throws -> [String: Int] {
        var indexed: [String: Int] = [:]
        let deadline = Date().addingTimeInterval(20)
        repeat {
            indexed = try await indexedKeys()
            var missing = 0
            for (key, count) in expected { missing += max(0, count - (indexed[key] ?? 0)) }
            if missing <= allowMissing { return indexed }
            try await Task.sleep(for: .milliseconds(200))
        } while Date() < deadline
        return indexed
    }

    /// No invocation failed or timed out because of the extension.
    func expectNoInvocationHarmed(_ ledger: PlatformLedger, sourceLocation: SourceLocation = #_sourceLocation) {
        let harmed = ledger.invocations.filter { $0.status != .success }
        #expect(harmed.isEmpty, "\(harmed.map(\.requestId))", sourceLocation: sourceLocation)
    }
}
