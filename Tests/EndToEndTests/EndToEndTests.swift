import Foundation
import LambdaSimulator
import SluiceSpool
import SluiceTestSupport
import Testing

/// The built binary, the simulated platform and the local OpenSearch. Each test names the failure
/// of the AWS sample (LAMBDA_REFERENCE.md §5) it covers, and asserts that every event the platform
/// saw acknowledged is in OpenSearch exactly once and that no invocation failed because of Sluice.
@Suite(.serialized) struct EndToEndTests {
    /// Sample failures 4, 5, 6: freezes of random length between invocations, then a normal shutdown.
    @Test func fiftyInvocationsWithRandomFreezesThenShutdown() async throws {
        try await EndToEndRig.with { rig, simulator in
            var random = SeededRandom(seed: 50)
            try await simulator.start()
            for _ in 0..<50 {
                try await simulator.invoke(
                    logLines: Int.random(in: 1...20, using: &random),
                    handlerDuration: .milliseconds(Int.random(in: 1...30, using: &random)))
                try await simulator.idle(for: .milliseconds(Int.random(in: 0...200, using: &random)))
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            #expect(!shutdown.killedAtDeadline)
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            #expect(ledger.acknowledgedMarkers.count == ledger.invocations.map(\.markers.count).reduce(0, +))
            #expect(try rig.statistics().rows == 0)
        }
    }

    /// Sample failures 3 and 12: a freeze in the middle of a bulk request, long enough for the
    /// server side to drop the connection; the re-send after the thaw must not index twice.
    @Test func aFreezeInTheMiddleOfABulkRequest() async throws {
        try await EndToEndRig.with(environment: ["SLUICE_FLUSH": "background"]) { rig, simulator in
            try await simulator.start()
            try await simulator.invoke(logLines: 5)
            try await rig.proxy.inject([["kind": "stall", "match": "_bulk", "seconds": 1, "count": 1]])
            // The invocation ends while the stalled request is in flight; the freeze outlasts it.
            try await simulator.invoke(logLines: 50, handlerDuration: .milliseconds(100))
            try await simulator.idle(for: .milliseconds(2_500))
            for _ in 0..<3 { try await simulator.invoke(logLines: 5) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            let outcomes = try await rig.proxy.requests().compactMap { $0["outcome"] as? String }
            #expect(outcomes.contains("stall"))
        }
    }

    /// Sample failures 1, 2, 3: OpenSearch unreachable during invocations 10–30, back afterwards.
    @Test func openSearchDownDuringInvocationsTenToThirty() async throws {
        try await EndToEndRig.with { rig, simulator in
            try await simulator.start()
            var during: [String] = []
            for invocation in 0..<40 {
                if invocation == 10 {
                    try await rig.proxy.inject([["kind": "reset", "match": "", "count": 100_000]])
                }
                if invocation == 30 {
                    during = try await rig.proxy.requests().compactMap { $0["outcome"] as? String }
                    try await rig.proxy.clearFaults()
                }
                try await simulator.invoke(logLines: 10)
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            // The outage was met (requests reset), and it spent no record's attempts: none died.
            #expect(during.contains("reset"), "the outage was seen: \(during)")
            #expect(try rig.statistics().deadLetters == 0)
            // The outage shows in the health document written at SHUTDOWN, shipped after it.
            let failed = during.filter { $0 == "reset" }.count
            let reports = try await rig.probe.documents(rig.extensionIndex).values.filter {
                $0["type"] as? String == "sluice.health" && $0["reason"] as? String == "shutdown"
            }
            let report = try #require(reports.first)
            let spool = try #require(report["spool"] as? [String: Any])
            let counted = (spool["failedRequests"] as? NSNumber)?.intValue ?? 0
            #expect(counted >= 1 && counted <= failed, "\(failed) requests were reset: \(spool)")
            let last = report["lastFailedRequest"] as? [String: Any]
            #expect((last?["reason"] as? String)?.hasPrefix("transport: ") == true, "\(String(describing: last))")
        }
    }

    /// Telemetry Lambda dropped before it reached the extension (its buffer filled faster than
    /// deliveries went out): the one loss the spool cannot prevent is counted from Lambda's
    /// `platform.logsDropped` events and shown in the health document and the shutdown line. The
    /// lines that did come keep their invocation though its start was among what was dropped.
    @Test func whatLambdaDroppedIsCountedAndShown() async throws {
        try await EndToEndRig.with(configure: { $0.platformBufferLimitBytes = 16 << 10 }) { rig, simulator in
            try await simulator.start()
            try await simulator.invoke(logLines: 60, logLinePadding: 1000)
            try await simulator.invoke(logLines: 5)
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            #expect(ledger.dropped > 0, "the platform's buffer overflowed")
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            let reports = try await rig.probe.documents(rig.extensionIndex).values.filter {
                $0["type"] as? String == "sluice.health" && $0["reason"] as? String == "shutdown"
            }
            let spool = try #require(reports.first?["spool"] as? [String: Any])
            #expect((spool["droppedByLambda"] as? NSNumber)?.intValue == ledger.dropped, "\(spool)")
            #expect((spool["droppedByLambdaBytes"] as? NSNumber)?.intValue ?? 0 > 0)
            let lines = await simulator.extensionOutput()
            #expect(
                lines.contains { $0.contains("sluice shut down") && $0.contains("dropped_by_lambda=\(ledger.dropped)") }
            )
            #expect(lines.contains { $0.contains("Lambda dropped") })
        }
    }

    /// Sample failure 6 (and 12): kill -9 at random points, during a delivery, a bulk request or a
    /// settle; the environment initialises again and nothing acknowledged is lost or doubled.
    @Test(arguments: 1...10)
    func killNineAtRandomPoints(seed: UInt64) async throws {
        try await EndToEndRig.with { rig, simulator in
            var random = SeededRandom(seed: seed)
            try await simulator.start()
            let killAt = Int.random(in: 1...4, using: &random)
            for invocation in 0..<6 {
                if invocation == killAt {
                    let delay = Int.random(in: 0...60, using: &random)
                    async let running = try? simulator.invoke(logLines: 200, handlerDuration: .milliseconds(40))
                    try await Task.sleep(for: .milliseconds(delay))
                    await simulator.kill9()
                    _ = await running
                } else {
                    try await simulator.invoke(logLines: Int.random(in: 10...200, using: &random))
                }
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            #expect(ledger.initializations.count >= 2, "killed and initialised again")
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
        }
    }

    /// A damaged spool salvaged after the first INVOKE, with a kill -9 at a random point around it
    /// (before it starts, while it appends, while its records ship): the next start takes up a
    /// salvage that did not end, and every record a salvage can read is in OpenSearch, once; every
    /// dead letter it can read is a dead letter here, once.
    @Test(arguments: 1...3)
    func aSalvageKilledAtARandomPointShipsEveryReadableRecordOnce(seed: UInt64) async throws {
        try await EndToEndRig.with { rig, simulator in
            var random = SeededRandom(seed: seed)
            do {
                let spool = try Spool.open(SpoolConfiguration(path: rig.spoolPath))
                for batch in 0..<20 {
                    try spool.append(makeRecords(200, prefix: "old\(batch)", index: rig.functionIndex, bytes: 400))
                }
                // And dead letters: the copy of last resort of what OpenSearch refused.
                let refused = try spool.lease(maxCount: 300, maxBytes: 1 << 30)
                try spool.settle(
                    refused.map { ($0.seq, .deadLetter(reason: "HTTP 400: refused", errorType: "mapper")) })
            }
            try damageMiddlePage(of: rig.spoolPath)
            _ = try Spool.open(SpoolConfiguration(path: rig.spoolPath)).verify()
            // What a salvage can read: the same salvage, of a copy, into a spool of the test's own.
            let copy = rig.folder.file("copy.sqlite")
            try FileManager.default.copyItem(atPath: rig.spoolPath, toPath: copy)
            let reference = try Spool.open(SpoolConfiguration(path: rig.folder.file("reference.sqlite")))
            #expect(reference.salvage(from: copy).recovered > 3_000)
            let readable = Set(try reference.peek(limit: 10_000).map(\.id))
            let readableDead = Set(try reference.deadLetters(limit: 10_000).map(\.documentID))
            #expect(readableDead.count > 200)

            try await simulator.start()
            try await simulator.invoke(logLines: 5)
            // Seed 1 kills before the salvage (a second after the first invoke) begins: the quarantine
            // is done, and only the spool can tell the next start that the salvage is not.
            let delay = seed == 1 ? 0 : Int.random(in: 0...1_500, using: &random)
            async let running = try? simulator.invoke(logLines: 5, handlerDuration: .milliseconds(1_500))
            try await Task.sleep(for: .milliseconds(delay))
            await simulator.kill9()
            _ = await running
            for _ in 0..<4 { try await simulator.invoke(logLines: 5, handlerDuration: .milliseconds(1_000)) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            #expect(ledger.initializations.count >= 2, "killed and initialised again")
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            let indexed = try await rig.probe.documents(rig.functionIndex).keys.filter { $0.hasPrefix("old") }
            #expect(indexed.count == Set(indexed).count)
            #expect(Set(indexed) == readable, "\(readable.subtracting(indexed).count) readable records missing")
            let after = try rig.statistics()
            #expect(after.rows == 0)
            // The dead letters a salvage can read are kept as dead letters, once.
            let dead = try Spool.open(SpoolConfiguration(path: rig.spoolPath), access: .readOnly)
                .deadLetters(limit: 10_000).map(\.documentID)
            #expect(dead.count == Set(dead).count)
            #expect(Set(dead) == readableDead, "\(readableDead.subtracting(dead).count) readable dead letters missing")
            // Counted once across the runs, and shown by the health document of SHUTDOWN.
            let reports = try await rig.probe.documents(rig.extensionIndex).values.filter {
                $0["type"] as? String == "sluice.health" && $0["reason"] as? String == "shutdown"
            }
            let spool = try #require(reports.first?["spool"] as? [String: Any])
            #expect((spool["salvaged"] as? NSNumber)?.intValue == readable.count, "\(spool)")
            #expect((spool["salvagedDeadLetters"] as? NSNumber)?.intValue == readableDead.count, "\(spool)")
        }
    }

    /// Sample failures 2, 3 and 10: 429 and 503 storms, per-item rejections, and documents
    /// OpenSearch refuses for good (a mapping that cannot take them), which end as dead letters
    /// that `sluice spool dead list` shows.
    @Test func stormsRejectionsAndMappingErrors() async throws {
        // Twelve failing requests in all (429s, 503s, rejected items): a record that is in each of
        // them must not run out of attempts, or it would be a dead letter the mapping did not make.
        try await EndToEndRig.with(environment: ["SLUICE_RETRY_MAX_ATTEMPTS": "30"]) { rig, simulator in
            // The extension's index takes no text message: every extension log line is refused.
            let (status, _) = try await rig.probe.call(
                .PUT, "/\(rig.extensionIndex)", #"{"mappings":{"properties":{"message":{"type":"long"}}}}"#)
            #expect(status == 200)
            try await simulator.start()
            try await rig.proxy.inject([
                ["kind": "status", "status": 429, "match": "_bulk", "count": 4, "headers": ["Retry-After": "0"]],
                ["kind": "status", "status": 503, "match": "_bulk", "count": 4],
                ["kind": "reject_items", "match": "_bulk", "every": 3, "count": 4],
            ])
            // Invocations long enough for the shipper to work through the storm while thawed.
            for _ in 0..<15 { try await simulator.invoke(logLines: 20, handlerDuration: .milliseconds(150)) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)

            let dead = try Spool.open(SpoolConfiguration(path: rig.spoolPath), access: .readOnly).deadLetters()
            #expect(!dead.isEmpty)
            #expect(dead.allSatisfy { $0.index == rig.extensionIndex && $0.errorType == "mapper_parsing_exception" })
            let missing = try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger, allowMissing: dead.count)
            #expect(missing == dead.count, "only the refused documents are missing, and they are dead letters")
            let listed = try await runProduct("sluice", ["spool", "dead", "list", "--path", rig.spoolPath])
            #expect(listed.status == 0)
            #expect(listed.output.contains("mapper_parsing_exception"))
            let outcomes = try await rig.proxy.requests().compactMap { $0["outcome"] as? String }
            #expect(outcomes.contains("status:429") && outcomes.contains("status:503"))
            #expect(outcomes.contains("reject_items"))
        }
    }

    /// Sample failure 11: the spool cap is reached while OpenSearch is down; the oldest records are
    /// dropped and counted, nothing else is lost, nothing crashes.
    @Test func theSpoolCapReachedWhileOpenSearchIsDown() async throws {
        try await EndToEndRig.with(environment: ["SLUICE_SPOOL_CAP": "1MiB"]) { rig, simulator in
            try await simulator.start()
            try await rig.proxy.inject([["kind": "reset", "match": "", "count": 100_000]])
            for _ in 0..<12 { try await simulator.invoke(logLines: 100, logLinePadding: 1_000) }
            try await rig.proxy.clearFaults()
            for _ in 0..<3 { try await simulator.invoke(logLines: 5) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            let statistics = try rig.statistics()
            #expect(statistics.counters.dropped > 0)
            #expect(statistics.rows == 0)
            let missing = try await rig.expectEveryAcknowledgedEventIndexedOnce(
                ledger, allowMissing: statistics.counters.dropped)
            #expect(missing > 0)
            // A delivery whose records the cap dropped before its 200 got through is stored again when
            // the platform re-sends it, so the cap may count a few more drops than are missing.
            #expect(missing <= statistics.counters.dropped, "what is missing is what the cap dropped, counted")
        }
    }

    /// Sample failures 7 and 9-style bad input: malformed deliveries are answered 4xx and change
    /// nothing else.
    @Test func malformedDeliveriesAreRefusedAndChangeNothingElse() async throws {
        try await EndToEndRig.with { rig, simulator in
            try await simulator.start()
            try await simulator.invoke(logLines: 10)
            let bad: [[UInt8]] = [
                Array("this is not JSON".utf8),
                Array(#"{"time":"2026-11-25T10:00:00Z","type":"function","record":"x"}"#.utf8),
                Array(#"[{"time":12,"type":"function","record":"x"}]"#.utf8),
                Array(#"[{"time":"2026-11-25T10:00:00Z","type":["function"],"record":"x"}]"#.utf8),
                Array(repeating: UInt8(ascii: " "), count: 5 << 20),
            ]
            for body in bad {
                // The oversized one is answered 413 at its Content-Length, before it has all been
                // sent; the simulator's HTTP client may then see its upload cut off instead.
                guard let (status, reason) = try? await simulator.deliverRaw(body) else {
                    #expect(body.count > 1 << 20, "only an upload the listener answered early fails")
                    continue
                }
                #expect((400..<500).contains(status), "\(status) \(reason)")
            }
            for _ in 0..<5 { try await simulator.invoke(logLines: 10) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            #expect(try rig.statistics().counters.malformed == 4, "the oversized one never reached validation")
        }
    }

    /// Another process in the sandbox opens hundreds of connections to the listener and leaves them
    /// idle, or sends half a head, or half a body: the platform's deliveries go on, every event
    /// arrives once, and the shutdown line counts what the listener turned away.
    @Test func hundredsOfIdleAndSlowConnectionsNeverStopThePlatformsDeliveries() async throws {
        try await EndToEndRig.with(configure: { $0.freezesBetweenInvocations = false }) { rig, simulator in
            try await simulator.start()
            try await simulator.invoke(logLines: 10)
            let port = try #require(await simulator.telemetryPort())
            var abusers: [RawConnection] = []
            defer { for connection in abusers { connection.close() } }
            for number in 0..<300 {
                let connection = try await RawConnection.open(port: port)
                abusers.append(connection)
                switch number % 3 {
                case 0: break
                case 1: await connection.send("POST /telemetry HTTP/1.1\r\nHost: x\r\n")
                default: await connection.send("POST /telemetry HTTP/1.1\r\nContent-Length: 100000\r\n\r\n[")
                }
                if number % 20 == 19 { try await simulator.invoke(logLines: 10) }
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            #expect(ledger.invocations.count == 16)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            let line = try #require(await simulator.extensionOutput().last { $0.contains("sluice shut down") })
            #expect(line.contains("listener.refused.evicted="), "\(line)")
        }
    }

    /// Lambda stops and wakes every thread of the process at each freeze and thaw: the extension
    /// does its work on one thread, its main thread made an event loop, with no thread of Swift's
    /// pool or libdispatch's or NIO's shared group, also after deliveries, shipping and the timers
    /// of naps. (A thread of its own for blocking work, the spool's check at start, ends with it.)
    @Test func theExtensionWorksOnOneThread() async throws {
        try await EndToEndRig.with { rig, simulator in
            try await simulator.start()
            for _ in 0..<10 {
                try await simulator.invoke(logLines: 20, handlerDuration: .milliseconds(10))
                try await simulator.idle(for: .milliseconds(50))
            }
            let pid = try #require(await simulator.extensionProcessId)
            func threads() -> [String] {
                let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
                return tasks.map {
                    (try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8)) ?? ""
                }
                .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            let one = await waitFor(seconds: 10) { threads().count == 1 }
            #expect(one, "threads: \(threads())")
            #expect(await simulator.extensionProcessId == pid, "the same process throughout")
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
        }
    }

    /// Sample failure 5: SHUTDOWN with a backlog larger than what fits in the deadline: what fits is
    /// shipped, the process exits before SIGKILL, the rest is counted as left at shutdown. At 128 MB
    /// the drain stops 200 ms before the deadline, at 1,769 MB (a full vCPU) 55 ms before it, with
    /// two requests in flight.
    @Test(arguments: [128, 1_769])
    func shutdownWithALargeBacklog(memorySizeMB: Int) async throws {
        // Not frozen between invocations: the platform delivers all it has while OpenSearch is
        // down, so the backlog at SHUTDOWN is the 20,000 lines whatever the machine's speed.
        try await EndToEndRig.with(configure: {
            $0.freezesBetweenInvocations = false
            $0.memorySizeMB = memorySizeMB
        }) { rig, simulator in
            try await simulator.start()
            try await rig.proxy.inject([["kind": "reset", "match": "", "count": 100_000]])
            for _ in 0..<20 { try await simulator.invoke(logLines: 1_000, handlerDuration: .milliseconds(5)) }
            #expect(await waitFor(seconds: 60) { await simulator.ledger().pending == 0 }, "all delivered")
            try await rig.proxy.clearFaults()
            let before = try rig.statistics().rows
            let deadline = await simulator.configuration.extensionShutdownTime
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            #expect(!shutdown.killedAtDeadline)
            #expect(shutdown.duration < deadline)
            let statistics = try rig.statistics()
            #expect(before >= 20_000, "every line waits: OpenSearch was down")
            #expect(statistics.counters.leftAtShutdown == statistics.rows)
            // Every kind of document the spool held counts: telemetry, summaries and health. A count,
            // not a search, so that a fast machine shipping more than a search page is counted whole.
            var indexed = 0
            for index in [rig.platformIndex, rig.functionIndex, rig.extensionIndex, rig.invocationIndex] {
                indexed += max(0, try await rig.probe.count(index))
            }
            #expect(indexed > 0, "what fitted was shipped")
            #expect(indexed + statistics.rows >= before, "everything is either in OpenSearch or in the spool")
        }
    }
}

/// The invocation view end to end: lines the way each runtime writes them (print() with no
/// request id, Node.js, Python, JSON records), lines after runtimeDone, starts and their lines in
/// different deliveries, errors, timeouts, out-of-memory kills, a kill -9 of the extension and the
/// resets that follow. The rig checks every line's request id and phase and every report's
/// summary against the platform's own account.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct InvocationViewEndToEndTests {
    @Test(arguments: [SimulatorConfiguration.LogFormat.text, .json])
    func everyLineFindsItsInvocationAndEveryReportItsSummary(format: SimulatorConfiguration.LogFormat) async throws {
        try await EndToEndRig.with(configure: { configuration in
            configuration.logFormat = format
            configuration.functionTimeout = .milliseconds(800)
            configuration.initLogLines = [.print("init print"), FunctionLogLine("init node")]
            configuration.shutdownLogLines = [.print("goodbye")]
        }) { rig, simulator in
            try await simulator.start()
            var random = SeededRandom(seed: format == .text ? 11 : 12)
            for number in 0..<16 {
                var script = InvocationScript(lines: [
                    FunctionLogLine(
                        "order \(number)", level: number % 5 == 0 ? "ERROR" : "INFO",
                        fields: ["orderId": .number(Double(1_000 + number)), "customer": ["tier": "gold"]]),
                    .print("print \(number)"), FunctionLogLine("python \(number)", style: .python, level: "WARN"),
                    .print("background \(number)", afterRuntimeDone: true),
                ])
                switch number % 8 {
                case 1: script.deliveryBreaks = [.afterStart]
                case 2: script.deliveryBreaks = [.afterRuntimeDone, .afterStart]
                case 3: script.outcome = .error()
                case 4: script.wholeMilliseconds = true
                case 5: script.outcome = .outOfMemory
                case 6 where number == 6: script.outcome = .timeout
                default: break
                }
                if number == 9 {
                    // The extension killed in the middle of the invocation; Lambda starts it again.
                    async let running = try? simulator.invoke(script)
                    try await Task.sleep(for: .milliseconds(Int.random(in: 0...30, using: &random)))
                    await simulator.kill9()
                    _ = await running
                } else {
                    try await simulator.invoke(script)
                }
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            #expect(ledger.initializations.count >= 3, "reset by the timeout, the out-of-memory kills and the kill -9")
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)

            // Statuses as the platform reported them, and the field a JSON line brought searchable.
            let summaries = try await rig.probe.documents(rig.invocationIndex).values
            #expect(summaries.contains { $0["outOfMemory"] as? Bool == true && $0["status"] as? String == "error" })
            #expect(summaries.contains { $0["timedOut"] as? Bool == true })
            #expect(summaries.contains { $0["status"] as? String == "error" && $0["outOfMemory"] as? Bool == false })
            #expect(summaries.filter { $0["coldStart"] as? Bool == true }.count >= 3)
            #expect(summaries.contains { ($0["errorLines"] as? NSNumber)?.intValue == 1 })
            try await expectTheReadmeQueriesAnswer(rig, Array(summaries))
            if format == .json {
                let (_, body) = try await rig.probe.call(
                    .POST, "/\(rig.functionIndex)/_search",
                    #"{"query":{"bool":{"filter":[{"term":{"fields.orderId":1003}},{"term":{"fields.customer.tier":"gold"}}]}}}"#
                )
                let hits = (((body as? [String: Any])?["hits"] as? [String: Any])?["hits"] as? [[String: Any]]) ?? []
                #expect(hits.count == 1, "one line has orderId 1003")
                let source = hits.first?["_source"] as? [String: Any]
                #expect((source?["message"] as? String)?.contains("order 3") == true)
                #expect(source?["fields"] == nil, "kept out of _source: the record is there as sent")
                #expect((source?["record"] as? [String: Any])?["orderId"] as? Int == 1_003)
            }
        }
    }

    /// The README's three queries, against what the run wrote.
    func expectTheReadmeQueriesAnswer(_ rig: EndToEndRig, _ summaries: [[String: Any]]) async throws {
        func hits(_ body: Any?) -> [[String: Any]] {
            (((body as? [String: Any])?["hits"] as? [String: Any])?["hits"] as? [[String: Any]]) ?? []
        }
        let (_, failed) = try await rig.probe.call(
            .POST, "/\(rig.invocationIndex)/_search",
            #"{"size":1000,"query":{"bool":{"filter":[{"range":{"@timestamp":{"gte":"now-1h"}}},{"terms":{"status":["error","failure","timeout"]}}]}},"sort":[{"@timestamp":"desc"}]}"#
        )
        let failing = summaries.filter { ["error", "failure", "timeout"].contains($0["status"] as? String ?? "") }
        #expect(!failing.isEmpty)
        #expect(hits(failed).count == failing.count, "failed invocations of the last hour")

        let one = try #require(summaries.first { ($0["logLines"] as? NSNumber)?.intValue ?? 0 > 0 })
        let requestId = try #require(one["requestId"] as? String)
        let (_, logs) = try await rig.probe.call(
            .POST, "/\(rig.functionIndex)/_search",
            #"{"size":1000,"query":{"term":{"requestId":"\#(requestId)"}},"sort":[{"@timestamp":"asc"}]}"#)
        #expect(hits(logs).count == (one["logLines"] as? NSNumber)?.intValue, "the logs of one invocation")

        let (_, p99) = try await rig.probe.call(
            .POST, "/\(rig.invocationIndex)/_search",
            #"{"size":0,"query":{"term":{"coldStart":true}},"aggs":{"p99":{"percentiles":{"field":"durationMs","percents":[99]}}}}"#
        )
        let values = (((p99 as? [String: Any])?["aggregations"] as? [String: Any])?["p99"] as? [String: Any])?["values"]
        let value = (values as? [String: Any])?.values.first as? NSNumber
        let coldDurations = summaries.filter { $0["coldStart"] as? Bool == true }.compactMap {
            ($0["durationMs"] as? NSNumber)?.doubleValue
        }
        #expect(value != nil, "p99 duration of cold starts: \(String(describing: values))")
        if let value, let longest = coldDurations.max() {
            #expect(value.doubleValue <= longest + 0.001 && value.doubleValue >= (coldDurations.min() ?? 0) - 0.001)
        }
    }
}
