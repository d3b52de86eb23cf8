public import Logging
import Synchronization

/// Runs the shipper whenever the environment is thawed: woken by new records, by each invoke and
/// by a timer (retries fall due, pauses end); otherwise asleep, so a frozen environment holds no
/// work in the middle. `settled(until:)` lets the lifecycle hold `/next` until the spool is drained.
public final class ShippingLoop: Sendable {
    /// What the loop is doing.
    public enum Phase: Sendable, Equatable {
        /// Shipping, or about to.
        case working
        /// Nothing is due.
        case idle
        /// OpenSearch asked for a pause (or failed) until this time (ms since the epoch).
        case paused(until: Int64)
    }

    struct State {
        var phase = Phase.working
        /// Work was asked for since the current pass began.
        var wanted = true
        var sleeper: CheckedContinuation<Void, Never>?
        /// A nap whose timer fired before it went to sleep must not sleep.
        var napExpired = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters whose deadline passed before they registered.
        var expired: Set<Int> = []
        var nextWaiter = 0
        var report = Shipper.Report()
        var failures = 0
    }

    let shipper: Shipper
    let logger: Logger
    /// The longest the loop sleeps without being woken, in milliseconds.
    let tickMilliseconds: Int64
    private let state = Mutex(State())

    public init(shipper: Shipper, logger: Logger, tickMilliseconds: Int64 = 1_000) {
        self.shipper = shipper
        self.logger = logger
        self.tickMilliseconds = tickMilliseconds
    }

    /// What was shipped since the loop started.
    public var report: Shipper.Report { state.withLock { $0.report } }

    public var phase: Phase { state.withLock { $0.phase } }

    /// Asks for a pass: new records, or an invoke.
    public func wake() {
        let sleeper = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.wanted = true
            if state.phase == .idle { state.phase = .working }
            defer { state.sleeper = nil }
            return state.sleeper
        }
        sleeper?.resume()
    }

    /// Returns once the loop is idle or paused (nothing more can ship now), or at `deadline`.
    public func settled(until deadline: Int64) async {
        let clock = shipper.spool.configuration.clock
        let id: Int? = state.withLock { state in
            guard state.phase == .working else { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(max(0, deadline - clock.now())))
            guard !Task.isCancelled else { return }
            self.release(waiter: id)
        }
        await withCheckedContinuation { continuation in
            let settledAlready = state.withLock { state in
                guard state.phase == .working, state.expired.remove(id) == nil else { return true }
                state.waiters[id] = continuation
                return false
            }
            if settledAlready { continuation.resume() }
        }
        timer.cancel()
    }

    private func release(waiter id: Int) {
        state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return waiter
        }?.resume()
    }

    /// Ships until the task is cancelled.
    public func run() async {
        let clock = shipper.spool.configuration.clock
        while !Task.isCancelled {
            state.withLock {
                $0.wanted = false
                $0.phase = .working
            }
            var pass = Shipper.Report()
            do {
                pass = try await shipper.drain(until: clock.now() + tickMilliseconds)
            } catch {
                let failures = state.withLock {
                    $0.failures += 1
                    return $0.failures
                }
                if failures == 1 || failures % 60 == 0 {
                    logger.error("the spool failed while shipping", metadata: ["error": "\(error)"])
                }
            }
            let now = clock.now()
            let resumesAt = await shipper.resumesAt
            let next: Phase = resumesAt > now ? .paused(until: resumesAt) : pass.idle ? .idle : .working
            let (waiters, rest) = state.withLock { state -> ([CheckedContinuation<Void, Never>], Bool) in
                state.report.add(pass)
                if state.wanted && next != .working {
                    state.phase = .working
                    return ([], false)
                }
                state.phase = next
                guard next != .working else { return ([], false) }
                defer {
                    state.waiters = [:]
                    state.expired = []
                }
                return (Array(state.waiters.values), true)
            }
            for waiter in waiters { waiter.resume() }
            guard rest else { continue }
            var sleep = tickMilliseconds
            if case .paused(let until) = next { sleep = min(sleep, max(1, until - now)) }
            if next == .idle, let due = try? shipper.spool.nextRetryDue() { sleep = min(sleep, max(1, due - now)) }
            await nap(milliseconds: sleep)
        }
    }

    /// Sleeps until woken or for `milliseconds`, whichever comes first.
    private func nap(milliseconds: Int64) async {
        state.withLock { $0.napExpired = false }
        let timer = Task {
            try? await Task.sleep(for: .milliseconds(milliseconds))
            guard !Task.isCancelled else { return }
            let sleeper = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                state.napExpired = true
                defer { state.sleeper = nil }
                return state.sleeper
            }
            sleeper?.resume()
        }
        await withCheckedContinuation { continuation in
            let woken = state.withLock { state in
                if state.wanted || state.napExpired { return true }
                state.sleeper = continuation
                return false
            }
            if woken { continuation.resume() }
        }
        timer.cancel()
    }
}
