/// The one wait primitive of the forwarder: wakes the tasks that wait for some state to change, or
/// lets them go at a deadline on a `WallClock`. A waiter passes the generation it read before it
/// last checked its condition, so a change between that check and the wait is never missed.
public final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Locked(State())

    public init() {}

    /// Read before checking the condition; pass it to `wait`.
    public var generation: UInt64 { state.withLock { $0.generation } }

    /// Something changed: every waiter goes.
    public func signal() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns after the first change past `generation`, at `deadline` on `clock` (nil: no
    /// deadline), or when the task is cancelled.
    public func wait(after generation: UInt64, until deadline: Int64?, on clock: WallClock) async {
        if let deadline, clock.now() >= deadline { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(after: generation) }
            if let deadline {
                group.addTask { await clock.sleep(until: deadline) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(after generation: UInt64) async {
        let id = state.withLock { state in
            defer { state.nextWaiter &+= 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let alreadyChanged = state.withLock { state in
                    guard state.generation == generation, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if alreadyChanged { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
