/// How the simulated handler ends an invocation.
public enum InvocationOutcome: Sendable, Hashable {
    case success
    /// The handler failed and the runtime reported it (`Runtime.Unknown`, `Runtime.ExitError`, …):
    /// status `error`. The environment is kept, as Lambda keeps it after a function error.
    case error(errorType: String = "Runtime.Unknown")
    /// The runtime itself failed (status `failure`): the environment is reset (SHUTDOWN `failure`).
    case failure(errorType: String = "Runtime.ExitError")
    /// The handler runs until the function timeout (`Sandbox.Timedout`, status `timeout`): the
    /// environment is reset (SHUTDOWN `timeout`).
    case timeout
    /// The function runs out of memory: status `error`, `Runtime.OutOfMemory`, `maxMemoryUsedMB`
    /// equal to the memory size; the environment is reset (SHUTDOWN `failure`).
    case outOfMemory

    /// The status and error type of `platform.runtimeDone` (and of the report, unless the extension
    /// made it worse).
    var status: (PhaseStatus, String?) {
        switch self {
        case .success: (.success, nil)
        case .error(let errorType): (.error, errorType)
        case .failure(let errorType): (.failure, errorType)
        case .timeout: (.timeout, "Sandbox.Timedout")
        case .outOfMemory: (.error, "Runtime.OutOfMemory")
        }
    }

    /// The runtime is still alive after it: its background work may go on logging.
    var runtimeSurvives: Bool {
        switch self {
        case .success, .error: true
        case .failure, .timeout, .outOfMemory: false
        }
    }

    /// The reset this outcome forces, if any.
    var reset: ShutdownReason? {
        switch self {
        case .success, .error: nil
        case .timeout: .timeout
        case .failure, .outOfMemory: .failure
        }
    }
}
