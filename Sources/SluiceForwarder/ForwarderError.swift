/// An error of the extension's own setup and lifecycle: what went wrong, what to do, a stable code,
/// and the error type the Lambda platform is told (`Extension.<Kind>`) when init fails closed.
public struct ForwarderError: Error, Sendable, CustomStringConvertible {
    /// A stable kind of failure, fit for a counter label or a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case configuration
            case spool
            case listener
            case subscription
            case next
        }
        private let kind: Kind

        /// A configuration variable is missing or has a value it cannot take (`variable` says which).
        public static let configuration = Code(kind: .configuration)
        /// The spool cannot be opened.
        public static let spool = Code(kind: .spool)
        /// The telemetry listener cannot start.
        public static let listener = Code(kind: .listener)
        /// The Telemetry API refused the subscription.
        public static let subscription = Code(kind: .subscription)
        /// `/event/next` failed: the extension cannot follow the lifecycle any more.
        public static let next = Code(kind: .next)

        public var description: String { kind.rawValue }

        /// The error type reported to `/init/error` or `/exit/error`.
        public var platformErrorType: String {
            switch kind {
            case .configuration: "Extension.ConfigurationError"
            case .spool: "Extension.SpoolError"
            case .listener: "Extension.ListenerError"
            case .subscription: "Extension.SubscriptionError"
            case .next: "Extension.NextFailed"
            }
        }
    }

    public let code: Code
    /// One line that says what went wrong and what to do; never a secret.
    public let message: String
    /// The environment variable a configuration error is about.
    public let variable: String?
    /// Where the error was raised.
    public let location: String

    public init(
        _ code: Code, _ message: String, variable: String? = nil, file: StaticString = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.variable = variable
        self.location = "\(file):\(line)"
    }

    public var description: String { message }
}
