/// How a phase ended, in the platform's words (the `status` of init and invoke records).
public enum PhaseStatus: String, Sendable {
    case success, failure, error, timeout
}
