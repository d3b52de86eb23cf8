import Foundation

extension LambdaSimulator {
    /// Starts the extension and runs the init phase: it must register (and may subscribe) and be in
    /// `/next` within the init timeout. A failed init leaves the environment to be initialised again
    /// by the next invocation, as Lambda retries init at the first invoke.
    @discardableResult
    public func start() async throws -> InitReport {
        try beginPhase()
        defer { busy = false }
        return try await initialise()
    }

    /// Invokes the function: thaws the environment (initialising it first if needed), sends INVOKE,
    /// writes `logLines` function log lines with a unique marker each (plus `logLinePadding` bytes),
    /// runs the handler for `handlerDuration`, then waits for the extension to be back in `/next`
    /// (the added time) before the invocation ends and the environment is frozen. An extension that
    /// is not back by the function's deadline times the invocation out, which resets the environment.
    @discardableResult
    public func invoke(
        logLines: Int = 3, logLinePadding: Int = 0, handlerDuration: Duration = .milliseconds(20)
    )
        async throws -> InvocationReport
    {
        try beginPhase()
        defer { busy = false }
        if instance == nil || instance?.exit != nil {
            if let ended = instance { await retire(ended) }
            let report = try await initialise()
            guard report.status == .success else {
                let failed = InvocationReport(
                    requestId: UUID().uuidString.lowercased(), status: report.status, errorType: report.errorType,
                    initialization: report, handlerDuration: .zero, addedTime: nil, markers: [])
                history.invocations.append(failed)
                return failed
            }
        }
        // The first invocation after an init reports it (initDurationMs), as Lambda's REPORT does.
        let initialization = unreportedInit
        unreportedInit = nil
        await thaw()
        let report = await run(
            logLines: logLines, padding: logLinePadding, handlerDuration: handlerDuration,
            initialization: initialization)
        history.invocations.append(report)
        return report
    }

    /// Ends the environment: thaws the extension, sends SHUTDOWN with `reason` and a deadline of the
    /// shutdown budget less the runtime's reserve, keeps delivering telemetry while it runs, and
    /// kills it with SIGKILL at the deadline. Telemetry not delivered by then is lost with the
    /// environment; a later invocation starts a new one.
    @discardableResult
    public func shutdown(reason: ShutdownReason = .spindown) async throws -> ShutdownReport {
        try beginPhase()
        defer { busy = false }
        let report = await terminate(reason: reason)
        environmentAlive = false
        await telemetry.environmentEnded()
        return report
    }

    // MARK: Init

    func initialise() async throws -> InitReport {
        let started = clock.now
        environmentAlive = true
        registrationOpen = true
        defer { registrationOpen = false }
        await telemetry.emit(
            "platform.initStart",
            .platform([
                "initializationType": "on-demand", "phase": "init",
                "functionName": .string(configuration.functionName),
                "functionVersion": .string(configuration.functionVersion),
                "instanceMaxMemory": .number(Double(configuration.memorySizeMB << 20)),
                "runtimeVersion": "provided:al2023.simulated",
            ]))
        let current = try launch()
        instance = current
        let deadline = started + configuration.initTimeout
        func settled(_ instance: Instance?) -> Bool {
            guard let instance, instance.generation == current.generation else { return true }
            return instance.exit != nil || instance.initError != nil
        }
        // The runtime starts once every extension has registered, and its init is immediate.
        _ = await waitUntil(deadline) { settled(instance) || instance?.registered == true }
        let registered = instance?.registered == true
        let ready = await waitUntil(deadline) { settled(instance) || instance?.inNext == true }
        let (status, errorType) = initOutcome(ready: ready && instance?.inNext == true && registered)
        await telemetry.emit(
            "platform.initRuntimeDone",
            .platform(
                phaseRecord(
                    ["initializationType": "on-demand", "phase": "init"],
                    status: registered ? .success : status, errorType: registered ? nil : errorType)))
        if status == .success, let ready = instance {
            await telemetry.emit(
                "platform.extension",
                .platform([
                    "name": .string(configuration.extensionName), "state": "Ready",
                    "events": .array(ready.events.map(JSON.string)),
                ]))
        }
        let duration = clock.now - started
        await telemetry.emit(
            "platform.initReport",
            .platform(
                phaseRecord(
                    [
                        "initializationType": "on-demand", "phase": "init",
                        "metrics": ["durationMs": .number(duration.platformMilliseconds)],
                    ], status: status, errorType: errorType)))
        await telemetry.initEnded()
        let report = InitReport(
            status: status, errorType: errorType, duration: duration, processId: current.process.pid)
        history.initializations.append(report)
        unreportedInit = status == .success ? report : nil
        if status != .success, let failed = instance {
            // A failed init is a reset: the extension is stopped and started again at the next invoke.
            failed.process.send(SIGKILL)
            _ = await failed.process.waitForExit()
            await retire(failed)
        }
        return report
    }

    private func initOutcome(ready: Bool) -> (PhaseStatus, String?) {
        if ready { return (.success, nil) }
        if let initError = instance?.initError { return (.error, initError) }
        if instance?.exit != nil { return (.failure, "Extension.Crash") }
        return (.timeout, "Sandbox.Timedout")
    }

    func phaseRecord(_ fields: [String: JSON], status: PhaseStatus, errorType: String?) -> JSON {
        var record = fields
        record["status"] = .string(status.rawValue)
        if let errorType { record["errorType"] = .string(errorType) }
        return .object(record)
    }

    // MARK: Invoke

