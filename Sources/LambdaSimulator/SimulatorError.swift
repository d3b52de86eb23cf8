/// Why the simulator could not do what a test asked.
public struct SimulatorError: Error, CustomStringConvertible {
    /// A stable kind, fit for a test to match on.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String { case busy, notSubscribed, launchFailed, stopped }
        private let kind: Kind
        public var description: String { kind.rawValue }

        /// Another start, invoke or shutdown of this simulator is still running.
        public static let busy = Code(kind: .busy)
        /// There is no telemetry subscription to deliver to.
        public static let notSubscribed = Code(kind: .notSubscribed)
        /// The extension executable could not be started.
        public static let launchFailed = Code(kind: .launchFailed)
        /// The simulator was stopped.
        public static let stopped = Code(kind: .stopped)
    }

    public let code: Code
    /// What went wrong and what to do about it.
    public let message: String

    public var description: String { "\(code): \(message)" }
}
