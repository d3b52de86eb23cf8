/// What one invocation did, as the caller of the function and the platform's report see it, and
/// what a summary joined from its platform events should equal.
public struct InvocationReport: Sendable {
    public let requestId: String
    /// The status and error type of its `platform.report`.
    public let status: PhaseStatus
    public let errorType: String?
    /// The status and error type of its `platform.runtimeDone` (the runtime's view: an extension that
    /// is late for `/next` times out an invocation whose runtime succeeded); nil when it did not run.
    public let runtimeStatus: PhaseStatus?
    public let runtimeErrorType: String?
    /// The init this invocation had to run first (the first one, or after a reset or a kill), if any.
    public let initialization: InitReport?
    /// How long the simulated handler ran.
    public let handlerDuration: Duration
    /// From the runtime's response until the extension called `/next` again, zero if it already had
    /// (Lambda's PostRuntimeExtensionsDuration); nil when it never came back in time.
    public let addedTime: Duration?
    /// The unique marker of every function log line this invocation wrote, in order (those after
    /// `platform.runtimeDone` last).
    public let markers: [String]
    /// The markers of the lines written after `platform.runtimeDone`.
    public let markersAfterRuntimeDone: [String]
    /// How many of its lines were at ERROR or FATAL level.
    public let errorLogLines: Int
    /// The `X-Amzn-Trace-Id` value of its INVOKE and records (`Root=…;Parent=…;Sampled=0`).
    public let traceId: String
    /// The report's metrics, as sent.
    public let durationMs: Double
    public let billedDurationMs: Int
    public let memorySizeMB: Int
    public let maxMemoryUsedMB: Int
    /// On the first report after an on-demand init only.
    public let initDurationMs: Double?
    /// On the first report after a SnapStart restore only.
    public let restoreDurationMs: Double?
    /// The `extensionOverhead` span of the report, when the extension added time.
    public let extensionOverheadMs: Double?
    /// The platform emitted `platform.start`, `platform.runtimeDone` and `platform.report` for it;
    /// false when its init failed and nothing ran (the metrics are then zero).
    public let reported: Bool

    public var timedOut: Bool { status == .timeout }

    /// The report carries an init or restore duration: the invocation paid for a new environment.
    public var coldStart: Bool { initDurationMs != nil || restoreDurationMs != nil }

    /// How many function log lines it wrote.
    public var logLines: Int { markers.count }

    /// The `Root` part of ``traceId`` (`1-5e1b4151-…`).
    public var traceRoot: String? {
        traceId.split(separator: ";").first { $0.hasPrefix("Root=") }.map { String($0.dropFirst(5)) }
    }

    init(
        requestId: String, status: PhaseStatus, errorType: String?, runtimeStatus: PhaseStatus?,
        runtimeErrorType: String?, initialization: InitReport?, handlerDuration: Duration, addedTime: Duration?,
        markers: [String], markersAfterRuntimeDone: [String], errorLogLines: Int, traceId: String, durationMs: Double,
        billedDurationMs: Int, memorySizeMB: Int, maxMemoryUsedMB: Int, initDurationMs: Double?,
        restoreDurationMs: Double?, extensionOverheadMs: Double?, reported: Bool
    ) {
        self.requestId = requestId
        self.status = status
        self.errorType = errorType
        self.runtimeStatus = runtimeStatus
        self.runtimeErrorType = runtimeErrorType
        self.initialization = initialization
        self.handlerDuration = handlerDuration
        self.addedTime = addedTime
        self.markers = markers
        self.markersAfterRuntimeDone = markersAfterRuntimeDone
        self.errorLogLines = errorLogLines
        self.traceId = traceId
        self.durationMs = durationMs
        self.billedDurationMs = billedDurationMs
        self.memorySizeMB = memorySizeMB
        self.maxMemoryUsedMB = maxMemoryUsedMB
        self.initDurationMs = initDurationMs
        self.restoreDurationMs = restoreDurationMs
        self.extensionOverheadMs = extensionOverheadMs
        self.reported = reported
    }

    /// An invocation that never ran because the init before it failed.
    static func notRun(requestId: String, initialization: InitReport, memorySizeMB: Int) -> InvocationReport {
        InvocationReport(
            requestId: requestId, status: initialization.status, errorType: initialization.errorType,
            runtimeStatus: nil, runtimeErrorType: nil, initialization: initialization, handlerDuration: .zero,
            addedTime: nil, markers: [], markersAfterRuntimeDone: [], errorLogLines: 0, traceId: "", durationMs: 0,
            billedDurationMs: 0, memorySizeMB: memorySizeMB, maxMemoryUsedMB: 0, initDurationMs: nil,
            restoreDurationMs: nil, extensionOverheadMs: nil, reported: false)
    }
}
