import AsyncHTTPClient
public import Logging
public import SluiceLambda
import SluiceOpenSearch
import SluiceSpool

/// The extension's life: register, open the spool, listen, subscribe, then loop on `/next`
/// (holding it per the flush policy), and on SHUTDOWN ship until the deadline and exit.
///
/// Nothing goes on the network before the first `/next` except the Extensions and Telemetry API
/// calls: the shipper (secret fetch, index bootstrap, bulk) starts after it.
public struct ForwarderExtension: Sendable {
    let environment: [String: String]
    let api: any ExtensionsAPI
    /// Builds the logger once the log level is known.
    let makeLogger: @Sendable (Logger.Level) -> Logger
    /// The address to listen on; `sandbox.localdomain` on Lambda.
    let listenerHost: String
    /// Stop shipping this long before the SHUTDOWN deadline, so the exit comes before SIGKILL.
    let shutdownMarginMilliseconds: Int64

    public init(
        environment: [String: String], api: any ExtensionsAPI, listenerHost: String = "sandbox.localdomain",
        shutdownMarginMilliseconds: Int64 = 200, makeLogger: @escaping @Sendable (Logger.Level) -> Logger
    ) {
        self.environment = environment
        self.api = api
        self.listenerHost = listenerHost
        self.shutdownMarginMilliseconds = shutdownMarginMilliseconds
        self.makeLogger = makeLogger
    }

    /// Runs the extension; returns the process exit status.
    public func run() async -> Int32 {
        let (configuration, problems) = ForwarderConfiguration.fromEnvironment(environment)
        let logger = makeLogger(Logger.Level(rawValue: configuration.logLevel) ?? .info)
        var phases = InitPhases()
        let registration: Registration
        do {
            registration = try await api.register()
            phases.end("register")
        } catch {
            logger.critical("could not register with the Extensions API", metadata: ["error": "\(error)"])
            return 1
        }
        guard problems.isEmpty else {
            for problem in problems { logger.error("configuration: \(problem)") }
            return await failInit(
                configuration, type: "Extension.ConfigurationError", message: problems.joined(separator: "; "),
                logger: logger)
        }

        let spool: Spool
        let environmentID: String
        do {
            spool = try Spool.open(configuration.spool, access: .owner, logger: logger)
            environmentID = try spool.environmentID()
            phases.end("spool")
        } catch {
            logger.error("the spool cannot be opened: \(error)")
            return await failInit(configuration, type: "Extension.SpoolError", message: "\(error)", logger: logger)
        }

        let httpClient = OpenSearchClient.makeHTTPClient(configuration.openSearch)
        let status = await serve(
            configuration, registration: registration, spool: spool, environmentID: environmentID,
            httpClient: httpClient, phases: phases, logger: logger)
        // A request still in flight is abandoned; its records stay in the spool. Not waited for: a
        // connection attempt to a host that refuses can hold shutdown() until its timeout, past the
        // SHUTDOWN deadline. The task keeps the client alive until it has shut down (or the process
        // exits, which is what happens next).
        Task { try? await httpClient.shutdown() }
        return status
    }

    /// Everything after the spool is open: listen, subscribe, loop on `/next`.
    private func serve(
        _ configuration: ForwarderConfiguration, registration: Registration, spool: Spool, environmentID: String,
        httpClient: HTTPClient, phases: InitPhases, logger: Logger
    ) async -> Int32 {
        var phases = phases
        let client = OpenSearchClient(
            configuration: configuration.openSearch, httpClient: httpClient, environment: environment, logger: logger)
        let platformIndex = configuration.platformIndex
        let shipper = Shipper(spool: spool, client: client, logger: logger) { index in
            platformIndex.matches(index) ? .platform : .logs
        }
        let loop = ShippingLoop(shipper: shipper, logger: logger)
        let function = TelemetryDocument.Function(
            name: registration.functionName.isEmpty
                ? environment["AWS_LAMBDA_FUNCTION_NAME"] ?? "" : registration.functionName,
            version: registration.functionVersion.isEmpty
                ? environment["AWS_LAMBDA_FUNCTION_VERSION"] ?? "" : registration.functionVersion,
            region: environment["AWS_REGION"] ?? "")
        let ingestor = Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: environmentID,
            indices: .init(
                platform: configuration.platformIndex, function: configuration.functionIndex,
                extension: configuration.extensionIndex),
            logger: logger, onStored: { loop.wake() })

        let listener: TelemetryListener
        do {
            listener = try await listen(configuration, ingestor: ingestor, logger: logger)
        } catch {
            logger.error("the telemetry listener cannot start: \(error)")
            return await failInit(configuration, type: "Extension.ListenerError", message: "\(error)", logger: logger)
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
            return await failInit(
                configuration, type: "Extension.SubscriptionError", message: "\(error)", logger: logger)
        }
        phases.end("subscribe")
        logger.info(
            "sluice is running",
            metadata: [
                "spool.path": "\(configuration.spool.path)", "spool.waiting": "\(spool.waitingCount)",
                "listener": "\(listener.host):\(listener.port)", "flush": "\(configuration.flushPolicy)",
                "init.ms": "\(phases)",
            ])

