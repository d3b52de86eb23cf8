import Foundation
import LambdaSimulator
import SluiceSpool
import SluiceTestSupport
import Testing

/// The ingest rules under the simulator with the built binary: lines holding each kind of secret,
/// lines a rule excludes and lines below the minimum level. After the run no secret is in any
/// OpenSearch document nor in the bytes of the spool file and its WAL; what was dropped is absent
/// and counted; every other line is there once, with its labels.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct IngestRulesEndToEndTests {
    static let secrets: [(text: String, secret: String, placeholder: String)] = [
        ("signed up jane.doe@example.com", "jane.doe@example.com", "[MASKED:email]"),
        ("request from 203.0.113.77 accepted", "203.0.113.77", "[MASKED:ipv4]"),
        ("charged 4111-1111-1111-1111 ok", "4111-1111-1111-1111", "[MASKED:credit-card]"),
        ("using key AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "[MASKED:aws-access-key]"),
        (
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY set",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "[MASKED:aws-secret-key]"
        ),
        (
            "session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLWJ5dGVz end",
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLWJ5dGVz", "[MASKED:jwt]"
        ),
        ("Authorization: Bearer sk-live-0123456789abcdef", "sk-live-0123456789abcdef", "[MASKED:bearer]"),
        ("ssn 123-45-6789 on file", "123-45-6789", "[SSN]"),
    ]

    static let rules = #"""
        [{"type":"mask_sequences","name":"ssn","pattern":"\\d{3}-\\d{2}-\\d{4}","replace_placeholder":"[SSN]"},
         {"type":"exclude_at_match","name":"health","pattern":"GET /health"}]
        """#

    @Test(arguments: [SimulatorConfiguration.LogFormat.text, .json])
    func secretsNeverReachTheSpoolOrOpenSearchAndDroppedLinesAreCounted(
        format: SimulatorConfiguration.LogFormat
    ) async throws {
        try await EndToEndRig.with(
            environment: [
                "SLUICE_MASK": "all", "SLUICE_RULES": Self.rules, "SLUICE_MIN_LEVEL": "INFO",
                "SLUICE_LABELS": "team=payments,env=e2e",
            ],
            configure: { $0.logFormat = format }
        ) { rig, simulator in
            try await simulator.start()
            var killed: String?
            for number in 0..<6 {
                var lines: [FunctionLogLine] = []
                for (position, secret) in Self.secrets.enumerated() {
                    let style: FunctionLogLine.Style = [.node, .python, .print][(number + position) % 3]
                    // JSON lines carry the secret in a field of their own too.
                    lines.append(
                        FunctionLogLine(
                            secret.text, style: style, level: "WARN", fields: ["detail": .string(secret.text)]))
                }
                lines.append(FunctionLogLine("GET /health 200 in 2 ms"))
                lines.append(FunctionLogLine("cache miss detail", level: "DEBUG"))
                lines.append(FunctionLogLine("order 4111111111111112 shipped"))
                if number == 3 {
                    // kill -9 in the middle of an invocation: the counters and the health documents
                    // are spool state, changed with the deliveries, so they come out exact.
                    async let running = try? simulator.invoke(InvocationScript(lines: lines))
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...30)))
                    await simulator.kill9()
                    killed = await running?.requestId
                } else {
                    try await simulator.invoke(InvocationScript(lines: lines))
                }
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            // The invocation the kill hit may fail as the extension's crash; no other may.
            let harmed = ledger.invocations.filter { $0.status != .success && $0.requestId != killed }
            #expect(harmed.isEmpty, "\(harmed.map(\.requestId))")

            // Every function line is where the rules say, once.
            let functionLines = ledger.acknowledged.filter { $0.type == "function" }
            let kept = functionLines.filter { event in
                let text = event.record.serialized
                return !text.contains("GET /health") && event.level?.uppercased() != "DEBUG"
            }
            #expect(kept.count < functionLines.count)
            var byMarker: [String: [[String: Any]]] = [:]
            let deadline = Date().addingTimeInterval(20)
            repeat {
                byMarker = [:]
                for document in try await rig.probe.documents(rig.functionIndex).values {
                    guard let message = document["message"] as? String, let start = message.range(of: "marker-") else {
                        continue
                    }
                    byMarker[String(message[start.lowerBound...].prefix(43)), default: []].append(document)
                }
                if byMarker.count >= kept.count { break }
                try await Task.sleep(for: .milliseconds(200))
            } while Date() < deadline
            #expect(byMarker.count == kept.count, "every kept line, and only those, indexed")
            #expect(byMarker.values.allSatisfy { $0.count == 1 }, "none twice")
            for event in functionLines {
                let found = event.marker.flatMap { byMarker[$0]?.first }
                let isKept = kept.contains { $0.marker == event.marker }
                #expect((found != nil) == isKept, "\(event.record.serialized)")
                guard let found, let message = found["message"] as? String else { continue }
                let original = event.record.serialized
                for secret in Self.secrets where original.contains(secret.secret) {
                    #expect(message.contains(secret.placeholder), "\(message)")
                }
                if original.contains("4111111111111112") {
                    #expect(message.contains("4111111111111112"), "a Luhn-failing order number stays")
                }
                let labels = found["labels"] as? [String: Any]
                #expect(labels?["team"] as? String == "payments")
            }

            // No secret in any document of any index, in any field.
            for index in [rig.functionIndex, rig.extensionIndex, rig.platformIndex, rig.invocationIndex] {
                let documents = try await rig.probe.documents(index).values
                #expect(!documents.isEmpty, "\(index)")
                for document in documents {
                    let text = String(
                        decoding: try JSONSerialization.data(
                            withJSONObject: document, options: .withoutEscapingSlashes),
                        as: UTF8.self)
                    for secret in Self.secrets { #expect(!text.contains(secret.secret), "\(index): \(text)") }
                    #expect((document["labels"] as? [String: Any])?["env"] as? String == "e2e", "\(index)")
                    #expect(document["accountId"] as? String == "123456789012", "\(index)")
                    #expect((document["memorySizeMB"] as? NSNumber)?.intValue == 128, "\(index)")
                    #expect(document["runtime"] as? String == "nodejs22.x", "\(index)")
                    #expect(document["architecture"] as? String != nil, "\(index)")
                    // Lambda gives extensions no AWS_LAMBDA_LOG_GROUP_NAME: no log group to tell.
                    #expect(document["logGroup"] == nil, "\(index)")
                }
            }
            // The labels are keywords: a term query and a terms aggregation find them.
            let (_, found) = try await rig.probe.call(
                .POST, "/\(rig.invocationIndex)/_search",
                #"{"size":0,"query":{"term":{"labels.team":"payments"}},"aggs":{"env":{"terms":{"field":"labels.env"}}}}"#
            )
            let aggregations = (found as? [String: Any])?["aggregations"] as? [String: Any]
            let buckets = (aggregations?["env"] as? [String: Any])?["buckets"] as? [[String: Any]]
            #expect(buckets?.first?["key"] as? String == "e2e")
            #expect((buckets?.first?["doc_count"] as? NSNumber)?.intValue == ledger.invocations.count)

            // Nor anywhere in the bytes of the spool file and its WAL.
            for path in [rig.spoolPath, rig.spoolPath + "-wal"] {
                guard let bytes = FileManager.default.contents(atPath: path) else { continue }
                for secret in Self.secrets {
                    #expect(bytes.range(of: Data(secret.secret.utf8)) == nil, "\(secret.secret) in \(path)")
                }
            }

            // Dropped lines are counted by rule; masked matches too.
            let rules = try rig.statistics().counters.rules
            let invocations = ledger.invocations.count
            // Exactly what the platform saw acknowledged, once each, whatever the kill re-delivered.
            let health = functionLines.filter { $0.record.serialized.contains("GET /health") }.count
            let debug = functionLines.filter { $0.level?.uppercased() == "DEBUG" }.count
            #expect(health >= invocations - 1 && debug >= invocations - 1)
            #expect(rules["health.dropped"] == health)
            #expect(rules["min-level.dropped"] == debug)
            #expect(ledger.initializations.count == 2, "started again after the kill -9")
            // The extension's health documents: one at SHUTDOWN, and this minute's (the restart in
            // the same minute writes the same id, kept once).
            let reports = try await rig.probe.documents(rig.extensionIndex).filter {
                $0.value["type"] as? String == "sluice.health"
            }
            let reasons = reports.values.compactMap { $0["reason"] as? String }
            #expect(reasons.filter { $0 == "shutdown" }.count == 1, "\(reasons)")
            #expect(reasons.filter { $0 == "interval" }.count == 1 || reasons.count > 2, "\(reasons)")
            #expect(rules["ssn.masked"] ?? 0 >= invocations - 1)
            for secret in Self.secrets.dropLast() {
                let name = secret.placeholder.dropFirst("[MASKED:".count).dropLast()
                #expect(rules["\(name).masked"] ?? 0 >= invocations - 1, "\(name)")
            }
            // The shutdown line tells the same.
            let lines = await simulator.extensionOutput()
            #expect(lines.contains { $0.contains("sluice shut down") && $0.contains("rules.health.dropped") })
            try await rig.expectInvocationView(ledger, complete: true)
        }
    }
}
