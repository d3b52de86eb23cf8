import AsyncHTTPClient
import Foundation
public import Logging

/// An emulated Lambda execution environment for one external extension: it starts the extension as
/// a real child process and plays the platform's side of the Extensions API and the Telemetry API —
/// init, invocations, freezes, resets, shutdown and telemetry delivery — as the reference describes them.
///
/// Use it through ``with(_:logger:isolation:_:)`` so the child process and the servers are always cleaned up.
public actor LambdaSimulator {
    public nonisolated var unownedExecutor: UnownedSerialExecutor { PlatformExecutor.shared.asUnownedSerialExecutor() }

    /// One started extension process and what the platform knows about it.
    struct Instance {
        let process: ExtensionProcess
        let generation: Int
        var identifier: String?
        var events: [String] = []
        var internalIdentifiers: Set<String> = []
        /// The extension waits in `/next` (its request is held in `pendingNext`).
        var pendingNext: CheckedContinuation<PlatformResponse, Never>?
        /// When the held `/next` call arrived: the moment the extension was done, for the added time.
        var nextSince: ContinuousClock.Instant?
        /// An event for its next `/next` call, when it was busy as the event came.
        var queuedEvent: JSON?
        var initError: String?
        var exitError: String?
        var exit: ExitStatus?
        var output: Task<Void, Never>?

        var registered: Bool { identifier != nil }
        var inNext: Bool { pendingNext != nil }
    }

    public let configuration: SimulatorConfiguration
    let telemetry: TelemetryPlatform
    let logger: Logger
    let clock = ContinuousClock()
    let signal = ChangeSignal()
    var server: PlatformServer?
    var instance: Instance?
    var generation = 0
    var registrationOpen = false
    var frozen = false
    var busy = false
    var stopped = false
    /// The extension's CPU share, with `limitsCPUByMemory`.
    var cpuQuota: CPUQuota?
    /// The environment exists (from its first init until its shutdown): telemetry is produced for it.
    var environmentAlive = false
    var output: [String] = []
    var history = PlatformLedger()
    /// The last successful init, until the invocation that follows it reports it.
    var unreportedInit: InitReport?

    private init(configuration: SimulatorConfiguration, client: HTTPClient, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        telemetry = TelemetryPlatform(configuration: configuration, client: client, logger: logger)
    }

    /// Runs `body` with a simulator serving on a free loopback port; afterwards (also when `body`
    /// throws) the extension is killed and every server and connection closed. `body` runs on the
    /// simulator's thread: wait with `await` (sleeps, polls), never by blocking the thread.
    public static func with<Result: Sendable>(
        _ configuration: SimulatorConfiguration,
        logger: Logger = Logger(label: "lambda-simulator", factory: { _ in SwiftLogNoOpLogHandler() }),
        isolation: isolated (any Actor)? = #isolation,
        _ body: (LambdaSimulator) async throws -> Result
    ) async throws -> Result {
        // Everything the simulator runs prefers its own thread (see PlatformExecutor), the body too.
        try await withTaskExecutorPreference(PlatformExecutor.shared) {
            try await withSimulator(configuration, logger: logger, body)
        }
    }

    private static func withSimulator<Result: Sendable>(
        _ configuration: SimulatorConfiguration, logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (LambdaSimulator) async throws -> Result
    ) async throws -> Result {
        var clientConfiguration = HTTPClient.Configuration()
        clientConfiguration.timeout = .init(connect: .seconds(1))
        // A refused connection is a failed delivery at once; the platform's own backoff retries it.
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        return try await HTTPClient.withHTTPClient(configuration: clientConfiguration) { client in
            let simulator = LambdaSimulator(configuration: configuration, client: client, logger: logger)
            do {
                try await simulator.listen()
                let result = try await body(simulator)
                await simulator.stop()
                return result
            } catch {
                await simulator.stop()
                throw error
            }
        }
    }

    private func listen() async throws {
        if configuration.limitsCPUByMemory {
            let name = "sluice-simulator-\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
            switch CPUQuota.make(memorySizeMB: configuration.memorySizeMB, name: name) {
            case .success(let quota): cpuQuota = quota
            case .failure(let error): throw error
            }
        }
        server = try await PlatformServer { [weak self] request in
            guard let self else { return .error(500, "Simulator.Stopped", "the simulator is gone") }
            return await self.handle(request)
        }
        await telemetry.start()
    }

    /// `host:port` of the platform's API, as the extension finds it in `AWS_LAMBDA_RUNTIME_API`.
    public var runtimeAPI: String { "127.0.0.1:\(server?.port ?? 0)" }

    /// The running extension's process id (also its process group), nil when none runs.
    public var extensionProcessId: Int32? { instance?.exit == nil ? instance?.process.pid : nil }

    /// Whether the extension is frozen (SIGSTOP) right now.
    public var isFrozen: Bool { frozen }

    /// Every line the extension wrote to stdout or stderr, over all its processes, in order.
    public func extensionOutput() -> [String] { output }

    /// The telemetry acknowledged so far, the delivery counts, and every init, invocation and shutdown.
    public func ledger() async -> PlatformLedger {
        var ledger = await telemetry.snapshot()
        ledger.initializations = history.initializations
        ledger.invocations = history.invocations
        ledger.shutdowns = history.shutdowns
        return ledger
    }

    /// Keeps the environment as it is (frozen, if it was) for `duration`, as an idle function does
    /// between invocations.
    public func idle(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }

    /// Kills the extension with SIGKILL at once, whatever it is doing. The environment is not
    /// otherwise touched (its `/tmp` stays, undelivered telemetry stays buffered); the next
    /// invocation initialises it again, as after a reset.
    public func kill9() async {
        guard let current = instance else { return }
        current.process.send(SIGCONT)
        current.process.send(SIGKILL)
        _ = await current.process.waitForExit()
        await retire(current)
        if frozen {
            frozen = false
            await telemetry.thaw()
        }
    }

    /// POSTs `body` to the current subscriber as the platform would, without buffering or recording
    /// it: for tests of malformed deliveries. A frozen extension is let run for the delivery (only a
    /// running sandbox gets deliveries) and frozen again. Returns the status and body of the answer.
    public func deliverRaw(
        _ body: [UInt8], contentType: String = "application/json"
    ) async throws
        -> (status: Int, body: String)
    {
        guard let destination = await telemetry.destination else {
            throw SimulatorError(
                code: .notSubscribed, message: "no telemetry subscription yet: start() the extension first")
        }
        let process = frozen ? instance?.process : nil
        process?.send(SIGCONT)
        defer { process?.send(SIGSTOP) }
        return try await telemetry.post(body, to: destination, contentType: contentType, letRun: process != nil)
    }

    /// The port of the subscriber's telemetry listener, once it has subscribed: for tests that
    /// connect to it as another process in the sandbox would.
    public func telemetryPort() async -> Int? {
        guard let destination = await telemetry.destination else { return nil }
        let authority = destination.split(separator: "/").dropFirst().first ?? ""
        return authority.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Kills the extension (SIGCONT, then SIGKILL) and closes the servers. Called by `with`.
    public func stop() async {
        guard !stopped else { return }
        stopped = true
        if let current = instance {
            current.process.send(SIGCONT)
            current.process.send(SIGKILL)
            _ = await current.process.waitForExit()
            await retire(current)
        }
        await telemetry.stop()
        await server?.close()
        await cpuQuota?.remove()
        signal.signal()
    }

    // MARK: The extension process

    func launch() throws -> Instance {
        generation += 1
        let generation = generation
        let process: ExtensionProcess
        do {
            process = try ExtensionProcess(
                path: configuration.extensionPath, arguments: configuration.extensionArguments,
                environment: extensionEnvironment()
            ) { [weak self] status in
                Task(executorPreference: PlatformExecutor.shared) {
                    await self?.processExited(generation: generation, status: status)
                }
            }
        } catch {
            throw SimulatorError(
                code: .launchFailed,
                message:
                    "cannot start \(configuration.extensionPath) (\(error)): check that it exists and is executable")
        }
        if let cpuQuota {
            do {
                try cpuQuota.add(process.pid)
            } catch {
                process.send(SIGKILL)
                throw SimulatorError(
                    code: .launchFailed, message: "cannot put the extension into the cgroup \(cpuQuota.path): \(error)")
            }
        }
        var started = Instance(process: process, generation: generation)
        started.output = Task(executorPreference: PlatformExecutor.shared) { [weak self] in
            for await line in process.lines { await self?.extensionWrote(line) }
        }
        return started
    }

    /// The environment Lambda gives an extension: the function's variables, then the platform's own.
    private func extensionEnvironment() -> [String: String] {
        var environment = ["PATH": "/usr/local/bin:/usr/bin:/bin:/opt/bin", "LANG": "en_US.UTF-8", "TZ": ":UTC"]
        environment.merge(configuration.environment) { $1 }
        environment.merge([
            "AWS_LAMBDA_RUNTIME_API": runtimeAPI,
            "AWS_REGION": configuration.region,
            "AWS_DEFAULT_REGION": configuration.region,
            "AWS_LAMBDA_FUNCTION_NAME": configuration.functionName,
            "AWS_LAMBDA_FUNCTION_VERSION": configuration.functionVersion,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": String(configuration.memorySizeMB),
            "AWS_LAMBDA_INITIALIZATION_TYPE": configuration.initializationType,
            "AWS_ACCESS_KEY_ID": configuration.accessKeyId,
            "AWS_SECRET_ACCESS_KEY": configuration.secretAccessKey,
            "AWS_SESSION_TOKEN": configuration.sessionToken,
        ]) { $1 }
        if let runtime = configuration.executionEnvironment { environment["AWS_EXECUTION_ENV"] = runtime }
        return environment
    }

    private func extensionWrote(_ line: String) async {
        output.append(line)
        guard environmentAlive else { return }
        await telemetry.emit("extension", .logLine(message: line, level: "INFO", requestId: nil))
    }

    private func processExited(generation: Int, status: ExitStatus) {
        guard var current = instance, current.generation == generation else { return }
        current.exit = status
        // A held /next belongs to a connection that died with the process.
        current.pendingNext?.resume(returning: .error(500, "Extension.Exited", "the extension exited"))
        current.pendingNext = nil
        instance = current
        logger.debug("extension exited", metadata: ["extension.exit": "\(status)"])
        signal.signal()
    }

    /// Forgets a process that has ended, once its last output lines were read and emitted.
    func retire(_ ended: Instance) async {
        guard instance?.generation == ended.generation else { return }
        instance?.pendingNext?.resume(returning: .error(500, "Extension.Exited", "the extension exited"))
        instance = nil
        // The pipes close when the process group is gone, and the last lines are telemetry too; a
        // child that left the group may hold them open, so the wait is bounded.
        if let output = ended.output {
            await withTaskGroup(of: Void.self) { group in
                group.addTask(executorPreference: PlatformExecutor.shared) { await output.value }
                group.addTask(executorPreference: PlatformExecutor.shared) { try? await Task.sleep(for: .seconds(1)) }
                await group.next()
                group.cancelAll()
            }
        }
        signal.signal()
    }

    // MARK: Freezing

    func freeze() async {
        guard configuration.freezesBetweenInvocations, !frozen, let current = instance, current.exit == nil else {
            return
        }
        await telemetry.freeze()
        current.process.send(SIGSTOP)
        frozen = true
        // A signal lands asynchronously; the freeze is done when the process is seen stopped, as
        // Lambda's freezer returns once every task is frozen.
        let deadline = clock.now + .seconds(2)
        while current.process.schedulerState.map({ $0 != "T" && $0 != "t" }) ?? false, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    func thaw() async {
        guard frozen else { return }
        instance?.process.send(SIGCONT)
        frozen = false
        await telemetry.thaw()
    }

    // MARK: Waiting

    /// Waits until `condition` holds (true) or `deadline` passes (false), re-checking on every change.
    func waitUntil(_ deadline: ContinuousClock.Instant, _ condition: () -> Bool) async -> Bool {
        while true {
            if condition() { return true }
            if clock.now >= deadline || stopped { return false }
            let generation = signal.generation
            await signal.wait(after: generation, until: deadline)
        }
    }

    /// Marks the start of a start, invoke or shutdown; they do not overlap.
    func beginPhase() throws {
        guard !stopped else { throw SimulatorError(code: .stopped, message: "the simulator was stopped") }
        guard !busy else {
            throw SimulatorError(code: .busy, message: "wait for the running start, invoke or shutdown to return")
        }
        busy = true
    }
}