        var planner = FlushPlanner(
            policy: configuration.flushPolicy, budgetMilliseconds: configuration.flushBudgetMilliseconds,
            minimumWaiting: configuration.dispatchMinBatchSize)
        var shipping: Task<Void, Never>?
        defer { shipping?.cancel() }
        let clock = spool.configuration.clock
        while true {
            let event: LifecycleEvent
            do {
                event = try await api.next()
            } catch {
                logger.critical("event/next failed; exiting", metadata: ["error": "\(error)"])
                try? await api.exitError(type: "Extension.NextFailed", message: "\(error)")
                return 1
            }
            if shipping == nil {
                shipping = Task { await loop.run() }
                Self.verifyLater(spool, logger: logger)
            }
            switch event {
            case .invoke:
                loop.wake()
                // `background` answers at once, without even waiting for the spool's lock.
                if configuration.flushPolicy != .background,
                    let until = planner.holdUntil(now: clock.now(), waiting: spool.waitingCount)
                {
                    await loop.settled(until: until)
                }
            case .shutdown(let reason, let deadline):
                await shutDown(
                    reason: reason, deadline: deadline, configuration: configuration, spool: spool, loop: loop,
                    ingestor: ingestor, logger: logger)
                return 0
            }
        }
    }

    /// The spool's full check, which the open leaves out to keep it off the cold start: on its own
    /// connection, at background priority, once the first `/next` is answered.
    private static func verifyLater(_ spool: Spool, logger: Logger) {
        Task.detached(priority: .background) {
            switch spool.verify() {
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

    /// Subscribes, trying again twice after a 5xx or no answer; a 4xx is final (the request is wrong).
    private func subscribe(
        _ subscription: TelemetrySubscription, logger: Logger
    ) async throws(LambdaAPIError) -> SubscriptionOutcome {
        var attempt = 1
        while true {
            do {
                return try await api.subscribe(subscription)
            } catch {
                guard attempt < 3, (error.status ?? 500) >= 500 else { throw error }
                logger.warning("the Telemetry API subscription failed; trying again", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(100 * attempt))
                attempt += 1
            }
        }
    }

    /// Binds the listener on the sandbox address, or on 127.0.0.1 where that name does not resolve.
    private func listen(
        _ configuration: ForwarderConfiguration, ingestor: Ingestor, logger: Logger
    ) async throws -> TelemetryListener {
        // The platform sends up to about twice maxBytes; leave room above that.
        let maxBody = max(4 * configuration.bufferMaxBytes, 4 << 20)
        let deliver: TelemetryListener.Deliver = { body in ingestor.ingest(body) }
        do {
            return try await TelemetryListener.bind(host: listenerHost, maxBodyBytes: maxBody, deliver: deliver)
        } catch {
            logger.notice(
                "\(listenerHost) does not resolve here; listening on 127.0.0.1", metadata: ["error": "\(error)"])
            return try await TelemetryListener.bind(host: "127.0.0.1", maxBodyBytes: maxBody, deliver: deliver)
        }
    }

    /// A setup failure: `closed` reports `init/error` and exits; `open` (the default) logs and keeps
    /// answering the platform without shipping, so the function never fails because of telemetry.
    private func failInit(
        _ configuration: ForwarderConfiguration, type: String, message: String, logger: Logger
    ) async -> Int32 {
        if configuration.failMode == .closed {
            try? await api.initError(type: type, message: message)
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

    /// Ships until the spool is empty and no late delivery came for a while, or until the deadline
    /// minus the margin; counts what is left and logs one summary line.
    private func shutDown(
        reason: String, deadline: Int64, configuration: ForwarderConfiguration, spool: Spool, loop: ShippingLoop,
        ingestor: Ingestor, logger: Logger
    ) async {
        let clock = spool.configuration.clock
        let started = clock.now()
        let stopBy = deadline - shutdownMarginMilliseconds
        let shippedBefore = loop.report.shipped
        // The platform may still deliver what it buffered: wait that long after the last delivery.
        let quiet = Int64(configuration.bufferTimeoutMilliseconds) + 100
        var lastDeliveries = ingestor.tallies.deliveries
        var lastChange = started
        // A backoff would outlast the environment: everything waiting goes now.
        _ = try? spool.makeRetriesDue()
        await loop.shipper.hurry()
        loop.wake()
        while clock.now() < stopBy {
            await loop.settled(until: stopBy)
            let now = clock.now()
            let deliveries = ingestor.tallies.deliveries
            if deliveries != lastDeliveries {
                lastDeliveries = deliveries
                lastChange = now
            }
            guard now < stopBy else { break }
            // Done when nothing more can ship before the deadline and no late delivery is expected.
            var done = false
            switch loop.phase {
            case .idle: done = spool.waitingCount == 0
            case .paused(let until): done = until >= stopBy
            case .working: done = false
            }
            if done && now - lastChange >= quiet { break }
            if loop.phase != .working {
                try? await Task.sleep(for: .milliseconds(min(10, stopBy - now)))
            }
        }
        let left = (try? spool.recordShutdown()) ?? spool.waitingCount
        let report = loop.report
        let tallies = ingestor.tallies
        logger.info(
            "sluice shut down",
            metadata: [
                "shutdown.reason": "\(reason)", "shutdown.ms": "\(clock.now() - started)",
                "shipped.at_shutdown": "\(report.shipped - shippedBefore)", "shipped.total": "\(report.shipped)",
                "dead_lettered": "\(report.deadLettered)", "left_in_spool": "\(left)",
                "deliveries": "\(tallies.deliveries)", "deliveries.refused": "\(tallies.malformed + tallies.failed)",
            ])
    }
}

/// How long each step of init took, from the start of `run()`; logged once when init is done, so a
/// slow cold start says where its time went.
struct InitPhases: CustomStringConvertible, Sendable {
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    private var steps: [(name: String, milliseconds: Double)] = []

    init() { last = clock.now }

    mutating func end(_ name: String) {
        let now = clock.now
        let elapsed = last.duration(to: now).components
        steps.append((name, Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15))
        last = now
    }

    var description: String {
        steps.map { step in
            let tenths = Int((step.milliseconds * 10).rounded())
            return "\(step.name):\(tenths / 10).\(tenths % 10)"
        }.joined(separator: ",")
    }
}
