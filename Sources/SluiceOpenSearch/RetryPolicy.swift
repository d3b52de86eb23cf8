/// When to try a failed document again, and when to give up on it.
public struct RetryPolicy: Sendable, Equatable {
    /// The first backoff's ceiling, in milliseconds.
    public var baseMilliseconds: Int64
    /// The largest backoff, in milliseconds.
    public var capMilliseconds: Int64
    /// Attempts after which a document becomes a dead letter.
    public var maxAttempts: Int
    /// Age (since it was received) after which a failing document becomes a dead letter.
    public var maxAgeMilliseconds: Int64

    public init(
        baseMilliseconds: Int64 = 500, capMilliseconds: Int64 = 60_000, maxAttempts: Int = 10,
        maxAgeMilliseconds: Int64 = 6 * 3_600_000
    ) {
        self.baseMilliseconds = baseMilliseconds
        self.capMilliseconds = capMilliseconds
        self.maxAttempts = maxAttempts
        self.maxAgeMilliseconds = maxAgeMilliseconds
    }

    /// Full-jitter exponential backoff after failed attempt number `attempt` (1 for the first
    /// failure): uniform in [0, min(cap, base · 2^(attempt-1))], and never before `Retry-After`.
    public func delay<G: RandomNumberGenerator>(
        afterAttempt attempt: Int, retryAfterMilliseconds: Int64? = nil, using generator: inout G
    ) -> Int64 {
        let exponent = min(max(attempt - 1, 0), 40)
        let ceiling = min(
            capMilliseconds,
            baseMilliseconds.multipliedReportingOverflow(by: 1 << exponent).overflow
                ? capMilliseconds : baseMilliseconds << exponent)
        let jittered = Int64.random(in: 0...max(0, ceiling), using: &generator)
        return max(jittered, retryAfterMilliseconds ?? 0)
    }

    public func delay(afterAttempt attempt: Int, retryAfterMilliseconds: Int64? = nil) -> Int64 {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempt: attempt, retryAfterMilliseconds: retryAfterMilliseconds, using: &generator)
    }

    /// Whether a document that has now failed `attempts` times, received at `receivedAt`, is given up.
    public func givesUp(attempts: Int, receivedAt: Int64, now: Int64) -> Bool {
        attempts >= maxAttempts || isTooOld(receivedAt: receivedAt, now: now)
    }

    /// Whether a document received at `receivedAt` has waited longer than any retry may.
    public func isTooOld(receivedAt: Int64, now: Int64) -> Bool { now - receivedAt >= maxAgeMilliseconds }
}
