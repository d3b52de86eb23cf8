import Foundation

/// One invocation as the platform runs it: INVOKE, `platform.start`, the handler and its log lines,
/// `platform.runtimeDone`, the wait for the extension, `platform.report`, then the freeze or a reset.
extension LambdaSimulator {
    func run(_ script: InvocationScript, initialization: InitReport?) async -> InvocationReport {
        let started = clock.now
        let startedAt = PlatformTime.nowMilliseconds()
        let deadline = started + configuration.functionTimeout
        let requestId = UUID().uuidString.lowercased()
        let traceId = "Root=1-\(String(startedAt / 1000, radix: 16))-\(hex(24));Parent=\(hex(16));Sampled=0"
        let tracing: JSON = ["type": "X-Amzn-Trace-Id", "value": .string(traceId)]
        func milliseconds(_ duration: Duration) -> Double {
            script.wholeMilliseconds ? duration.platformMilliseconds.rounded() : duration.platformMilliseconds
        }
        if instance?.events.contains("INVOKE") == true {
            deliver([
                "eventType": "INVOKE", "requestId": .string(requestId),
                "deadlineMs": .number(Double(startedAt + configuration.functionTimeout.milliseconds)),
                "invokedFunctionArn": .string(configuration.functionArn), "tracing": tracing,
            ])
        }
        let start = await telemetry.emit(
            "platform.start",
            .platform([
                "requestId": .string(requestId), "version": .string(configuration.functionVersion), "tracing": tracing,
            ]), requestId: requestId)
        if script.deliveryBreaks.contains(.afterStart) { await telemetry.flush(through: start, until: deadline) }
        var markers: [String] = []
        for line in script.lines where !line.afterRuntimeDone {
            markers.append(await write(line, phase: .invoke, requestId: requestId))
        }
        // The handler runs; a handler that outlasts the function timeout is cut off by it.
        let outcome = script.handlerDuration >= configuration.functionTimeout ? .timeout : script.outcome
        let handlerEnd = outcome == .timeout ? deadline : min(started + script.handlerDuration, deadline)
        try? await Task.sleep(until: handlerEnd, clock: clock)
        let handlerEnded = clock.now
        let ran = handlerEnded - started
        let (runtimeStatus, runtimeErrorType) = outcome.status
        var runtimeDone: [String: JSON] = [
            "requestId": .string(requestId),
            "metrics": ["durationMs": .number(milliseconds(ran)), "producedBytes": 0],
            "tracing": tracing,
        ]
        if outcome.runtimeSurvives {
            // Only a runtime that answered has a response to time.
            runtimeDone["spans"] = [
                span("responseLatency", startedAt, milliseconds(ran)),
                span("responseDuration", startedAt + ran.milliseconds, 0),
                span("runtimeOverhead", startedAt + ran.milliseconds, 0),
            ]
        }
        let done = await telemetry.emit(
            "platform.runtimeDone",
            .platform(phaseRecord(runtimeDone, status: runtimeStatus, errorType: runtimeErrorType)),
            requestId: requestId)
        // Background work the handler left running logs on after the response, until the
        // invocation ends; a runtime that died writes nothing more.
        var markersAfterRuntimeDone: [String] = []
        if outcome.runtimeSurvives {
            if script.deliveryBreaks.contains(.afterRuntimeDone) {
                await telemetry.flush(through: done, until: deadline)
            }
            for line in script.lines where line.afterRuntimeDone {
                markersAfterRuntimeDone.append(await write(line, phase: .invoke, requestId: requestId))
            }
        }
        markers += markersAfterRuntimeDone
        // Every extension must be back in /next before the invocation ends; that wait is billed.
        let generation = instance?.generation
        var back = outcome != .timeout
        if back, instance?.events.contains("INVOKE") == true {
            _ = await waitUntil(deadline) {
                instance?.generation != generation || instance?.exit != nil || instance?.inNext == true
            }
            back = instance?.generation == generation && instance?.inNext == true
        }
        let ended = clock.now
        // Billed from the runtime's end to the extension's call of /next (nothing if it called
        // before), timed when the call arrived: the platform's own work meanwhile is not the
        // extension's.
        let calledNext = instance?.nextSince ?? ended
        let addedTime = back ? max(.zero, calledNext - handlerEnded) : nil
        // A runtime that failed decides the report; otherwise an extension that did not come back does.
        let (status, errorType): (PhaseStatus, String?) =
            !outcome.runtimeSurvives || back
            ? outcome.status : (ended >= deadline ? (.timeout, "Sandbox.Timedout") : (.failure, "Extension.Crash"))
        let reset = outcome.reset ?? (back ? nil : (status == .timeout ? .timeout : .failure))
        let duration = ended - started
        let durationMs = milliseconds(duration)
        let billedDurationMs = Int(durationMs.rounded(.up))
        let memoryUsed =
            outcome == .outOfMemory
            ? configuration.memorySizeMB : min(instance?.process.peakMemoryMB ?? 0, configuration.memorySizeMB)
        var metrics: [String: JSON] = [
            "durationMs": .number(durationMs), "billedDurationMs": .number(Double(billedDurationMs)),
            "memorySizeMB": .number(Double(configuration.memorySizeMB)), "maxMemoryUsedMB": .number(Double(memoryUsed)),
        ]
        let coldDuration = initialization.map(\.durationMs)
        let restored = initialization?.isRestore == true
        if let coldDuration { metrics[restored ? "restoreDurationMs" : "initDurationMs"] = .number(coldDuration) }
        var record: [String: JSON] = [
            "requestId": .string(requestId), "metrics": .object(metrics), "tracing": tracing,
        ]
        let extensionOverheadMs = addedTime.flatMap { $0 > .zero ? milliseconds($0) : nil }
        if let extensionOverheadMs {
            record["spans"] = [span("extensionOverhead", startedAt + ran.milliseconds, extensionOverheadMs)]
        }
        await telemetry.emit(
            "platform.report", .platform(phaseRecord(record, status: status, errorType: errorType)),
            requestId: requestId)
        if let reset {
            // A timeout, a crash or running out of memory during invoke resets the environment like a shutdown.
            await terminate(reason: reset)
        } else {
            await freeze()
        }
        return InvocationReport(
            requestId: requestId, status: status, errorType: errorType, runtimeStatus: runtimeStatus,
            runtimeErrorType: runtimeErrorType, initialization: initialization, handlerDuration: ran,
            addedTime: addedTime, markers: markers, markersAfterRuntimeDone: markersAfterRuntimeDone,
            errorLogLines: script.lines.filter { $0.isError && (outcome.runtimeSurvives || !$0.afterRuntimeDone) }
                .count,
            traceId: traceId, durationMs: durationMs, billedDurationMs: billedDurationMs,
            memorySizeMB: configuration.memorySizeMB, maxMemoryUsedMB: memoryUsed,
            initDurationMs: restored ? nil : coldDuration, restoreDurationMs: restored ? coldDuration : nil,
            extensionOverheadMs: extensionOverheadMs, reported: true)
    }

