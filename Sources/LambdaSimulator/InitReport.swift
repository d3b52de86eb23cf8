/// What one init phase of the execution environment did.
public struct InitReport: Sendable {
    public let status: PhaseStatus
    /// `Extension.…` from `/init/error`, or the platform's reason (`Extension.Crash`, `Sandbox.Timedout`).
    public let errorType: String?
    /// From starting the extension until it was in `/next` (or init gave up).
    public let duration: Duration
    /// The extension's process id during this init.
    public let processId: Int32
    /// `on-demand`, or `snap-start` when the environment was restored (restore events instead of init events).
    public let initializationType: String
    /// `metrics.durationMs` of its `platform.initReport` (or `platform.restoreReport`), as sent; the
    /// first invocation's report carries it as `initDurationMs` (or `restoreDurationMs`).
    public let durationMs: Double
    /// The markers of the function log lines written during this init (no request id), in order.
    public let markers: [String]

    /// A SnapStart restore rather than an init.
    public var isRestore: Bool { initializationType == "snap-start" }
}
