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
        try await invoke(
            InvocationScript(
                lines: FunctionLogLine.numbered(logLines, padding: logLinePadding), handlerDuration: handlerDuration))
    }

    /// Invokes the function as ``invoke(logLines:logLinePadding:handlerDuration:)`` does, with the
    /// lines, handler duration, outcome and forced delivery breaks of `script`. An outcome that
    /// resets the environment (timeout, failure, out of memory) sends the extension SHUTDOWN at the
    /// end of the invocation; the next invocation initialises a new one.
    @discardableResult
    public func invoke(_ script: InvocationScript) async throws -> InvocationReport {
        try beginPhase()
        defer { busy = false }
        if instance == nil || instance?.exit != nil {
            if let ended = instance { await retire(ended) }
            let report = try await initialise()
            guard report.status == .success else {
                let failed = InvocationReport.notRun(
                    requestId: UUID().uuidString.lowercased(), initialization: report,
                    memorySizeMB: configuration.memorySizeMB)
                history.invocations.append(failed)
                return failed
            }
        }
        // The first invocation after an init reports it (initDurationMs), as Lambda's REPORT does.
        let initialization = unreportedInit
        unreportedInit = nil
        await thaw()
        let report = await run(script, initialization: initialization)
        history.invocations.append(report)
        return report
    }

    /// Ends the environment: thaws the extension, lets the function write its shutdown lines, sends
    /// SHUTDOWN with `reason` and a deadline of the shutdown budget less the runtime's reserve, keeps
    /// delivering telemetry while it runs, and kills it with SIGKILL at the deadline. Telemetry not delivered by then is lost with the
    /// environment; a later invocation starts a new one.
    @discardableResult
    public func shutdown(reason: ShutdownReason = .spindown) async throws -> ShutdownReport {
        try beginPhase()
        defer { busy = false }
        let report = await terminate(reason: reason, lines: configuration.shutdownLogLines)
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
        // A SnapStart environment is restored from its snapshot rather than initialised; the
        // simulator still starts the extension, but reports a restore.
        let restore = configuration.snapStart
        let phase: [String: JSON] = ["initializationType": "on-demand", "phase": "init"]
        let eventPrefix = restore ? "platform.restore" : "platform.init"
        var startRecord: [String: JSON] = [
            "functionName": .string(configuration.functionName),
            "functionVersion": .string(configuration.functionVersion),
            "instanceMaxMemory": .number(Double(configuration.memorySizeMB << 20)),
            "runtimeVersion": "provided:al2023.simulated",
        ]
        if !restore { startRecord.merge(phase) { $1 } }
        await telemetry.emit("\(eventPrefix)Start", .platform(.object(startRecord)))
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
        var markers: [String] = []
        if registered {
            for line in configuration.initLogLines { markers.append(await write(line, phase: .`init`, requestId: nil)) }
        }
        let ready = await waitUntil(deadline) { settled(instance) || instance?.inNext == true }
        let (status, errorType) = initOutcome(ready: ready && instance?.inNext == true && registered)
        await telemetry.emit(
            "\(eventPrefix)RuntimeDone",
            .platform(
                phaseRecord(
                    restore ? [:] : phase, status: registered ? .success : status,
                    errorType: registered ? nil : errorType)))
        if status == .success, let ready = instance {
            await telemetry.emit(
                "platform.extension",
                .platform([
                    "name": .string(configuration.extensionName), "state": "Ready",
                    "events": .array(ready.events.map(JSON.string)),
                ]))
        }
        let duration = clock.now - started
        var reportRecord = restore ? [:] : phase
        reportRecord["metrics"] = ["durationMs": .number(duration.platformMilliseconds)]
        await telemetry.emit(
            "\(eventPrefix)Report", .platform(phaseRecord(reportRecord, status: status, errorType: errorType)))
        await telemetry.initEnded()
        let report = InitReport(
            status: status, errorType: errorType, duration: duration, processId: current.process.pid,
            initializationType: configuration.initializationType, durationMs: duration.platformMilliseconds,
            markers: markers)
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

    // MARK: Shutdown and reset

    /// SHUTDOWN with `reason`, then SIGKILL at the deadline; the process is gone afterwards. `lines`
    /// are the function's, written as the runtime gets its SIGTERM, once the extension has its SHUTDOWN.
    @discardableResult
    func terminate(reason: ShutdownReason, lines: [FunctionLogLine] = []) async -> ShutdownReport {
        let started = clock.now
        guard let current = instance, current.exit == nil else {
            // Already gone (a crash): nothing to tell it, only to record.
            let ended = instance
            if let ended { await retire(ended) }
            let report = ShutdownReport(
                reason: reason, duration: .zero, exitStatus: ended?.exit, killedAtDeadline: false,
                eventDelivered: false, reportedError: ended?.exitError, markers: [])
            history.shutdowns.append(report)
            return report
        }
        await thaw()
        let deadline = started + configuration.extensionShutdownTime
        var markers: [String] = []
        var eventDelivered = false
        if current.events.contains("SHUTDOWN") {
            eventDelivered = current.inNext
            deliver([
                "eventType": "SHUTDOWN", "shutdownReason": .string(reason.rawValue),
                "deadlineMs": .number(
                    Double(PlatformTime.nowMilliseconds() + configuration.extensionShutdownTime.milliseconds)),
            ])
            // The runtime's own shutdown work logs once the phase is under way: after the extension
            // has its SHUTDOWN (and a little later: a runtime takes a moment to run its SIGTERM handler).
            if !lines.isEmpty {
                _ = await waitUntil(deadline) { instance?.queuedEvent == nil || instance?.exit != nil }
                try? await Task.sleep(for: .milliseconds(100))
                for line in lines { markers.append(await write(line, phase: .shutdown, requestId: nil)) }
            }
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
        if !current.events.contains("SHUTDOWN") {
            for line in lines { markers.append(await write(line, phase: .shutdown, requestId: nil)) }
        }
        let reportedError = instance?.exitError
        await retire(current)
        let report = ShutdownReport(
            reason: reason, duration: clock.now - started, exitStatus: exitStatus, killedAtDeadline: killed,
            eventDelivered: eventDelivered, reportedError: reportedError, markers: markers)
        history.shutdowns.append(report)
        return report
    }
}
