import NIOCore
import SluiceTime

/// The listener's open connections, what each is doing and since when, on a clock that counts only
/// the time the process ran: it closes the idle and the slow, and makes room at the connection limit.
final class ConnectionRegistry: Sendable {
    /// What a connection is doing, for the limits on time.
    enum Phase: Sendable {
        /// Between requests (or before the first): the idle limit applies.
        case idle
        /// Its request's head or body is arriving: the request limit applies.
        case receiving
        /// Its delivery is being stored: no limit, the answer waits for the commit.
        case answering
        /// It was refused; the rest of its body is read and dropped until the request limit.
        case refused
    }

    private struct Entry {
        let channel: any Channel
        var phase: Phase
        /// The awake time the phase began.
        var since: Int64
        /// When the phase began, in the order of every phase change: ties on the coarse awake clock
        /// are common, this has none.
        var order: UInt64
        /// Whether a request of this connection was answered: the platform's connection has, a
        /// connection that opened and sent nothing worth storing has not.
        var served = false

        /// Which connection makes room first at the limit, lowest first: a refused one, then one
        /// that never had a request answered (idle before receiving), then one that did; the
        /// longest in its phase first among equals.
        var evictionRank: (Int, UInt64) {
            let rank =
                switch (phase, served) {
                case (.refused, _): 0
                case (.idle, false): 1
                case (.receiving, false): 2
                case (.idle, true): 3
                case (.receiving, true), (.answering, _): 4
                }
            return (rank, order)
        }
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        /// Nanoseconds the process was running since the listener started, in steps of at most two ticks.
        var awake: Int64 = 0
        var lastTick: NIODeadline
        var changes: UInt64 = 0
        var refusals = ListenerRefusals()
        var timer: RepeatedTask?
    }

    /// The event a connection's guard receives when the registry closes it.
    enum Closing: Sendable {
        case idle, tooSlow, evicted
    }

    let limits: ListenerLimits
    private let state: Locked<State>

    init(limits: ListenerLimits) {
        self.limits = limits
        self.state = Locked(State(lastTick: .now()))
    }

    /// Starts the clock that enforces the limits on time.
    func start(on eventLoop: any EventLoop) {
        let tick = TimeAmount.nanoseconds(Self.nanoseconds(limits.tick))
        let task = eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { [self] _ in
            self.tick(maxStep: tick.nanoseconds * 2)
        }
        state.withLock { $0.timer = task }
    }

    /// Stops the clock.
    func stop() {
        state.withLock { $0.timer?.cancel() }
    }

    /// Registers a new connection. At the limit one is closed to make room, by `Entry.evictionRank`:
    /// a flood of connections that never deliver evicts each other, not the platform's connection
    /// that delivered a moment ago; false when every other connection is answering and the new one
    /// must be refused.
    func admit(_ channel: any Channel) -> Bool {
        let (admitted, victim): (Bool, (any Channel)?) = state.withLock { state in
            var victim: (any Channel)?
            state.changes += 1
            if state.entries.count >= limits.maxConnections {
                let oldest = state.entries.values.filter { $0.phase != .answering }.min {
                    $0.evictionRank < $1.evictionRank
                }
                guard let oldest else {
                    state.refusals.evicted += 1
                    return (false, nil)
                }
                state.entries[ObjectIdentifier(oldest.channel)] = nil
                state.refusals.evicted += 1
                victim = oldest.channel
            }
            state.entries[ObjectIdentifier(channel)] = Entry(
                channel: channel, phase: .idle, since: state.awake, order: state.changes)
            return (true, victim)
        }
        victim?.pipeline.fireUserInboundEventTriggered(Closing.evicted)
        return admitted
    }

    /// Records that `channel` entered `phase`.
    func enter(_ phase: Phase, _ channel: any Channel) {
        state.withLock { state in
            guard var entry = state.entries[ObjectIdentifier(channel)] else { return }
            if entry.phase == .answering, phase == .idle { entry.served = true }
            state.changes += 1
            entry.phase = phase
            entry.since = state.awake
            entry.order = state.changes
            state.entries[ObjectIdentifier(channel)] = entry
        }
    }

    /// Forgets a closed connection.
    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.entries.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Counts one refusal.
    func count(_ reason: WritableKeyPath<ListenerRefusals, Int>) {
        state.withLock { $0.refusals[keyPath: reason] += 1 }
    }

    /// What was refused or closed so far.
    var refusals: ListenerRefusals { state.withLock { $0.refusals } }

    /// Connections open now.
    var openConnections: Int { state.withLock { $0.entries.count } }

    /// Advances the awake clock by the time since the last tick, but by no more than `maxStep`: a
    /// tick that comes late comes after a freeze, and frozen time is nobody's idleness.
    private func tick(maxStep: Int64) {
        let idleLimit = Self.nanoseconds(limits.idleTimeout)
        let requestLimit = Self.nanoseconds(limits.requestTimeout)
        let expired: [(any Channel, Closing)] = state.withLock { state in
            let now = NIODeadline.now()
            state.awake += min(max(0, (now - state.lastTick).nanoseconds), maxStep)
            state.lastTick = now
            var expired: [(any Channel, Closing)] = []
            for (key, entry) in state.entries {
                let age = state.awake - entry.since
                switch entry.phase {
                case .idle where age >= idleLimit:
                    expired.append((entry.channel, .idle))
                    state.refusals.idleClosed += 1
                case .receiving where age >= requestLimit, .refused where age >= requestLimit:
                    expired.append((entry.channel, .tooSlow))
                    if entry.phase == .receiving { state.refusals.timedOut += 1 }
                default:
                    continue
                }
                state.entries[key] = nil
            }
            return expired
        }
        for (channel, reason) in expired { channel.pipeline.fireUserInboundEventTriggered(reason) }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
