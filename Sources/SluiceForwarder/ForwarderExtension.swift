public import Logging
import SluiceHTTP
import SluiceIngest
public import SluiceLambda
import SluiceOpenSearch
import SluiceShipping
import SluiceSpool
public import SluiceTime

/// The extension's life: register, open the spool, listen, subscribe, then loop on `/next`
/// (holding it per the flush policy), and on SHUTDOWN ship until the deadline and exit.
/// This file wires the stages together; `+Lifecycle` follows `/next`, `+Shutdown` drains.
///
/// Nothing goes on the network before the first `/next` except the Extensions and Telemetry API
/// calls: the shipper (secret fetch, index bootstrap, bulk) starts after it.
public struct ForwarderExtension: Sendable {
    /// Sluice's version, in the health documents and `sluice --version`.
    public static let version = "0.13.0"

    let environment: [String: String]
    let api: any ExtensionsAPI
    /// Builds the logger once the log level is known.
    let makeLogger: @Sendable (Logger.Level) -> Logger
    /// The address to listen on; `sandbox.localdomain` on Lambda.
    let listenerHost: String
    /// Stop shipping this long before the SHUTDOWN deadline, so the exit comes before SIGKILL
    /// (`shutdownMargin(memorySizeMB:)` unless given).
    let shutdownMarginMilliseconds: Int64
    /// The forwarder's one clock: the spool's times, the shipper's backoffs, holds and the drain.
    let clock: WallClock
    /// Real time, for the waits that are about the CPU's periods rather than the forwarder's
    /// deadlines (a test that moves `clock` by hand does not move these).
    let realTime: WallClock

