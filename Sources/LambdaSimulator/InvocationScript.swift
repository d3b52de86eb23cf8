/// What the simulated function does in one invocation: the lines it logs, how long its handler
/// runs, how it ends, and where the platform's buffering is forced to cut a delivery.
public struct InvocationScript: Sendable {
    /// A point of the invocation at which everything buffered so far goes out in a delivery of its
    /// own, before anything emitted later, as a buffering timeout that falls there would have it.
    public enum DeliveryBreak: Sendable, Hashable {
        /// `platform.start` (and what came before it) in one delivery, the invocation's lines in a later one.
        case afterStart
        /// `platform.runtimeDone` in one delivery, the lines written after it (and the report) in a later one.
        case afterRuntimeDone
    }

    public var lines: [FunctionLogLine]
    public var handlerDuration: Duration
    public var outcome: InvocationOutcome
    public var deliveryBreaks: Set<DeliveryBreak>
    /// Durations of this invocation's records (`durationMs` of runtimeDone, report and spans) as whole
    /// milliseconds, which serialise as integers (`12` rather than `12.345`): the platform sends both.
    public var wholeMilliseconds: Bool

    public init(
        lines: [FunctionLogLine] = FunctionLogLine.numbered(3), handlerDuration: Duration = .milliseconds(20),
        outcome: InvocationOutcome = .success, deliveryBreaks: Set<DeliveryBreak> = [], wholeMilliseconds: Bool = false
    ) {
        self.lines = lines
        self.handlerDuration = handlerDuration
        self.outcome = outcome
        self.deliveryBreaks = deliveryBreaks
        self.wholeMilliseconds = wholeMilliseconds
    }
}
