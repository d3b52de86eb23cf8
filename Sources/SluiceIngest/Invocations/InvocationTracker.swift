import SluiceJSON
public import SluiceSpool
import SluiceTime

/// Where a log line belongs: its invocation's request id and trace id, and the phase.
public struct LineContext: Sendable, Equatable {
    public enum Phase: String, Sendable {
        case initialization = "init"
        case invoke
        case shutdown
    }

    public var requestId: String?
    public var traceId: String?
    public var phase: Phase?

    public init(requestId: String? = nil, traceId: String? = nil, phase: Phase? = nil) {
        self.requestId = requestId
        self.traceId = traceId
        self.phase = phase
    }
}

/// The invocation view's state in memory, a mirror of what the spool holds: the phase marks that
/// say where a line belongs, the invocations whose summary is not written yet, and the deliveries
/// already applied. Each delivery works on a copy; the copy replaces this one only once the spool
/// committed the delivery and the changes together.
public struct InvocationTracker: Sendable {
    /// Oldest first; among marks of one time, in the order they came.
    private(set) var marks: [InvocationMark]
    /// Open invocations by `key`.
    private var open: [String: InvocationSummary] = [:]
    /// The key of the newest open invocation of each request id.
    private var newestOpen: [String: String] = [:]
    private var applied: [String]
    private var appliedSet: Set<String>

    /// What the current delivery changed, and the summaries it completed.
    private var changes = InvocationChanges()
    private var touched: Set<String> = []
    /// Where in the current delivery each of its marks sits: a line of the same millisecond as a
    /// start belongs to it only if it came after it (Lambda's times are whole milliseconds, and a
    /// handler's last line and the next start often share one).
    private var positions: [String: Int] = [:]
    private(set) var completed: [InvocationSummary] = []
    /// Lines of this delivery whose request id has no open invocation (its start was dropped by
    /// the platform, or is in a later delivery): counted into the summary a report of the same
    /// delivery makes, since the report then opens it.
    private var unplaced: [String: (lines: Int, bytes: Int, errors: Int)] = [:]

    /// How many marks are kept between deliveries: an invocation's lines arrive within a few of
    /// its start.
    public static let marksKept = 64

    public init(_ state: InvocationState) {
        marks = state.marks
        applied = state.appliedDeliveries
        appliedSet = Set(applied)
        for row in state.open {
            guard let summary = InvocationSummary(requestId: row.requestId, startedAt: row.startedAt, state: row.state)
            else { continue }
            let key = Self.key(row.requestId, row.startedAt)
            open[key] = summary
            if let newest = newestOpen[row.requestId], let other = open[newest], other.startedAt > row.startedAt {
                continue
            }
            newestOpen[row.requestId] = key
        }
    }

    static func key(_ requestId: String, _ startedAt: Int64) -> String { "\(requestId)@\(startedAt)" }

    /// Initialization types whose environments are made before a request needs them.
    static let readyAhead: Set<String> = ["provisioned-concurrency", "lambda-managed-instances"]

    /// Open invocations, oldest first (for `sluice spool invocations` and SHUTDOWN).
    public var openInvocations: [InvocationSummary] {
        open.values.sorted { ($0.startedAt, $0.requestId) < ($1.startedAt, $1.requestId) }
    }

    // MARK: One delivery

    /// Starts a delivery (nil: a change of the extension's own, such as SHUTDOWN, which no
    /// re-delivery can repeat); false when its changes were made already (a re-delivery), in which
    /// case nothing it carries changes the state.
    public mutating func begin(delivery digest: String?) -> Bool {
        changes = InvocationChanges()
        touched = []
        completed = []
        positions = [:]
        unplaced = [:]
        guard let digest else { return true }
        guard !appliedSet.contains(digest) else { return false }
        changes.appliedDelivery = digest
        applied.append(digest)
        appliedSet.insert(digest)
        if applied.count > 512 {
            appliedSet.remove(applied.removeFirst())
        }
        return true
    }

