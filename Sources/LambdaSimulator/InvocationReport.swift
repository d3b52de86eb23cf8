/// What one invocation did, as the caller of the function and the platform's report see it.
public struct InvocationReport: Sendable {
    public let requestId: String
    public let status: PhaseStatus
    public let errorType: String?
    /// The init this invocation had to run first (the first one, or after a reset or a kill), if any.
    public let initialization: InitReport?
    /// How long the simulated handler ran.
    public let handlerDuration: Duration
    /// From the runtime's response until the extension called `/next` again, zero if it already had
    /// (Lambda's PostRuntimeExtensionsDuration); nil when it never came back in time.
    public let addedTime: Duration?
    /// The unique marker of every function log line this invocation wrote, in order.
    public let markers: [String]

    public var timedOut: Bool { status == .timeout }
}
