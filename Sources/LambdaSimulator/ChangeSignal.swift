import NIOConcurrencyHelpers

/// Wakes the tasks of an actor that wait for its state to change. A waiter passes the generation it
/// read when it last checked its condition, so a change between that check and the wait is not missed.
final class ChangeSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var nextWaiter: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = NIOLockedValueBox(State())

    var generation: UInt64 { state.withLockedValue { $0.generation } }

    func signal() {
        let waiters = state.withLockedValue { state in
            state.generation &+= 1
            defer { state.waiters = [:] }
            return state.waiters.values
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns after the next change past `generation`, at `deadline`, or when the task is cancelled.
    func wait(after generation: UInt64, until deadline: ContinuousClock.Instant?) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask(executorPreference: PlatformExecutor.shared) { await self.waitForChange(after: generation) }
            if let deadline {
                group.addTask(executorPreference: PlatformExecutor.shared) {
                    try? await Task.sleep(until: deadline, clock: .continuous)
                }
            }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(after generation: UInt64) async {
        let id = state.withLockedValue { state in
            defer { state.nextWaiter &+= 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let alreadyChanged = state.withLockedValue { state in
                    guard state.generation == generation, !Task.isCancelled else { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if alreadyChanged { continuation.resume() }
            }
        } onCancel: {
            state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }
}