    public init(
        environment: [String: String], api: any ExtensionsAPI, listenerHost: String = "sandbox.localdomain",
        shutdownMarginMilliseconds: Int64? = nil, clock: WallClock = .system, realTime: WallClock = .system,
        makeLogger: @escaping @Sendable (Logger.Level) -> Logger
    ) {
        self.clock = clock
        self.realTime = realTime
        self.environment = environment
        self.api = api
        self.listenerHost = listenerHost
        self.shutdownMarginMilliseconds =
            shutdownMarginMilliseconds
            ?? Self.shutdownMargin(memorySizeMB: environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"].flatMap { Int($0) })
        self.makeLogger = makeLogger
    }

    /// How long before the SHUTDOWN deadline the drain stops, for a function of `memorySizeMB`.
    ///
    /// After the drain the extension writes what is left and its shutdown line and exits: about
    /// 5 ms of CPU (`tools/bench lifecycle`: exits 1-6 ms after the drain ended at every share).
    /// Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB, as a CFS
    /// quota: a process that has spent its quota in the current period (100 ms) waits for the
    /// next, and then runs at its share. So the margin is 50 ms at a full vCPU, and below it the
    /// wait for the next period and 5 ms of CPU at the share; at most 200 ms (128 MB, and a
    /// memory size that is not known).
    public static func shutdownMargin(memorySizeMB: Int?) -> Int64 {
        guard let memorySizeMB, memorySizeMB > 0 else { return 200 }
        let share = min(1, Double(memorySizeMB) / 1_769)
        let margin = 50 + 100 * (1 - share) + 5 / share
        return min(200, Int64(margin.rounded(.up)))
    }

    /// Runs the extension; returns the process exit status.
    public func run() async -> Int32 {
        var (configuration, problems) = ForwarderConfiguration.fromEnvironment(environment)
        configuration.spool.clock = clock
        let logger = makeLogger(Logger.Level(rawValue: configuration.logLevel) ?? .info)
        var phases = InitPhases()
        // Configuration that stops init opens no spool; it is said once registered.
        let fatal = configuration.failMode == .closed ? problems + configuration.warnings : problems
        // The spool opens, and the listener's host name is resolved, on a thread of its own while the
        // platform answers the registration: the three were 1.2, about 1 (a name that does not
        // resolve asks the DNS servers) and 1.7 ms of a 9 ms cold start one after the other
        // (`tools/bench lifecycle`). Nothing else touches the spool until it is handed over here.
        let spoolConfiguration = configuration.spool
        let host = listenerHost
        let opening =
            fatal.isEmpty
            ? Task {
                await onThreadOfItsOwn {
                    let address = Result { try ListenerAddress.resolve(host) }
                    let spool = Result { () throws -> OpenedSpool in
                        let spool = try Spool.open(spoolConfiguration, access: .owner, logger: logger)
                        return OpenedSpool(spool: spool, environmentID: try spool.environmentID())
                    }
                    return (spool, address)
                }
            } : nil
        let registration: Registration
        do {
            registration = try await api.register()
            phases.end("register")
        } catch {
            logger.critical("could not register with the Extensions API", metadata: ["error": "\(error)"])
            return 1
        }
        // Every line is said before anything stops: a user fixes them all in one deploy. What Sluice
        // works around is a warning; under closed it stops init like a problem, and is said as one.
        func say(_ line: ForwarderError, at level: Logger.Level) {
            logger.log(
                level: level, "configuration: \(line.message)",
                metadata: ["error.code": "\(line.code)", "variable": "\(line.variable ?? "")"])
        }
        for problem in problems { say(problem, at: .error) }
        for warning in configuration.warnings {
            say(warning, at: configuration.failMode == .closed ? .error : .warning)
        }
        guard let opening, fatal.isEmpty else {
            return await failInit(
                configuration, ForwarderError(.configuration, fatal.map(\.message).joined(separator: "; ")),
                logger: logger)
        }

        let spool: Spool
        let environmentID: String
        let (opened, address) = await opening.value
        do {
            // The step's time is what is left of the open once registered.
            let open = try opened.get()
            (spool, environmentID) = (open.spool, open.environmentID)
            phases.end("spool")
        } catch {
            logger.error("the spool cannot be opened: \(error)")
            return await failInit(configuration, ForwarderError(.spool, "\(error)"), logger: logger)
        }

        let httpClient = OpenSearchClient.makeHTTPClient(configuration.openSearch)
        let status = await serve(
            configuration, registration: registration, spool: spool, environmentID: environmentID,
            listenerAddress: address, httpClient: httpClient, phases: phases, logger: logger)
        // A request still in flight is abandoned; its records stay in the spool. Not waited for: a
        // connection attempt to a host that refuses can hold shutdown() until its timeout, past the
        // SHUTDOWN deadline. The task keeps the client alive until it has shut down (or the process
        // exits, which is what happens next).
        Task { await httpClient.shutdown() }
        return status
    }

    /// Everything after the spool is open: listen, subscribe, loop on `/next`.
    private func serve(
        _ configuration: ForwarderConfiguration, registration: Registration, spool: Spool, environmentID: String,
        listenerAddress: Result<ListenerAddress, any Error>, httpClient: HTTP1Client, phases: InitPhases,
        logger: Logger
    ) async -> Int32 {
        var phases = phases
        // One account of the process's CPU time by stage, for health documents and the shutdown line.
        let cpu = StageCPU()
        let client = OpenSearchClient(
            configuration: configuration.openSearch, httpClient: httpClient, environment: environment, logger: logger,
            cpu: cpu)
        let routing = IndexRouting(
            platform: configuration.platformIndex, function: configuration.functionIndex,
            extension: configuration.extensionIndex, invocation: configuration.invocationIndex)
        let shipper = Shipper(spool: spool, client: client, clock: clock, logger: logger) { index, cluster in
            routing.definition(forIndex: index, flatObject: cluster.hasFlatObject)
        }
        let loop = ShippingLoop(shipper: shipper, logger: logger)
        let function = TelemetryDocument.Function(
            name: registration.functionName.isEmpty
                ? environment["AWS_LAMBDA_FUNCTION_NAME"] ?? "" : registration.functionName,
            version: registration.functionVersion.isEmpty
                ? environment["AWS_LAMBDA_FUNCTION_VERSION"] ?? "" : registration.functionVersion,
            region: environment["AWS_REGION"] ?? "",
            architecture: TelemetryDocument.Function.builtArchitecture,
            memorySizeMB: environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"].flatMap { Int($0) },
            runtime: environment["AWS_EXECUTION_ENV"].map {
                $0.hasPrefix("AWS_Lambda_") ? String($0.dropFirst("AWS_Lambda_".count)) : $0
            },
            logGroup: environment["AWS_LAMBDA_LOG_GROUP_NAME"], accountId: registration.accountID,
            labels: configuration.labels)
        let ingestor = Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: environmentID,
            indices: routing, logger: logger, rules: configuration.rules,
            health: HealthReport(version: Self.version, settings: ForwarderConfiguration.settings(environment)),
            clock: clock, cpu: cpu, onStored: { loop.wake() })

        let listener: TelemetryListener
        do {
            listener = try await listen(configuration, at: listenerAddress, ingestor: ingestor, logger: logger)
        } catch {
            logger.error("the telemetry listener cannot start: \(error)")
            return await failInit(configuration, ForwarderError(.listener, "\(error)"), logger: logger)
        }
        let serving = Task { await listener.run() }
        defer { serving.cancel() }
        phases.end("listener")

        let subscription = TelemetrySubscription(
            schemaVersion: configuration.schemaVersion,
            destination: "http://sandbox.localdomain:\(listener.port)/telemetry",
            maxItems: configuration.bufferMaxItems, maxBytes: configuration.bufferMaxBytes,
            timeoutMilliseconds: configuration.bufferTimeoutMilliseconds)
        do {
            if try await subscribe(subscription, logger: logger) == .unsupported {
                logger.notice("this platform has no Telemetry API (HTTP 202); nothing will be delivered")
            }
        } catch {
            logger.error("the Telemetry API subscription failed: \(error)")
            return await failInit(configuration, ForwarderError(.subscription, "\(error)"), logger: logger)
        }
        phases.end("subscribe")
        logger.info(
            "sluice is running",
            metadata: [
                "spool.path": "\(configuration.spool.path)", "spool.waiting": "\(spool.waitingCount)",
                "listener": "\(listener.host):\(listener.port)", "flush": "\(configuration.flushPolicy)",
                "init.ms": "\(phases)", "rules": "\(configuration.rules.summary)",
            ])

        return await follow(
            configuration, spool: spool, loop: loop, ingestor: ingestor, listener: listener, logger: logger)
    }

