import SluiceJSON

/// What is known of one invocation, joined from its `platform.start`, `platform.runtimeDone` and
/// `platform.report` and the function lines it logged: kept in the spool while the invocation is
/// open, and written as its summary document once the report comes (or at SHUTDOWN, with what is
/// known).
public struct InvocationSummary: Sendable, Equatable {
    public var requestId: String
    /// The start's time, in milliseconds since the epoch, and as Lambda sent it.
    public var startedAt: Int64
    public var startTime: String
    public var traceId: String?
    public var coldStart = false
    public var initType: String?
    /// From the report (see `finalStatus` for when none came).
    public var status: String?
    public var errorType: String?
    /// From the runtimeDone, for when no report comes.
    public var runtimeStatus: String?
    public var runtimeErrorType: String?
    /// The report's time as Lambda sent it.
    public var end: String?
    /// Every number the platform sent, by the summary's field name.
    public var numbers: [String: Double] = [:]
    public var logLines = 0
    public var logBytes = 0
    public var errorLines = 0
    /// Its summary was written `incomplete` at SHUTDOWN; it stays open for a report that comes
    /// later, whose summary then replaces that one.
    public var summarisedIncomplete = false

    public init(requestId: String, startedAt: Int64, startTime: String) {
        self.requestId = requestId
        self.startedAt = startedAt
        self.startTime = startTime
    }

    /// The numbers of the summary, in the order they are written.
    static let numberFields = [
        "durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "memoryUsedPercent", "initDurationMs",
        "restoreDurationMs", "runtimeDurationMs", "producedBytes", "responseLatencyMs", "responseDurationMs",
        "runtimeOverheadMs", "extensionOverheadMs",
    ]

    /// The report's status; the runtimeDone's where no report came (a timeout or a crash resets
    /// the environment, and its report may never reach the extension); `incomplete` where
    /// neither did.
    public var finalStatus: String { status ?? runtimeStatus ?? "incomplete" }

    /// Out of memory: Lambda says so, or an error or timeout used all the memory there was.
    public var outOfMemory: Bool {
        let type = errorType ?? runtimeErrorType
        if type == "Runtime.OutOfMemory" { return true }
        let status = finalStatus
        guard status == "error" || status == "timeout", let used = numbers["maxMemoryUsedMB"],
            let size = numbers["memorySizeMB"], size > 0
        else { return false }
        return used >= size
    }

