public import Logging
import SluiceTime

/// Runs the shipper whenever the environment is thawed: woken by new records, by each invoke of a
/// flush policy that holds `/next`, and by a timer (retries fall due, pauses end); otherwise
/// asleep, so a frozen environment holds no work in the middle. `settled(until:)` lets the
/// lifecycle hold `/next` until the spool is drained.
///
/// Every wait here (the loop's nap, a hold, the SHUTDOWN drain) is one `ChangeSignal` wait on the
/// shipper's clock: signalled whenever work is asked for or the phase changes.
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
        var failures = 0
    }

    public let shipper: Shipper
    let logger: Logger
    /// The longest the loop sleeps without being woken, in milliseconds.
    let tickMilliseconds: Int64
    private let state = Locked(State())
    private let changes = ChangeSignal()

    public init(shipper: Shipper, logger: Logger, tickMilliseconds: Int64 = 1_000) {
        self.shipper = shipper
        self.logger = logger
        self.tickMilliseconds = tickMilliseconds
    }

    var clock: WallClock { shipper.clock }

    /// What was shipped since the loop started, the batch in progress aside.
    public var report: Shipper.Report { get async { await shipper.total } }

    public var phase: Phase { state.withLock { $0.phase } }

    /// Read before looking at `phase`; `changed(after:until:)` then misses no change.
    public var generation: UInt64 { changes.generation }

    /// Asks for a pass: new records, or an invoke.
    public func wake() {
        state.withLock { state in
            state.wanted = true
            if state.phase == .idle { state.phase = .working }
        }
        changes.signal()
    }

    /// Returns once the phase changed or work was asked for after `generation`, or at `deadline`.
    public func changed(after generation: UInt64, until deadline: Int64) async {
        await changes.wait(after: generation, until: deadline, on: clock)
    }

    /// Returns once the loop is idle or paused (nothing more can ship now), or at `deadline`.
    public func settled(until deadline: Int64) async {
        while clock.now() < deadline, !Task.isCancelled {
            let generation = changes.generation
            guard phase == .working else { return }
            await changes.wait(after: generation, until: deadline, on: clock)
        }
    }

    /// Ships until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            state.withLock {
                $0.wanted = false
                $0.phase = .working
            }
            var pass = Shipper.Report()
            var failed = false
            do {
                // A pause ends the pass, so that the loop shows it (a hold of `/next` ends there)
                // and naps until it is over; a short pause slept inside the pass would look like work.
                pass = try await shipper.drain(until: clock.now() + tickMilliseconds, waitingOutPauses: false)
            } catch {
                let failures = state.withLock {
                    $0.failures += 1
                    return $0.failures
                }
                if failures == 1 || failures % 60 == 0 {
                    logger.error("the spool failed while shipping", metadata: ["error": "\(error)"])
                }
                failed = true
            }
            let now = clock.now()
            // A spool that fails (a damaged page the lease reads, say) fails again at once: a tick's
            // pause, or the loop would spin on it and take every thread it can get.
            let resumesAt = max(await shipper.resumesAt, failed ? now + tickMilliseconds : 0)
            let next: Phase = resumesAt > now ? .paused(until: resumesAt) : pass.idle ? .idle : .working
            let generation = changes.generation
            let rests = state.withLock { state -> Bool in
                if state.wanted && next != .working {
                    state.phase = .working
                    return false
                }
                state.phase = next
                return next != .working
            }
            changes.signal()
            guard rests else { continue }
            var sleep = tickMilliseconds
            if case .paused(let until) = next { sleep = min(sleep, max(1, until - now)) }
            if next == .idle, let due = try? shipper.spool.nextRetryDue() { sleep = min(sleep, max(1, due - now)) }
            await nap(after: generation &+ 1, until: now + sleep)
        }
    }

    /// Sleeps until woken (a change after the loop's own signal) or until `deadline`.
    private func nap(after generation: UInt64, until deadline: Int64) async {
        guard !state.withLock({ $0.wanted }) else { return }
        await changes.wait(after: generation, until: deadline, on: clock)
    }
}
