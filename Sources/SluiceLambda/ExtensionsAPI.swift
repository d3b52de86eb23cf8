/// What the Lambda platform tells an extension: the calls of the Extensions API and the Telemetry
/// API subscription, behind one protocol so the extension loop can be driven by a test.
public protocol ExtensionsAPI: Sendable {
    /// Registers for INVOKE and SHUTDOWN. Must happen before anything else.
    func register() async throws(LambdaError) -> Registration
    /// Blocks until the next lifecycle event; there is no timeout (a freeze can last hours).
    func next() async throws(LambdaError) -> LifecycleEvent
    /// Subscribes the listener at `destination` to the Telemetry API.
    func subscribe(_ subscription: TelemetrySubscription) async throws(LambdaError) -> SubscriptionOutcome
    /// Reports a failed init (`Extension.Something`); the platform then resets the environment.
    func initError(type: String, message: String) async throws(LambdaError)
    /// Reports a failure before exiting.
    func exitError(type: String, message: String) async throws(LambdaError)
}

/// The platform's answer to `register`.
public struct Registration: Sendable, Equatable {
    /// Sent back on every later call.
    public let identifier: String
    public let functionName: String
    public let functionVersion: String
    public let handler: String
    /// Present when the `accountId` feature was accepted.
    public let accountID: String?

    public init(identifier: String, functionName: String, functionVersion: String, handler: String, accountID: String?)
    {
        self.identifier = identifier
        self.functionName = functionName
        self.functionVersion = functionVersion
        self.handler = handler
        self.accountID = accountID
    }
}

/// An event from `/event/next`.
public enum LifecycleEvent: Sendable, Equatable {
    /// An invocation started; `deadline` is its end in milliseconds since the epoch.
    case invoke(requestID: String, deadline: Int64)
    /// The environment is going away; exit before `deadline` (ms since the epoch) or be killed.
    case shutdown(reason: String, deadline: Int64)

    public var isInvoke: Bool {
        if case .invoke = self { true } else { false }
    }
}

/// What a Telemetry API subscription came to.
public enum SubscriptionOutcome: Sendable, Equatable {
    case subscribed
    /// 202: this platform has no Telemetry API (local emulators); nothing will be delivered.
    case unsupported
}