    /// Writes `line` to the function's log as its runtime would, with a marker of its own, for the
    /// invocation `requestId` (nil outside one); returns the marker.
    func write(_ line: FunctionLogLine, phase: FunctionPhase, requestId: String?) async -> String {
        let marker = "marker-\(UUID().uuidString.lowercased())"
        let message = "\(line.text) \(marker)" + String(repeating: "x", count: line.padding)
        // A print line shows no request id, but it belongs to the invocation all the same.
        let shown = line.style == .print ? nil : requestId
        await telemetry.emit(
            "function",
            .logLine(message: message, level: line.level, requestId: shown, style: line.style, fields: line.fields),
            marker: marker, requestId: requestId, phase: phase)
        return marker
    }

    private func span(_ name: String, _ startMilliseconds: Int64, _ durationMs: Double) -> JSON {
        [
            "name": .string(name), "start": .string(PlatformTime.iso8601(milliseconds: startMilliseconds)),
            "durationMs": .number(durationMs),
        ]
    }

    private func hex(_ count: Int) -> String {
        String((0..<count).map { _ in "0123456789abcdef".randomElement()! })
    }

    /// Hands `event` to the extension: at once if it waits in `/next`, else at its next call.
    func deliver(_ event: JSON) {
        guard var current = instance else { return }
        if let waiting = current.pendingNext {
            current.pendingNext = nil
            current.nextSince = nil
            instance = current
            waiting.resume(
                returning: .json(
                    200, event, headers: [("Lambda-Extension-Event-Identifier", UUID().uuidString.lowercased())]))
        } else {
            current.queuedEvent = event
            instance = current
        }
        signal.signal()
    }
}
