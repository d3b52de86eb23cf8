/// What the simulated function looks like to its extension, and how the simulated platform behaves.
/// The defaults are Lambda's where Lambda documents one.
public struct SimulatorConfiguration: Sendable {
    /// How the function writes its log lines.
    public enum LogFormat: String, Sendable {
        case text = "Text"
        case json = "JSON"
    }

    /// The extension executable; started as a real child process and expected to register under its
    /// file name, as Lambda expects of a file in `/opt/extensions`.
    public var extensionPath: String
    /// Arguments for the executable (Lambda passes none; fixtures may want some).
    public var extensionArguments: [String] = []
    /// The function's environment variables. The platform's own variables (`AWS_LAMBDA_RUNTIME_API`,
    /// `AWS_REGION`, credentials, …) are set on top and cannot be overridden, as on Lambda.
    public var environment: [String: String] = [:]
    public var functionName = "sluice-simulated"
    public var functionVersion = "$LATEST"
    public var memorySizeMB = 128
    /// Give the extension's process the CPU Lambda gives a function of `memorySizeMB` (one vCPU at
    /// 1,769 MB, a CFS quota per 100 ms period) through a cgroup of its own. Needs a cgroup CPU
    /// controller this process may write; without one the simulator does not start and says why.
    public var limitsCPUByMemory = false
    public var region = "eu-west-1"
    public var accountId = "123456789012"
    public var handler = "bootstrap"
    /// `AWS_EXECUTION_ENV`, which Lambda sets for its managed runtimes (nil: a custom runtime).
    public var executionEnvironment: String? = "AWS_Lambda_nodejs22.x"
    /// Fake credentials, passed like the execution role's.
    public var accessKeyId = "AKIDSIMULATOR0000000"
    public var secretAccessKey = "simulator/secret/access/key/0000000000000"
    public var sessionToken = "simulator-session-token"
    /// The function timeout; the handler and the extensions' post-invoke work share it.
    public var functionTimeout: Duration = .seconds(3)
    /// Init ends when every process is in `/next`; past this limit init has failed.
    public var initTimeout: Duration = .seconds(10)
    /// The whole shutdown phase with an external extension.
    public var shutdownBudget: Duration = .milliseconds(2000)
    /// The part of the shutdown phase held for the runtime; the extension's deadline is what is left.
    public var runtimeShutdownReserve: Duration = .milliseconds(300)
    /// Bytes of undelivered telemetry the platform keeps per subscription before it drops the oldest
    /// records and reports `platform.logsDropped` (Lambda does not publish its figure).
    public var platformBufferLimitBytes = 4 << 20
    /// The first pause before a failed delivery is sent again; doubled per failure up to `maximumRedeliveryBackoff`.
    public var redeliveryBackoff: Duration = .milliseconds(100)
    public var maximumRedeliveryBackoff: Duration = .seconds(2)
    /// How long one delivery may go unanswered (time spent frozen does not count) before it is a failure.
    public var deliveryTimeout: Duration = .seconds(5)
    /// Freeze the extension with SIGSTOP between invocations, as Lambda freezes the environment.
    public var freezesBetweenInvocations = true
    public var logFormat: LogFormat = .text
    /// SnapStart: every init is a restore from a snapshot, reported as `platform.restoreStart`,
    /// `platform.restoreRuntimeDone` and `platform.restoreReport` (the extension sees
    /// `AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`), and the first report after it carries
    /// `restoreDurationMs` instead of `initDurationMs`.
    public var snapStart = false
    /// Lines the function writes during every init (its module-level code), with no request id:
    /// after the extension registered, before `platform.initRuntimeDone`.
    public var initLogLines: [FunctionLogLine] = []
    /// Lines the function writes when the environment shuts down (its SIGTERM handler), with no
    /// request id: at ``LambdaSimulator/shutdown(reason:)``, before the extension gets SHUTDOWN.
    /// A reset writes none: the runtime was killed.
    public var shutdownLogLines: [FunctionLogLine] = []

    public init(extensionPath: String) { self.extensionPath = extensionPath }

    /// The file name the extension must register under.
    public var extensionName: String { String(extensionPath.split(separator: "/").last ?? "") }

    /// The deadline the extension is given at SHUTDOWN, counted from its start.
    public var extensionShutdownTime: Duration { shutdownBudget - runtimeShutdownReserve }

    /// `AWS_LAMBDA_INITIALIZATION_TYPE` and the records' `initializationType`.
    var initializationType: String { snapStart ? "snap-start" : "on-demand" }

    var functionArn: String { "arn:aws:lambda:\(region):\(accountId):function:\(functionName)" }
}
