/// Milliseconds since the Unix epoch, and waits measured on the same clock: the system's, or one a
/// test moves by hand. Every deadline and every sleep of the forwarder goes through one of these,
/// so a test that moves its clock moves the sleeps with the deadlines.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Int64
    private let sleeper: @Sendable (Int64) async -> Void

    /// `now` reads the clock; `sleep` returns once the clock reads at least its argument, or when
    /// the task is cancelled.
    public init(now: @escaping @Sendable () -> Int64, sleep: @escaping @Sendable (Int64) async -> Void) {
        self.read = now
        self.sleeper = sleep
    }

    /// Now, in milliseconds since the Unix epoch.
    public func now() -> Int64 { read() }

    /// Returns at `deadline` (ms since the epoch) or when the task is cancelled.
    public func sleep(until deadline: Int64) async {
        guard deadline > read() else { return }
        await sleeper(deadline)
    }

    /// The system's real-time clock.
    public static let system = system { milliseconds in try? await Task.sleep(for: .milliseconds(milliseconds)) }

    /// The system's real-time clock, its sleeps made of `nap` (a timer of the caller's: the
    /// extension's event loop, say), which returns after about that many milliseconds or when the
    /// task is cancelled.
    public static func system(nap: @escaping @Sendable (_ milliseconds: Int64) async -> Void) -> WallClock {
        WallClock(
            now: { UTCTime.nowMilliseconds() },
            sleep: { deadline in
                // Woken early (a wall-clock step back), sleep the rest.
                while !Task.isCancelled {
                    let left = deadline - UTCTime.nowMilliseconds()
                    guard left > 0 else { return }
                    await nap(left)
                }
            })
    }
}