    /// The spool's full check, which the open leaves out to keep it off the cold start: on its own
    /// connection and a thread of its own (it reads the whole file), `afterMilliseconds` after the
    /// first invoke.
    func verifyLater(_ spool: Spool, afterMilliseconds: Int64, logger: Logger) {
        Task { [realTime] in
            await realTime.sleep(until: realTime.now() + afterMilliseconds)
            switch await onThreadOfItsOwn({ spool.verify() }) {
            case .sound: break
            case .damaged(let problem):
                logger.error(
                    "the spool is damaged; it ships what it can read and is moved aside at the next start",
                    metadata: ["error": "\(problem)"])
            case .notChecked(let reason):
                logger.warning("the spool's check could not run", metadata: ["error": "\(reason)"])
            }
        }
    }

    /// When an open moved a damaged spool aside (this one, or one killed before its salvage ended):
    /// what can still be read of it (records and dead letters) goes into the new spool, on a thread of its own (it reads
    /// the whole file), `afterMilliseconds` after the first invoke, and shipped with the rest.
    func salvageLater(_ spool: Spool, afterMilliseconds: Int64, loop: ShippingLoop, logger: Logger) {
        guard let aside = spool.pendingSalvage() else { return }
        Task { [realTime] in
            await realTime.sleep(until: realTime.now() + afterMilliseconds)
            let salvage = await onThreadOfItsOwn({ spool.salvage(from: aside) })
            if salvage.recovered > 0 { loop.wake() }
            logger.log(
                level: salvage.unreadable ? .warning : .notice,
                salvage.unreadable
                    ? "salvaged what could be read of the damaged spool; the records on its damaged pages are lost"
                    : "salvaged the damaged spool's records and dead letters",
                metadata: [
                    "spool.salvaged": "\(salvage.recovered)", "spool.salvaged_dead_letters": "\(salvage.deadLetters)",
                    "spool.salvaged_before": "\(salvage.duplicates)", "spool.quarantined_to": "\(aside)",
                ])
        }
    }

    /// Subscribes, trying again twice after a 5xx or no answer; a 4xx is final (the request is wrong).
    private func subscribe(
        _ subscription: TelemetrySubscription, logger: Logger
    ) async throws(LambdaError) -> SubscriptionOutcome {
        var attempt = 1
        while true {
            do {
                return try await api.subscribe(subscription)
            } catch {
                guard attempt < 3, (error.status ?? 500) >= 500 else { throw error }
                logger.warning("the Telemetry API subscription failed; trying again", metadata: ["error": "\(error)"])
                await clock.sleep(until: clock.now() + Int64(100 * attempt))
                attempt += 1
            }
        }
    }

    /// Binds the listener on the sandbox address (`address`, resolved from `listenerHost`), or on
    /// 127.0.0.1 where that name does not resolve.
    private func listen(
        _ configuration: ForwarderConfiguration, at address: Result<ListenerAddress, any Error>, ingestor: Ingestor,
        logger: Logger
    ) async throws -> TelemetryListener {
        // The platform sends up to about twice maxBytes; leave room above that.
        let maxBody = max(4 * configuration.bufferMaxBytes, 4 << 20)
        let limits = ListenerLimits(maxBodyBytes: maxBody)
        let deliver: TelemetryListener.Deliver = { body in ingestor.ingest(body) }
        do {
            return try await TelemetryListener.bind(try address.get(), limits: limits, deliver: deliver)
        } catch {
            logger.notice(
                "\(listenerHost) does not resolve here; listening on 127.0.0.1", metadata: ["error": "\(error)"])
            return try await TelemetryListener.bind(host: "127.0.0.1", limits: limits, deliver: deliver)
        }
    }

    /// A setup failure: `closed` reports `init/error` and exits; `open` (the default) logs and keeps
    /// answering the platform without shipping, so the function never fails because of telemetry.
    private func failInit(
        _ configuration: ForwarderConfiguration, _ failure: ForwarderError, logger: Logger
    ) async -> Int32 {
        if configuration.failMode == .closed {
            try? await api.initError(type: failure.code.platformErrorType, message: failure.message)
            return 1
        }
        logger.error("sluice is not shipping telemetry (SLUICE_FAIL_MODE=open); fix the problems above")
        while true {
            do {
                if case .shutdown = try await api.next() { return 0 }
            } catch {
                return 1
            }
        }
    }
}

/// A spool opened during init, with the environment id it keeps.
private struct OpenedSpool: Sendable {
    let spool: Spool
    let environmentID: String
}
