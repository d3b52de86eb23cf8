import Foundation
import LambdaSimulator
import SluiceTestSupport
import Testing

/// The telemetry an invocation view is tested against: lines in every runtime's shape tied to their
/// invocation (or to none, during init and shutdown) in the ledger whatever they show, forced
/// delivery breaks, the reports of failed invocations and resets, and SnapStart restores.
// One at a time: several of these time phases (a late /next, a timeout), and each runs processes.
@Suite(.serialized) struct InvocationTelemetryTests {
    @Test(arguments: [SimulatorConfiguration.LogFormat.text, .json])
    func everyLineIsTiedToItsInvocationOrPhaseHoweverItIsRendered(
        _ format: SimulatorConfiguration.LogFormat
    ) async throws {
        let fixture = try MiniExtension(["MINI_ON_SHUTDOWN": "drain:600"]) {
            $0.logFormat = format
            $0.initLogLines = [FunctionLogLine("init logger line"), .print("init print line")]
            $0.shutdownLogLines = [FunctionLogLine("shutdown line", level: "WARN")]
        }
        let script = InvocationScript(lines: [
            FunctionLogLine("node line", fields: ["orderId": 4711]),
            FunctionLogLine("python line", style: .python, fields: ["orderId": "A-17"]),
            .print(),
            FunctionLogLine("failed line", level: "ERROR"),
            FunctionLogLine("fatal line", style: .python, level: "FATAL"),
            FunctionLogLine("late logger line", afterRuntimeDone: true),
            .print("late print line", afterRuntimeDone: true),
        ])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            let initReport = try await simulator.start()
            #expect(initReport.markers.count == 2)
            let first = try await simulator.invoke(script)
            let second = try await simulator.invoke(script)
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.markers.count == 1)

            let ledger = await simulator.ledger()
            #expect(ledger.emitted == ledger.acknowledged.count)
            let all = initReport.markers + first.markers + second.markers + shutdown.markers
            #expect(Set(all).count == 17)
            #expect(ledger.acknowledgedMarkers == Set(all))
            #expect(ledger.acknowledged(type: "function").count == all.count)
            let position = Dictionary(
                ledger.acknowledged.enumerated().compactMap { item in item.element.marker.map { ($0, item.offset) } }
            ) { first, _ in first }
            func index(_ type: String, _ requestId: String? = nil) throws -> Int {
                try #require(ledger.acknowledged.firstIndex { $0.type == type && $0.requestId == requestId })
            }

