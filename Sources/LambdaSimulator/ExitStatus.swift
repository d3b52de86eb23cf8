public import Foundation
import NIOConcurrencyHelpers

/// How the extension process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signalled(Int32)

    public var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signalled(let signal): "signal \(signal)"
        }
    }

    /// The exit code, or the signal's number for a process a signal ended (as Foundation's
    /// `terminationStatus` gives them).
    public var code: Int32 {
        switch self {
        case .exited(let code), .signalled(let code): code
        }
    }
}

/// A child process run by Foundation's `Process`, and the news of its end, from two sources:
/// Foundation's termination handler, and the kernel (`waitid` with `WNOWAIT`, on a thread that waits
/// from the moment the child is spawned, and leaves the child for Foundation to reap), whose word
/// stands when Foundation's has not come a second after the end.
///
/// Foundation alone is not enough. It learns of an exit when the last copy of a socket the child
/// inherited closes, and it makes that socket without close-on-exec: a child another thread spawns
/// at the same moment can inherit it too, and then keeps the news back for as long as it lives (a
/// test's extension, for the whole test). A wait for the exit on Foundation's word alone could then
/// last forever.
public final class ChildExit: Sendable {
    private struct State {
        var status: ExitStatus?
        var waiters: [@Sendable (ExitStatus) -> Void] = []
    }

    public let pid: Int32
    private let state: NIOLockedValueBox<State>

    /// Runs `process` (which must not have a termination handler of its own). `onExit` is called
    /// once, on an arbitrary thread, when it has ended.
    public init(running process: Process, onExit: @escaping @Sendable (ExitStatus) -> Void = { _ in }) throws {
        let state = NIOLockedValueBox(State())
        let record: @Sendable (ExitStatus) -> Void = { status in
            let waiters = state.withLockedValue { state -> [@Sendable (ExitStatus) -> Void]? in
                guard state.status == nil else { return nil }
                state.status = status
                defer { state.waiters = [] }
                return state.waiters
            }
            guard let waiters else { return }
            for waiter in waiters { waiter(status) }
            onExit(status)
        }
        let reaped = DispatchSemaphore(value: 0)
        process.terminationHandler = { process in
            record(
                process.terminationReason == .uncaughtSignal
                    ? .signalled(process.terminationStatus) : .exited(process.terminationStatus))
            reaped.signal()
        }
        try process.run()
        let pid = process.processIdentifier
        Thread.detachNewThread {
            var info = siginfo_t()
            while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 {
                // ECHILD: Foundation has reaped it already, and its handler tells.
                guard errno == EINTR else { return }
            }
            // Foundation reaps it at once unless its socket is held elsewhere: a second for that, so
            // that whoever waits finds the process gone rather than a zombie. The kernel's word
            // stands in only when Foundation's does not come.
            if reaped.wait(timeout: .now() + 1) == .timedOut {
                let code = info._sifields._sigchld.si_status
                record(info.si_code == CLD_EXITED ? .exited(code) : .signalled(code))
            }
        }
        self.pid = pid
        self.state = state
    }

    /// How it ended; nil while it runs.
    public var status: ExitStatus? { state.withLockedValue { $0.status } }

    /// Waits for the end.
    public func wait() async -> ExitStatus {
        await withCheckedContinuation { continuation in
            if let status = whenEnded({ continuation.resume(returning: $0) }) { continuation.resume(returning: status) }
        }
    }

    /// Waits for the end, blocking the calling thread.
    public func waitBlocking() -> ExitStatus {
        let ended = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox<ExitStatus?>(nil)
        if let status = whenEnded({ status in
            result.withLockedValue { $0 = status }
            ended.signal()
        }) {
            return status
        }
        ended.wait()
        return result.withLockedValue { $0 } ?? .exited(-1)
    }

    /// The status if it has ended; otherwise nil, and `waiter` is called when it does.
    private func whenEnded(_ waiter: @escaping @Sendable (ExitStatus) -> Void) -> ExitStatus? {
        state.withLockedValue { state in
            if state.status == nil { state.waiters.append(waiter) }
            return state.status
        }
    }
}