    private func run(
        logLines: Int, padding: Int, handlerDuration: Duration, initialization: InitReport?
    ) async
        -> InvocationReport
    {
        let started = clock.now
        let startedAt = PlatformTime.nowMilliseconds()
        let deadline = started + configuration.functionTimeout
        let requestId = UUID().uuidString.lowercased()
        let traceId = "Root=1-\(String(startedAt / 1000, radix: 16))-\(hex(24));Parent=\(hex(16));Sampled=0"
        let tracing: JSON = ["type": "X-Amzn-Trace-Id", "value": .string(traceId)]
        if instance?.events.contains("INVOKE") == true {
            deliver([
                "eventType": "INVOKE", "requestId": .string(requestId),
                "deadlineMs": .number(Double(startedAt + configuration.functionTimeout.milliseconds)),
                "invokedFunctionArn": .string(configuration.functionArn), "tracing": tracing,
            ])
        }
        await telemetry.emit(
            "platform.start",
            .platform([
                "requestId": .string(requestId), "version": .string(configuration.functionVersion), "tracing": tracing,
            ]), requestId: requestId)
        var markers: [String] = []
        for line in 0..<logLines {
            let marker = "marker-\(UUID().uuidString.lowercased())"
            markers.append(marker)
            let message = "line \(line + 1) of \(logLines) \(marker)" + String(repeating: "x", count: padding)
            await telemetry.emit(
                "function", .logLine(message: message, level: "INFO", requestId: requestId), marker: marker,
                requestId: requestId)
        }
        // The handler runs; a handler that outlasts the function timeout is cut off by it.
        try? await Task.sleep(until: min(started + handlerDuration, deadline), clock: clock)
        let handlerEnded = clock.now
        let ran = handlerEnded - started
        let handlerTimedOut = handlerDuration >= configuration.functionTimeout
        if !handlerTimedOut {
            await telemetry.emit(
                "platform.runtimeDone",
                .platform([
                    "requestId": .string(requestId), "status": "success",
                    "metrics": ["durationMs": .number(ran.platformMilliseconds), "producedBytes": 0],
                    "spans": [
                        span("responseLatency", startedAt, ran),
                        span("responseDuration", startedAt + ran.milliseconds, .zero),
                    ],
                    "tracing": tracing,
                ]), requestId: requestId)
        }
        // Every extension must be back in /next before the invocation ends; that wait is billed.
        let generation = instance?.generation
        var back = !handlerTimedOut
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
        let (status, errorType): (PhaseStatus, String?) =
            back
            ? (.success, nil) : (ended >= deadline ? (.timeout, "Sandbox.Timedout") : (.failure, "Extension.Crash"))
        let duration = ended - started
        var metrics: [String: JSON] = [
            "durationMs": .number(duration.platformMilliseconds),
            "billedDurationMs": .number(Double((duration.platformMilliseconds).rounded(.up))),
            "memorySizeMB": .number(Double(configuration.memorySizeMB)),
            "maxMemoryUsedMB": .number(Double(instance?.process.peakMemoryMB ?? 0)),
        ]
        if let initialization { metrics["initDurationMs"] = .number(initialization.duration.platformMilliseconds) }
        await telemetry.emit(
            "platform.report",
            .platform(
                phaseRecord(
                    ["requestId": .string(requestId), "metrics": .object(metrics), "tracing": tracing], status: status,
                    errorType: errorType)), requestId: requestId)
        if back {
            await freeze()
        } else {
            // A timeout or a crash during invoke resets the environment like a shutdown.
            await terminate(reason: status == .timeout ? .timeout : .failure)
        }
        return InvocationReport(
            requestId: requestId, status: status, errorType: errorType, initialization: initialization,
            handlerDuration: ran, addedTime: addedTime, markers: markers)
    }

    private func span(_ name: String, _ startMilliseconds: Int64, _ duration: Duration) -> JSON {
        [
            "name": .string(name), "start": .string(PlatformTime.iso8601(milliseconds: startMilliseconds)),
            "durationMs": .number(duration.platformMilliseconds),
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

    // MARK: Shutdown and reset

    /// SHUTDOWN with `reason`, then SIGKILL at the deadline; the process is gone afterwards.
    @discardableResult
    func terminate(reason: ShutdownReason) async -> ShutdownReport {
        let started = clock.now
        guard let current = instance, current.exit == nil else {
            // Already gone (a crash): nothing to tell it, only to record.
            let ended = instance
            if let ended { await retire(ended) }
            let report = ShutdownReport(
                reason: reason, duration: .zero, exitStatus: ended?.exit, killedAtDeadline: false,
                eventDelivered: false, reportedError: ended?.exitError)
            history.shutdowns.append(report)
            return report
        }
        await thaw()
        let deadline = started + configuration.extensionShutdownTime
        var eventDelivered = false
        if current.events.contains("SHUTDOWN") {
            eventDelivered = current.inNext
            deliver([
                "eventType": "SHUTDOWN", "shutdownReason": .string(reason.rawValue),
                "deadlineMs": .number(
                    Double(PlatformTime.nowMilliseconds() + configuration.extensionShutdownTime.milliseconds)),
            ])
            _ = await waitUntil(deadline) {
                if instance?.queuedEvent == nil { eventDelivered = true }
                return instance?.exit != nil
            }
        }
        var killed = false
        if instance?.exit == nil {
            killed = true
            current.process.send(SIGKILL)
        }
        let exitStatus = await current.process.waitForExit()
        let reportedError = instance?.exitError
        await retire(current)
        let report = ShutdownReport(
            reason: reason, duration: clock.now - started, exitStatus: exitStatus, killedAtDeadline: killed,
            eventDelivered: eventDelivered, reportedError: reportedError)
        history.shutdowns.append(report)
        return report
    }
}