            // Init lines: no request id in the ledger or in the text, written during init.
            for marker in initReport.markers {
                let line = try #require(ledger.acknowledged(marker: marker))
                #expect(line.requestId == nil && line.phase == .`init`)
                #expect(try index("platform.initStart") < position[marker]!)
                #expect(position[marker]! < (try index("platform.initRuntimeDone")))
            }
            let initLogger = try #require(ledger.acknowledged(marker: initReport.markers[0])).record
            let initPrint = try #require(ledger.acknowledged(marker: initReport.markers[1]))
            #expect(initPrint.record == .string("init print line \(initReport.markers[1])"))
            #expect(initPrint.level == nil)
            if format == .json {
                #expect(initLogger["requestId"] == nil)
                #expect(initLogger["level"] == "INFO")
            } else {
                #expect(
                    initLogger.stringValue?.hasSuffix("\tundefined\tINFO\tinit logger line \(initReport.markers[0])")
                        == true)
            }

            for invocation in [first, second] {
                let requestId = invocation.requestId
                #expect(invocation.logLines == 7)
                #expect(invocation.errorLogLines == 2)
                #expect(invocation.markersAfterRuntimeDone.count == 2)
                #expect(Array(invocation.markers.suffix(2)) == invocation.markersAfterRuntimeDone)
                for marker in invocation.markers {
                    let line = try #require(ledger.acknowledged(marker: marker))
                    #expect(line.requestId == requestId, "\(line.record.serialized)")
                    #expect(line.phase == .invoke)
                    #expect(try index("platform.start", requestId) < position[marker]!)
                }
                // Lines written after the response come between runtimeDone and the report.
                for marker in invocation.markersAfterRuntimeDone {
                    #expect(try index("platform.runtimeDone", requestId) < position[marker]!)
                    #expect(position[marker]! < (try index("platform.report", requestId)))
                }
                for marker in invocation.markers.prefix(5) {
                    #expect(position[marker]! < (try index("platform.runtimeDone", requestId)))
                }
                let records = try invocation.markers.map { try #require(ledger.acknowledged(marker: $0)).record }
                let levels = try invocation.markers.map { try #require(ledger.acknowledged(marker: $0)).level }
                #expect(levels == ["INFO", "INFO", nil, "ERROR", "FATAL", "INFO", nil])
                let marker = invocation.markers
                // A print shows neither a request id nor a level, in either format.
                #expect(records[2] == .string("plain print line \(marker[2])"))
                #expect(records[6] == .string("late print line \(marker[6])"))
                if format == .json {
                    #expect(records[0]["requestId"] == .string(requestId))
                    #expect(records[0]["orderId"] == 4711)
                    #expect(records[0]["message"] == .string("node line \(marker[0])"))
                    #expect(records[1]["orderId"] == "A-17")
                    #expect(records[1]["logger"] == "root")
                    #expect(records[3]["level"] == "ERROR")
                    #expect(records[4]["level"] == "FATAL")
                    #expect(records[5]["requestId"] == .string(requestId))
                } else {
                    #expect(records[0].stringValue?.hasSuffix("\t\(requestId)\tINFO\tnode line \(marker[0])") == true)
                    let python = try #require(records[1].stringValue)
                    #expect(
                        python.hasPrefix("[INFO]\t") && python.hasSuffix("\t\(requestId)\tpython line \(marker[1])"))
                    #expect(records[3].stringValue?.contains("\t\(requestId)\tERROR\tfailed line") == true)
                    #expect(records[4].stringValue?.hasPrefix("[FATAL]\t") == true)
                }
            }

            let shutdownLine = try #require(ledger.acknowledged(marker: shutdown.markers[0]))
            #expect(shutdownLine.requestId == nil && shutdownLine.phase == .shutdown && shutdownLine.level == "WARN")
            #expect(position[shutdown.markers[0]]! > (try index("platform.report", second.requestId)))
            #expect(fixture.storedEvents.counted == ledger.acknowledged.map(\.delivered).counted)
        }
    }

    @Test func deliveryBreaksPutTheStartAndTheLateLinesInDeliveriesOfTheirOwn() async throws {
        // A buffering timeout long enough that, without a break, an invocation goes in one delivery;
        // at shutdown the extension waits past it for what the freeze held back.
        let fixture = try MiniExtension(["MINI_TIMEOUT_MS": "500", "MINI_ON_SHUTDOWN": "drain:800"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let initDelivered = await waitFor(seconds: 10) { await simulator.ledger().pending == 0 }
            #expect(initDelivered)
            let lines = [FunctionLogLine("early"), FunctionLogLine("late", afterRuntimeDone: true)]
            let together = try await simulator.invoke(InvocationScript(lines: lines))
            let split = try await simulator.invoke(
                InvocationScript(lines: lines, deliveryBreaks: [.afterStart, .afterRuntimeDone]))
            try await simulator.shutdown()

            let ledger = await simulator.ledger()
            #expect(ledger.emitted == ledger.acknowledged.count)
            func delivery(_ type: String, _ requestId: String) throws -> Int {
                try #require(ledger.acknowledged.first { $0.type == type && $0.requestId == requestId }).delivery
            }
            func delivery(marker: String) throws -> Int { try #require(ledger.acknowledged(marker: marker)).delivery }

            let unsplit = try delivery("platform.start", together.requestId)
            #expect(try delivery(marker: together.markers[0]) == unsplit)
            #expect(try delivery("platform.runtimeDone", together.requestId) == unsplit)
            #expect(try delivery(marker: together.markers[1]) == unsplit)

            let start = try delivery("platform.start", split.requestId)
            let early = try delivery(marker: split.markers[0])
            let runtimeDone = try delivery("platform.runtimeDone", split.requestId)
            let late = try delivery(marker: split.markers[1])
            #expect(start < early)
            #expect(early == runtimeDone)
            #expect(runtimeDone < late)
            #expect(try delivery("platform.report", split.requestId) == late)

            // The extension saw the same cuts: the start and its line came in different POSTs.
            func received(_ match: (JSON) -> Bool) throws -> Double {
                let stored = try #require(fixture.records("events.jsonl").first { $0["event"].map(match) ?? false })
                return try #require(stored["delivery"]?.numberValue)
            }
            let startReceived = try received {
                $0["type"] == "platform.start" && $0["record"]?["requestId"] == .string(split.requestId)
            }
            let lineReceived = try received { $0["record"]?.stringValue?.contains(split.markers[0]) == true }
            #expect(startReceived < lineReceived)
        }
    }

    @Test func errorsTimeoutsFailuresAndOutOfMemoryEndInvocationsAsLambdaReportsThem() async throws {
        let fixture = try MiniExtension(["MINI_ON_SHUTDOWN": "drain:300"]) {
            $0.functionTimeout = .milliseconds(800)
        }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let firstPid = try #require(await simulator.extensionProcessId)
            func run(_ outcome: InvocationOutcome) async throws -> InvocationReport {
                try await simulator.invoke(InvocationScript(lines: FunctionLogLine.numbered(2), outcome: outcome))
            }
            let failed = try await run(.error(errorType: "Runtime.ExitError"))
            // A function error keeps the environment: same process, no reset.
            #expect(await simulator.extensionProcessId == firstPid)
            #expect(await simulator.ledger().shutdowns.isEmpty)
            let unknown = try await run(.error())
            let outOfMemory = try await run(.outOfMemory)
            #expect(await simulator.extensionProcessId == nil)
            let afterOutOfMemory = try await run(.success)
            let started = ContinuousClock.now
            let timedOut = try await run(.timeout)
            #expect(ContinuousClock.now - started >= .milliseconds(800))
            let crashed = try await run(.failure())
            let afterFailure = try await run(.success)
            let warm = try await run(.success)
            try await simulator.shutdown()

            let ledger = await simulator.ledger()
            #expect(ledger.shutdowns.map(\.reason) == [.failure, .timeout, .failure, .spindown])
            #expect(
                fixture.nextEvents.compactMap { $0["shutdownReason"]?.stringValue } == [
                    "failure", "timeout", "failure", "spindown",
                ])
            let invocations = [failed, unknown, outOfMemory, afterOutOfMemory, timedOut, crashed, afterFailure, warm]
            #expect(ledger.emitted == ledger.acknowledged.count)
            #expect(ledger.acknowledged(type: "platform.report").map(\.requestId) == invocations.map(\.requestId))

            let expected: [(PhaseStatus, String?)] = [
                (.error, "Runtime.ExitError"), (.error, "Runtime.Unknown"), (.error, "Runtime.OutOfMemory"),
                (.success, nil), (.timeout, "Sandbox.Timedout"), (.failure, "Runtime.ExitError"), (.success, nil),
                (.success, nil),
            ]
            // Cold: the first after start(), and the first after each reset.
            let cold = [true, false, false, true, false, true, true, false]
            for (position, invocation) in invocations.enumerated() {
                let requestId = invocation.requestId
                let report = try #require(
                    ledger.acknowledged(type: "platform.report").first { $0.requestId == requestId })
                let runtimeDone = try #require(
                    ledger.acknowledged(type: "platform.runtimeDone").first { $0.requestId == requestId })
                let (status, errorType) = expected[position]
                #expect(invocation.status == status && invocation.errorType == errorType, "\(position)")
                #expect(invocation.runtimeStatus == status && invocation.runtimeErrorType == errorType)
                #expect(report.record["status"] == .string(status.rawValue))
                #expect(report.record["errorType"] == errorType.map(JSON.string))
                #expect(runtimeDone.record["status"] == .string(status.rawValue))
                #expect(runtimeDone.record["errorType"] == errorType.map(JSON.string))
                #expect(runtimeDone.record["metrics"]?["producedBytes"]?.numberValue != nil)

                let metrics = try #require(report.record["metrics"])
                #expect(metrics["durationMs"] == .number(invocation.durationMs))
                #expect(metrics["billedDurationMs"] == .number(Double(invocation.billedDurationMs)))
                #expect(metrics["memorySizeMB"] == .number(Double(invocation.memorySizeMB)))
                #expect(metrics["maxMemoryUsedMB"] == .number(Double(invocation.maxMemoryUsedMB)))
                #expect(invocation.coldStart == cold[position], "\(position)")
                #expect(metrics["initDurationMs"] == invocation.initDurationMs.map(JSON.number), "\(position)")
                #expect((metrics["initDurationMs"] != nil) == cold[position], "\(position)")
                #expect(metrics["restoreDurationMs"] == nil)
                if let initialization = invocation.initialization {
                    #expect(invocation.initDurationMs == initialization.durationMs)
                }
                #expect(invocation.logLines == 2)
                let root = try #require(invocation.traceRoot)
                #expect(report.record["tracing"]?["value"]?.stringValue?.hasPrefix("Root=\(root);") == true)
            }
            #expect(outOfMemory.maxMemoryUsedMB == outOfMemory.memorySizeMB)
            #expect(timedOut.timedOut && timedOut.addedTime == nil)
            #expect(timedOut.durationMs >= 800)
            // Only a runtime that answered has response spans.
            let spans = try #require(
                ledger.acknowledged(type: "platform.runtimeDone").first { $0.requestId == warm.requestId }?
                    .record["spans"]?.arrayValue)
            #expect(
                spans.compactMap { $0["name"]?.stringValue } == [
                    "responseLatency", "responseDuration", "runtimeOverhead",
                ])
            let timedOutRuntimeDone = ledger.acknowledged(type: "platform.runtimeDone").first {
                $0.requestId == timedOut.requestId
            }
            #expect(timedOutRuntimeDone?.record["spans"] == nil)
            #expect(Set(ledger.initializations.map(\.processId)).count == 4)
        }
    }

    @Test func anExtensionThatAddsTimeGetsAnExtensionOverheadSpan() async throws {
        // Back in /next 2 s after the invoke, long after a 20 ms handler even on a loaded machine.
        let fixture = try MiniExtension(["MINI_ON_INVOKE": "late:2000", "MINI_ON_SHUTDOWN": "drain:600"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let late = try await simulator.invoke(handlerDuration: .milliseconds(20))
            let prompt = try await simulator.invoke(handlerDuration: .milliseconds(200))
            try await simulator.shutdown()
            let overhead = try #require(late.extensionOverheadMs)
            #expect(overhead > 0)
            #expect(prompt.extensionOverheadMs == nil)
            let reports = await simulator.ledger().acknowledged(type: "platform.report")
            #expect(reports.map(\.requestId) == [late.requestId, prompt.requestId])
            let spans = try #require(reports.first?.record["spans"]?.arrayValue)
            #expect(spans.count == 1)
            #expect(spans.first?["name"] == "extensionOverhead")
            #expect(spans.first?["durationMs"] == .number(overhead))
            #expect(reports.last?.record["spans"] == nil)
        }
    }

    @Test func durationsComeAsWholeMillisecondsOrWithDecimals() async throws {
        let fixture = try MiniExtension(["MINI_ON_SHUTDOWN": "drain:600"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            var whole: [InvocationReport] = []
            var decimal: [InvocationReport] = []
            for _ in 0..<3 {
                whole.append(try await simulator.invoke(InvocationScript(lines: [], wholeMilliseconds: true)))
                decimal.append(try await simulator.invoke(InvocationScript(lines: [])))
            }
            try await simulator.shutdown()

            let ledger = await simulator.ledger()
            func durations(_ invocation: InvocationReport) -> [Double] {
                ledger.acknowledged.filter { $0.requestId == invocation.requestId }.flatMap { event in
                    [event.record["metrics"]?["durationMs"]?.numberValue]
                        + (event.record["spans"]?.arrayValue ?? []).map { $0["durationMs"]?.numberValue }
                }
                .compactMap { $0 }
            }
            for invocation in whole {
                let all = durations(invocation)
                #expect(all.count >= 4)
                #expect(all.allSatisfy { $0 == $0.rounded() }, "\(all)")
                #expect(invocation.durationMs == invocation.durationMs.rounded())
            }
            // Three decimals, as Lambda sends them: whole by chance once in a thousand.
            #expect(decimal.contains { $0.durationMs != $0.durationMs.rounded() })
            // On the wire the whole ones are integers ("20"), the others decimals ("20.125").
            let report = try #require(
                ledger.acknowledged(type: "platform.report").first { $0.requestId == whole[0].requestId })
            #expect(report.record.serialized.contains("\"durationMs\":\(Int(whole[0].durationMs)),"))
        }
    }

    @Test func snapStartRestoresInsteadOfInitialising() async throws {
        let fixture = try MiniExtension(["MINI_ON_SHUTDOWN": "drain:600"]) {
            $0.snapStart = true
            $0.initLogLines = [FunctionLogLine("restore hook line")]
        }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            let restore = try await simulator.start()
            #expect(restore.status == .success)
            #expect(restore.isRestore && restore.initializationType == "snap-start")
            let first = try await simulator.invoke()
            let second = try await simulator.invoke()
            try await simulator.shutdown()

            let ledger = await simulator.ledger()
            let types = ledger.acknowledged.map(\.type).counted
            for type in ["platform.initStart", "platform.initRuntimeDone", "platform.initReport"] {
                #expect(types[type] == nil, "\(type)")
            }
            for type in ["platform.restoreStart", "platform.restoreRuntimeDone", "platform.restoreReport"] {
                #expect(types[type] == 1, "\(type)")
            }
            let restoreReport = try #require(ledger.acknowledged(type: "platform.restoreReport").first).record
            #expect(restoreReport["status"] == "success")
            #expect(restoreReport["metrics"]?["durationMs"] == .number(restore.durationMs))
            let restoreLine = try #require(ledger.acknowledged(marker: restore.markers[0]))
            #expect(restoreLine.phase == .`init` && restoreLine.requestId == nil)

            let reports = ledger.acknowledged(type: "platform.report")
            #expect(reports.map(\.requestId) == [first.requestId, second.requestId])
            #expect(reports[0].record["metrics"]?["restoreDurationMs"] == .number(restore.durationMs))
            #expect(reports[0].record["metrics"]?["initDurationMs"] == nil)
            #expect(reports[1].record["metrics"]?["restoreDurationMs"] == nil)
            #expect(first.coldStart && first.restoreDurationMs == restore.durationMs && first.initDurationMs == nil)
            #expect(!second.coldStart)

            let environment = try #require(fixture.lifecycle("register").first?["environment"])
            #expect(environment["AWS_LAMBDA_INITIALIZATION_TYPE"] == "snap-start")
        }
    }
}
