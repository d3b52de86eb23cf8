/// An error from the Lambda side: a refused telemetry delivery, or a failed call to the Extensions
/// or Telemetry API. One line that says what went wrong, a stable code, and where it was raised.
public struct LambdaError: Error, Sendable, CustomStringConvertible {
    /// A stable kind of failure, fit for a counter label or a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case malformedDelivery = "malformed_delivery"
            case refused
            case unreachable
            case unreadableAnswer = "unreadable_answer"
        }
        private let kind: Kind

        /// A Telemetry API delivery that is not a JSON array of `{time, type, record}` objects.
        public static let malformedDelivery = Code(kind: .malformedDelivery)
        /// The platform answered a call with an error status (`status` says which).
        public static let refused = Code(kind: .refused)
        /// The platform did not answer a call (connection refused or reset, no response).
        public static let unreachable = Code(kind: .unreachable)
        /// The platform answered, but not in a form this extension can read.
        public static let unreadableAnswer = Code(kind: .unreadableAnswer)

        public var description: String { kind.rawValue }
    }

    public let code: Code
    /// One line that says what went wrong.
    public let message: String
    /// The HTTP status, when the platform answered.
    public let status: Int?
    /// For a malformed delivery: the byte offset in the body where the problem was found.
    public let offset: Int?
    /// Where the error was raised.
    public let location: String

    public init(
        _ code: Code, _ message: String, status: Int? = nil, offset: Int? = nil,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.offset = offset
        self.location = "\(file):\(line)"
    }

    public var description: String {
        guard let offset else { return message }
        return "\(message) (at byte \(offset))"
    }
}
