/// The phase of the execution environment in which the function wrote a log line.
public enum FunctionPhase: String, Sendable, Hashable {
    case `init`, invoke, shutdown
}