    /// The changes and completed summaries of the current delivery.
    public mutating func finish() -> (changes: InvocationChanges, completed: [InvocationSummary]) {
        // Trimmed only now: a delivery's lines need every mark it brought, however many
        // invocations it holds.
        if marks.count > Self.marksKept {
            let oldestKept = marks[marks.count - Self.marksKept].at
            marks.removeAll { $0.at < oldestKept }
            changes.dropMarksBefore = oldestKept
        }
        for key in touched {
            guard let summary = open[key] else { continue }
            changes.upserted.append(
                OpenInvocation(requestId: summary.requestId, startedAt: summary.startedAt, state: summary.state))
        }
        let result = (changes, completed)
        changes = InvocationChanges()
        touched = []
        completed = []
        return result
    }

    // MARK: Marks

    /// The first pass over a delivery: an init or restore begins, an invocation starts.
    mutating func observeBoundary(
        type: String, time: Int64, timeToken: String, record: Range<Int>, position: Int, in reader: JSONReader
    ) {
        switch type {
        case "platform.initStart":
            let kind = reader.string(reader.member("initializationType", of: record))
            add(InvocationMark(at: time, kind: .initialization, detail: kind ?? "on-demand"), position: position)
        case "platform.restoreStart":
            add(InvocationMark(at: time, kind: .initialization, detail: "snap-start"), position: position)
        case "platform.start":
            let fields = reader.members(["requestId", "tracing"], of: record)
            guard let requestId = reader.string(fields[0]), !requestId.isEmpty else { return }
            // A start seen before (a batch the platform sent again in other company): its
            // invocation is open or summarised already.
            guard !marks.contains(where: { $0.at == time && $0.kind == .start && $0.requestId == requestId }) else {
                return
            }
            let traceId = reader.string(reader.member("value", of: fields[1])).flatMap(Self.traceRoot)
            let previous = mark(at: time, position: position)
            add(InvocationMark(at: time, kind: .start, requestId: requestId, traceId: traceId), position: position)
            let key = Self.key(requestId, time)
            guard open[key] == nil else { return }
            var summary = InvocationSummary(requestId: requestId, startedAt: time, startTime: timeToken)
            summary.traceId = traceId
            if let previous, previous.kind == .initialization {
                // Until the report says (see `observeOutcome`): a provisioned environment is
                // ready before any request comes.
                summary.coldStart = !Self.readyAhead.contains(previous.detail ?? "")
                summary.initType = previous.detail
            }
            open[key] = summary
            newestOpen[requestId] = key
            touched.insert(key)
        default:
            break
        }
    }

    /// SHUTDOWN reached the extension at `time`: later lines are phase `shutdown`.
    public mutating func observeShutdown(at time: Int64) {
        add(InvocationMark(at: time, kind: .shutdown))
    }

    static func identity(_ mark: InvocationMark) -> String { "\(mark.at)|\(mark.kind.rawValue)|\(mark.requestId)" }

    private mutating func add(_ mark: InvocationMark, position: Int? = nil) {
        if let position { positions[Self.identity(mark)] = position }
        // After every mark at or before its time: marks of one time keep their order.
        var index = marks.count
        while index > 0 && marks[index - 1].at > mark.at { index -= 1 }
        marks.insert(mark, at: index)
        changes.addedMarks.append(mark)
    }

    /// The newest mark at or before `time`; of those of that very millisecond, only one that came
    /// before `position` of the current delivery (or in an earlier delivery).
    func mark(at time: Int64, position: Int = .max) -> InvocationMark? {
        let index = markCount(at: time, position: position)
        return index == 0 ? nil : marks[index - 1]
    }

    /// How many marks a line at `time` and `position` comes after.
    private func markCount(at time: Int64, position: Int) -> Int {
        var index = markIndex(after: time)
        while index > 0, marks[index - 1].at == time, let at = positions[Self.identity(marks[index - 1])],
            at > position
        {
            index -= 1
        }
        return index
    }

