/// What one shutdown (or reset) of the extension did.
public struct ShutdownReport: Sendable {
    public let reason: ShutdownReason
    /// From the SHUTDOWN event (or the start of the reset) until the process was gone.
    public let duration: Duration
    public let exitStatus: ExitStatus?
    /// The process was still running at its deadline and got SIGKILL.
    public let killedAtDeadline: Bool
    /// The extension was in `/next` and received the SHUTDOWN event.
    public let eventDelivered: Bool
    /// The `Lambda-Extension-Function-Error-Type` it sent to `/exit/error`, if it did.
    public let reportedError: String?
    /// The markers of the function log lines written during the shutdown phase (no request id).
    public let markers: [String]
}
