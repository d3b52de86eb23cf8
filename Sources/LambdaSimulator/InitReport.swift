/// What one init phase of the execution environment did.
public struct InitReport: Sendable {
    public let status: PhaseStatus
    /// `Extension.…` from `/init/error`, or the platform's reason (`Extension.Crash`, `Sandbox.Timedout`).
    public let errorType: String?
    /// From starting the extension until it was in `/next` (or init gave up).
    public let duration: Duration
    /// The extension's process id during this init.
    public let processId: Int32
}
