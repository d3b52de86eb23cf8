/// An error from an AWS call: what went wrong and what to do, never a secret.
public struct AWSError: Error, CustomStringConvertible, Sendable {
    /// A stable kind of failure, fit for a counter label.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// No credentials in the environment.
        public static let missingCredentials = Code(name: "missing_credentials")
        /// AWS refused the call (HTTP 4xx): permissions, a wrong secret id.
        public static let rejected = Code(name: "rejected")
        /// AWS failed or could not be reached (HTTP 5xx, a timeout, a connection error): try again.
        public static let unavailable = Code(name: "unavailable")
        /// The answer was not what the API documents (or the secret is not `{username, password}`).
        public static let badResponse = Code(name: "bad_response")
        public var description: String { name }
    }

    public let code: Code
    public let message: String
    /// The HTTP status, when AWS answered.
    public let status: Int?

    public init(_ code: Code, _ message: String, status: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