    /// The index of the first mark after `time`.
    private func markIndex(after time: Int64) -> Int {
        var low = 0
        var high = marks.count
        while low < high {
            let middle = (low + high) / 2
            if marks[middle].at <= time { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The times whose lines (of no request id of their own) surely have the same context as a
    /// line at `time`: strictly between its mark and the next one.
    public func span(at time: Int64, position: Int = .max) -> Range<Int64> {
        let index = markCount(at: time, position: position)
        let from = index == 0 ? Int64.min : marks[index - 1].at + 1
        let until = index == marks.count ? Int64.max : marks[index].at
        // Between two marks of one millisecond (found by the `delivery` fuzz target): no time is
        // sure, each line there is placed by its position.
        guard from <= until else { return until..<until }
        return from..<until
    }

    /// Where a line at `time` belongs; `ownRequestId` (a JSON record's own) wins over the marks.
    public func context(at time: Int64, position: Int = .max, ownRequestId: String? = nil) -> LineContext {
        if let ownRequestId {
            let mark = mark(at: time, position: position)
            let phase: LineContext.Phase = mark?.kind == .shutdown ? .shutdown : .invoke
            if mark?.requestId == ownRequestId {
                return LineContext(requestId: ownRequestId, traceId: mark?.traceId, phase: phase)
            }
            let start = marks.last { $0.kind == .start && $0.requestId == ownRequestId }
            return LineContext(requestId: ownRequestId, traceId: start?.traceId, phase: phase)
        }
        guard let mark = mark(at: time, position: position) else { return LineContext() }
        switch mark.kind {
        case .initialization: return LineContext(phase: .initialization)
        case .start: return LineContext(requestId: mark.requestId, traceId: mark.traceId, phase: .invoke)
        case .shutdown: return LineContext(phase: .shutdown)
        }
    }

    // MARK: The join

    /// Function lines of `requestId`: how many, their bytes, how many at ERROR or FATAL.
    public mutating func countLines(_ run: (requestId: String, lines: Int, bytes: Int, errors: Int)) {
        guard let key = newestOpen[run.requestId], var summary = open[key] else {
            var lines = unplaced[run.requestId] ?? (0, 0, 0)
            lines.lines += run.lines
            lines.bytes += run.bytes
            lines.errors += run.errors
            unplaced[run.requestId] = lines
            return
        }
        summary.logLines += run.lines
        summary.logBytes += run.bytes
        summary.errorLines += run.errors
        open[key] = summary
        touched.insert(key)
    }

    /// The last pass over a delivery: what an invocation came to.
    mutating func observeOutcome(
        type: String, time: Int64, timeToken: String, record: Range<Int>, in reader: JSONReader
    ) {
        guard type == "platform.runtimeDone" || type == "platform.report" else { return }
        // Each object is walked once for all the members wanted of it.
        let fields = reader.members(["requestId", "status", "errorType", "metrics", "spans"], of: record)
        guard let requestId = reader.string(fields[0]), !requestId.isEmpty else { return }
        let status = reader.string(fields[1])
        let errorType = reader.string(fields[2])
        let metricValues = reader.members(Self.metricNames, of: fields[3]).map(reader.number)
        func metric(_ name: String) -> Double? {
            let index = Self.metricNames.firstIndex(of: name)
            assert(index != nil, "\(name) is not in metricNames")
            return index.flatMap { metricValues[$0] }
        }
        // Each span's name and duration; the first span of a name is the one read.
        let spans = fields[4].map { reader.elements(of: $0.range) } ?? []
        let spanFields = spans.map { reader.members(["name", "durationMs"], of: $0) }
        func span(_ name: String) -> Double? {
            for span in spanFields where reader.string(span[0]) == name { return reader.number(span[1]) }
            return nil
        }

        var key = newestOpen[requestId].flatMap { open[$0] == nil ? nil : $0 }
        if key == nil {
            // No start seen (dropped by the platform), or already summarised: a summary from what
            // this says, with the start's time when a mark remembers it (the same id as before).
            guard type == "platform.report" else { return }
            // A duration that no Int64 holds (or a negative one) says nothing of when it started.
            let duration = min(max(metric("durationMs") ?? 0, 0), 1e12)
            let startedAt =
                marks.last { $0.kind == .start && $0.requestId == requestId }?.at ?? time - Int64(duration.rounded())
            var summary = InvocationSummary(
                requestId: requestId, startedAt: startedAt, startTime: UTCTime.iso8601(milliseconds: startedAt))
            summary.traceId = marks.last { $0.kind == .start && $0.requestId == requestId }?.traceId
            // Summarised already by this delivery (one report twice in a batch): a second summary
            // would be a second document with its id. The first stands, as it does against a
            // later delivery's (the spool keeps the first document of an id).
            if completed.contains(where: { $0.requestId == requestId && $0.startedAt == startedAt }) { return }
            if let lines = unplaced.removeValue(forKey: requestId) {
                summary.logLines = lines.lines
                summary.logBytes = lines.bytes
                summary.errorLines = lines.errors
            }
            let newKey = Self.key(requestId, startedAt)
            open[newKey] = summary
            key = newKey
        }
        guard let key, var summary = open[key] else { return }
        if type == "platform.runtimeDone" {
            // Summarised `incomplete` at SHUTDOWN already, and now the runtime says how it ended (a
            // timeout's runtimeDone flushed late): the summary is written again, replacing that one.
            let tellsMore = summary.summarisedIncomplete && status != nil && status != summary.runtimeStatus
            summary.runtimeStatus = status
            summary.runtimeErrorType = errorType
            summary.numbers["runtimeDurationMs"] = metric("durationMs") ?? summary.numbers["runtimeDurationMs"]
            summary.numbers["producedBytes"] = metric("producedBytes") ?? summary.numbers["producedBytes"]
            summary.numbers["responseLatencyMs"] = span("responseLatency") ?? summary.numbers["responseLatencyMs"]
            summary.numbers["responseDurationMs"] = span("responseDuration") ?? summary.numbers["responseDurationMs"]
            summary.numbers["runtimeOverheadMs"] = span("runtimeOverhead") ?? summary.numbers["runtimeOverheadMs"]
            open[key] = summary
            touched.insert(key)
            if tellsMore { completed.append(summary) }
            return
        }
        summary.status = status ?? summary.runtimeStatus ?? "incomplete"
        summary.errorType = errorType
        summary.end = timeToken
        for name in [
            "durationMs", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs", "restoreDurationMs",
        ] {
            if let value = metric(name) { summary.numbers[name] = value }
        }
        if let overhead = span("extensionOverhead") { summary.numbers["extensionOverheadMs"] = overhead }
        // The report says whether this request waited for an init: it has the init's (or the
        // restore's) duration then, and only then. A provisioned or proactively started
        // environment's first request did not wait, though an init came before it.
        summary.coldStart = summary.numbers["initDurationMs"] != nil || summary.numbers["restoreDurationMs"] != nil
        close(key, summary)
    }

    /// The metrics of a runtimeDone or a report that a summary keeps: every name `observeOutcome`
    /// reads, all of them in one walk of the `metrics` object.
    static let metricNames = [
        "durationMs", "producedBytes", "billedDurationMs", "memorySizeMB", "maxMemoryUsedMB", "initDurationMs",
        "restoreDurationMs",
    ]

    /// The environment ends: every open invocation is summarised with what is known
    /// (`status: incomplete` where no report came), once. It stays open, so that a report the
    /// platform delivers later still completes it (its summary then replaces this one).
    public mutating func closeAll() {
        for (key, summary) in open.sorted(by: { $0.value.startedAt < $1.value.startedAt })
        where !summary.summarisedIncomplete {
            completed.append(summary)
            var kept = summary
            kept.summarisedIncomplete = true
            open[key] = kept
            touched.insert(key)
        }
    }

    private mutating func close(_ key: String, _ summary: InvocationSummary) {
        open.removeValue(forKey: key)
        if newestOpen[summary.requestId] == key { newestOpen.removeValue(forKey: summary.requestId) }
        touched.remove(key)
        changes.closed.append((summary.requestId, summary.startedAt))
        completed.append(summary)
    }

    /// `Root=1-…;Parent=…;Sampled=…` → `1-…`.
    static func traceRoot(_ header: String) -> String? {
        // Read as bytes: splitting the `String` by characters took 36,000 instructions a header.
        var header = header
        return header.withUTF8 { bytes -> String? in
            var start = 0
            while start < bytes.count {
                let end = bytes[start...].firstIndex(of: UInt8(ascii: ";")) ?? bytes.count
                var name = start
                while name < end && bytes[name] == UInt8(ascii: " ") { name += 1 }
                if let equals = bytes[name..<end].firstIndex(of: UInt8(ascii: "=")), equals + 1 < end,
                    bytes[name..<equals].elementsEqual("Root".utf8)
                {
                    return String(decoding: bytes[(equals + 1)..<end], as: UTF8.self)
                }
                start = end + 1
            }
            return nil
        }
    }
}
