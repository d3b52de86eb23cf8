import Logging
import SluiceIngest
import SluiceLambda
import SluiceShipping
import SluiceSpool

extension ForwarderExtension {
    /// How long after the first invoke the shipper's first pass waits: one CFS period.
    static let firstPassDelayMilliseconds: Int64 = 100

    /// Follows `/next` until SHUTDOWN: with a flush policy that holds, each invoke wakes the shipper
    /// and holds `/next` until the spool is drained or the budget is spent; the shipper starts at the
    /// first `/next`, so nothing but the platform's own calls happens during init.
    func follow(
        _ configuration: ForwarderConfiguration, spool: Spool, loop: ShippingLoop, ingestor: Ingestor,
        listener: TelemetryListener, logger: Logger
    ) async -> Int32 {
        var planner = FlushPlanner(
            policy: configuration.flushPolicy, budgetMilliseconds: configuration.flushBudgetMilliseconds,
            minimumWaiting: configuration.dispatchMinBatchSize)
        var shipping: Task<Void, Never>?
        defer { shipping?.cancel() }
        while true {
            let event: LifecycleEvent
            // When /next answered: the moment SHUTDOWN reached the extension, for the shutdown phase.
            let answeredAt: Int64
            do {
                event = try await api.next()
                answeredAt = clock.now()
            } catch {
                logger.critical("event/next failed; exiting", metadata: ["error": "\(error)"])
                let failure = ForwarderError(.next, "\(error)")
                try? await api.exitError(type: failure.code.platformErrorType, message: failure.message)
                return 1
            }
            if shipping == nil {
                // With `background`, after the first invoke the first pass (asking the cluster what
                // it is, creating the indices, shipping what init left) waits one CFS period, and the
                // spool's check a second: together with init's own CPU they spent a 128 MB
                // function's quota at once, and its next invocations waited 17-39 ms for `/next`
                // (`tools/bench invoke`). Real time, not the forwarder's clock: the CPU's periods
                // are. A policy that holds `/next` ships during the hold instead.
                let delayed = event.isInvoke && configuration.flushPolicy == .background
                shipping = Task { [realTime] in
                    if delayed { await realTime.sleep(until: realTime.now() + Self.firstPassDelayMilliseconds) }
                    await loop.run()
                }
                // Not when the first event is SHUTDOWN: the environment and its /tmp go away, and the
                // check would take the CPU the drain needs (at a 128 MB function's share, 0 and 5,991
                // of a 50,000 backlog shipped while it ran; 8 to 11 thousand without it).
                if event.isInvoke {
                    verifyLater(spool, afterMilliseconds: delayed ? 1_000 : 0, logger: logger)
                    salvageLater(spool, afterMilliseconds: delayed ? 1_000 : 0, loop: loop, logger: logger)
                }
            }
            switch event {
            case .invoke:
                // `background` answers at once, without even waiting for the spool's lock, and
                // leaves the shipper alone: new records wake it, and a retry or a pause that fell
                // due during the freeze ends its nap's timer at the thaw. A wake here would cost
                // every invocation a lease and a new timer for nothing.
                guard configuration.flushPolicy != .background else { continue }
                loop.wake()
                if let until = planner.holdUntil(now: clock.now(), waiting: spool.waitingCount) {
                    await loop.settled(until: until)
                }
            case .shutdown(let reason, let deadline):
                await shutDown(
                    reason: reason, deadline: deadline, receivedAt: answeredAt, configuration: configuration,
                    spool: spool, loop: loop, ingestor: ingestor, listener: listener, logger: logger)
                return 0
            }
        }
    }
}
