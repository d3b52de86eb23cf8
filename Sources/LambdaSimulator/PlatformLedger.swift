/// One telemetry event a delivery carried and the extension acknowledged with a 2xx.
public struct AcknowledgedEvent: Sendable, Hashable {
    public let type: String
    public let time: String
    public let record: JSON
    /// The marker of a function log line.
    public let marker: String?
    /// The invocation the event belongs to, whatever its rendered form shows: for a function line the
    /// owning invocation's request id even when the line carries none (a `print` line, or one written
    /// after `platform.runtimeDone`); nil for lines written during init or shutdown.
    public let requestId: String?
    /// The phase a function line was written in; nil for other events.
    public let phase: FunctionPhase?
    /// The level a function line was written at; nil for a `print` line and for other events.
    public let level: String?
    /// Which acknowledged delivery carried it: 1 for the first delivery the extension acknowledged, and so on.
    public let delivery: Int

    /// The event as it was delivered: `{time, type, record}`.
    public var delivered: JSON { ["time": .string(time), "type": .string(type), "record": record] }
}

/// What the simulated platform did: the telemetry the extension acknowledged, the delivery counts,
/// and every init, invocation and shutdown.
public struct PlatformLedger: Sendable {
    /// Each acknowledged event once, in acknowledgement order (a re-delivered event is not repeated).
    public internal(set) var acknowledged: [AcknowledgedEvent] = []
    /// Events put into the platform buffer for a subscriber (including `platform.logsDropped`).
    public internal(set) var emitted = 0
    /// Records dropped from the platform buffer because the subscriber fell behind.
    public internal(set) var dropped = 0
    /// Events lost because the environment ended (shutdown) before they were delivered, or because
    /// nobody subscribed during init.
    public internal(set) var discarded = 0
    /// Events buffered or in flight, not yet acknowledged.
    public internal(set) var pending = 0
    /// Deliveries attempted, and those that failed (connection error, timeout or non-2xx).
    public internal(set) var deliveryAttempts = 0
    public internal(set) var failedDeliveries = 0
    public internal(set) var initializations: [InitReport] = []
    public internal(set) var invocations: [InvocationReport] = []
    public internal(set) var shutdowns: [ShutdownReport] = []

    /// The markers of the function log lines the extension acknowledged.
    public var acknowledgedMarkers: Set<String> { Set(acknowledged.compactMap(\.marker)) }

    /// The acknowledged function log line with `marker`, if any.
    public func acknowledged(marker: String) -> AcknowledgedEvent? { acknowledged.first { $0.marker == marker } }

    public func acknowledged(type: String) -> [AcknowledgedEvent] { acknowledged.filter { $0.type == type } }
}