    /// The summary document (`type: "sluice.invocation"`), after `functionFields` (the function's
    /// name, version and region, as every document has them); the numbers in `omitting` are not
    /// written again (`memorySizeMB`, when the function's fields hold it).
    public func document(functionFields: [UInt8], omitting: Set<String> = []) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(640)
        out += Array(#"{"@timestamp":"#.utf8)
        JSONText.appendString(startTime, to: &out)
        out += Array(#","type":"sluice.invocation""#.utf8)
        out += functionFields
        let finalStatus = finalStatus
        Self.field("requestId", requestId, &out)
        Self.field("traceId", traceId, &out)
        Self.field("status", finalStatus, &out)
        Self.field("errorType", errorType ?? runtimeErrorType, &out)
        Self.field("initType", initType, &out)
        Self.flag("coldStart", coldStart, &out)
        Self.flag("outOfMemory", outOfMemory, &out)
        Self.flag("timedOut", finalStatus == "timeout", &out)
        var numbers = self.numbers
        if let used = numbers["maxMemoryUsedMB"], let size = numbers["memorySizeMB"], size > 0 {
            numbers["memoryUsedPercent"] = (used / size * 1000).rounded() / 10
        }
        for name in Self.numberFields where !omitting.contains(name) {
            if let value = numbers[name] { Self.number(name, value, &out) }
        }
        Self.number("logLines", Double(logLines), &out)
        Self.number("logBytes", Double(logBytes), &out)
        Self.number("errorLines", Double(errorLines), &out)
        Self.field("end", end, &out)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// What is known so far, as kept in the spool: a JSON object of the same names.
    public var state: [UInt8] {
        var out = Array(#"{"startTime":"#.utf8)
        JSONText.appendString(startTime, to: &out)
        Self.field("traceId", traceId, &out)
        Self.flag("coldStart", coldStart, &out)
        Self.field("initType", initType, &out)
        Self.field("status", status, &out)
        Self.field("errorType", errorType, &out)
        Self.field("runtimeStatus", runtimeStatus, &out)
        Self.field("runtimeErrorType", runtimeErrorType, &out)
        Self.field("end", end, &out)
        for name in Self.numberFields {
            if let value = numbers[name] { Self.number(name, value, &out) }
        }
        Self.number("logLines", Double(logLines), &out)
        Self.number("logBytes", Double(logBytes), &out)
        Self.number("errorLines", Double(errorLines), &out)
        if summarisedIncomplete { Self.flag("summarisedIncomplete", true, &out) }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The summary kept as `state` for `requestId` started at `startedAt`; nil when unreadable.
    public init?(requestId: String, startedAt: Int64, state: [UInt8]) {
        let validated = state.withUnsafeBufferPointer { buffer -> Bool in
            var scanner = JSONScanner(buffer)
            guard let value = try? scanner.value(), value.kind == .object else { return false }
            scanner.skipWhitespace()
            return scanner.atEnd
        }
        guard validated else { return nil }
        let reader = JSONReader(state)
        var summary = InvocationSummary(requestId: requestId, startedAt: startedAt, startTime: "")
        for (key, value) in reader.members(of: 0..<state.count) {
            switch key {
            case "startTime": summary.startTime = reader.string(value) ?? ""
            case "traceId": summary.traceId = reader.string(value)
            case "coldStart": summary.coldStart = state[value.range.lowerBound] == UInt8(ascii: "t")
            case "initType": summary.initType = reader.string(value)
            case "status": summary.status = reader.string(value)
            case "errorType": summary.errorType = reader.string(value)
            case "runtimeStatus": summary.runtimeStatus = reader.string(value)
            case "runtimeErrorType": summary.runtimeErrorType = reader.string(value)
            case "end": summary.end = reader.string(value)
            case "logLines": summary.logLines = Self.count(reader.number(value))
            case "logBytes": summary.logBytes = Self.count(reader.number(value))
            case "errorLines": summary.errorLines = Self.count(reader.number(value))
            case "summarisedIncomplete":
                summary.summarisedIncomplete = state[value.range.lowerBound] == UInt8(ascii: "t")
            default: if let number = reader.number(value) { summary.numbers[key] = number }
            }
        }
        self = summary
    }

    private static func field(_ name: String, _ value: String?, _ out: inout [UInt8]) {
        guard let value else { return }
        out.append(UInt8(ascii: ","))
        JSONText.appendString(name, to: &out)
        out.append(UInt8(ascii: ":"))
        JSONText.appendString(value, to: &out)
    }

    private static func flag(_ name: String, _ value: Bool, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        JSONText.appendString(name, to: &out)
        out += Array((value ? ":true" : ":false").utf8)
    }

    /// A count read back from the state: what an Int holds of it (a damaged state can say anything).
    private static func count(_ value: Double?) -> Int {
        guard let value, value.isFinite else { return 0 }
        return Int(min(max(value, 0), 1e15))
    }

    private static func number(_ name: String, _ value: Double, _ out: inout [UInt8]) {
        guard value.isFinite else { return }
        out.append(UInt8(ascii: ","))
        JSONText.appendString(name, to: &out)
        out.append(UInt8(ascii: ":"))
        // Whole numbers without a fraction; the mapping makes every number a double anyway.
        if value == value.rounded(), abs(value) < 1e15 {
            JSONText.appendInteger(Int64(value), to: &out)
        } else {
            out += Array("\(value)".utf8)
        }
    }
}
