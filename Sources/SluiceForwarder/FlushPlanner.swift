/// Decides, at each invoke, whether the extension holds `/next` to ship, and until when.
///
/// Holding starts when the INVOKE event arrives, so it overlaps the handler: it adds to the
/// invocation only the part that outlasts the runtime.
public struct FlushPlanner: Sendable {
    public let policy: ForwarderConfiguration.FlushPolicy
    /// How long a hold may last, in milliseconds.
    public let budgetMilliseconds: Int64
    /// `end` holds only when at least this many records wait (the sample's `DISPATCH_MIN_BATCH_SIZE`).
    public let minimumWaiting: Int
    /// When the last hold began (ms since the epoch), for `periodic`.
    public private(set) var lastHold: Int64?

    public init(policy: ForwarderConfiguration.FlushPolicy, budgetMilliseconds: Int64, minimumWaiting: Int) {
        self.policy = policy
        self.budgetMilliseconds = budgetMilliseconds
        self.minimumWaiting = minimumWaiting
    }

    /// The time to hold `/next` until, or nil to answer it at once; `waiting` is the number of
    /// records in the spool.
    public mutating func holdUntil(now: Int64, waiting: Int) -> Int64? {
        guard waiting > 0, budgetMilliseconds > 0 else { return nil }
        switch policy {
        case .background:
            return nil
        case .end:
            guard waiting >= minimumWaiting else { return nil }
        case .periodic(let seconds):
            if let lastHold, now - lastHold < Int64(seconds) * 1000 { return nil }
        }
        lastHold = now
        return now + budgetMilliseconds - Self.reserve(budgetMilliseconds)
    }

    /// The part of the budget a hold leaves for getting back to `/next`: on a busy machine the
    /// wake-up at the hold's end and the request that follows took up to 9 ms (`tools/bench invoke`:
    /// holds to the whole budget made the p99 of added time 100.15 ms against a 100 ms budget).
    static func reserve(_ budgetMilliseconds: Int64) -> Int64 { budgetMilliseconds / 10 }
}
