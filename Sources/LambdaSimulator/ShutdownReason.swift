/// The `shutdownReason` of a SHUTDOWN event. Lambda documents the values in capitals and its
/// emulator sends them in lower case; the raw value is sent as given, so tests can try both.
public struct ShutdownReason: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let spindown = ShutdownReason(rawValue: "spindown")
    public static let timeout = ShutdownReason(rawValue: "timeout")
    public static let failure = ShutdownReason(rawValue: "failure")

    public var description: String { rawValue }
}
