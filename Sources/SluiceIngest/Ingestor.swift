public import Logging
import SluiceJSON
public import SluiceLambda
public import SluiceSpool
public import SluiceTime

/// Turns one Telemetry API delivery into spool records and stores them in one transaction before
/// the delivery is answered: 200 once committed, 400 for a malformed delivery (nothing stored),
/// 503 when the spool cannot take it (the platform delivers it again).
///
/// Each delivery also moves the invocation view: the phase marks that tie every log line to its
/// invocation, and the join of each invocation's platform events into one summary document, kept
/// in the spool and changed in the same transaction as the delivery (`InvocationTracker`).
///
/// It never logs per delivery: its own log lines come back to it as `extension` events, and a line
/// per delivery would feed itself. Refusals, and records the spool's cap drops, are logged at most
/// once a minute, with counts.
public final class Ingestor: Sendable {
    let spool: Spool
    let document: TelemetryDocument
    let ids: DocumentID
    let indices: IndexRouting
    let logger: Logger
    let clock: WallClock
    /// Masking, drop and keep rules, the minimum level, which platform events are indexed.
    let rules: IngestRules
    /// The extension's health documents; nil: none are written.
    let health: HealthReport?
    /// Where the CPU time of ingest and of spool appends is counted (shown in health documents).
    public let cpu: StageCPU
    private let healthState = Locked(HealthState())

    /// When the last health document was written, and what it will tell of invocations.
    struct HealthState {
        var lastMinute: Int64 = -1
        /// `extensionOverheadMs` of the invocations summarised since (0 where the report has none).
        var overheads: [Double] = []
    }
    let onStored: @Sendable () -> Void
    private let counts = Locked(Tallies())
    /// The invocation view's state; held for the whole of a delivery, so deliveries apply in order.
    private let tracker: Locked<InvocationTracker>

    /// What the ingestor did since it started.
    public struct Tallies: Sendable, Equatable {
        public var deliveries = 0
        public var events = 0
        public var stored = 0
        public var duplicates = 0
        public var malformed = 0
        public var failed = 0
        /// What the rules did in this process, by rule name (`email.masked`); the spool keeps the
        /// environment's totals.
        public var rules: [String: Int] = [:]
        /// Refusals of deliveries.
        var refusals = OncePerMinute()
        /// Records the spool's cap dropped (`drop-oldest`) or refused (`reject-new`); the spool
        /// counts them for good (`dropped`), this only for the next line.
        var capped = OncePerMinute()
        /// A pattern's running out of time.
        var budget = OncePerMinute()
        /// Telemetry Lambda said it dropped (records).
        var lambdaDropped = OncePerMinute()
    }

    /// A line said at most once a minute, with how many times it had something to say since.
    struct OncePerMinute: Sendable, Equatable {
        /// When the line was last said (ms since the epoch).
        var lastSaid: Int64 = 0
        var unsaid = 0

        /// Counts `count` more; returns the count since the last line (these included) when a line
        /// is due, and starts counting again; nil when one was said less than a minute ago.
        mutating func note(_ count: Int = 1, at now: Int64) -> Int? {
            unsaid += count
            guard now - lastSaid >= 60_000 else { return nil }
            defer {
                lastSaid = now
                unsaid = 0
            }
            return unsaid
        }
    }

    /// `onStored` runs after each delivery that stored something (to wake the shipper).
    public init(
        spool: Spool, document: TelemetryDocument, environmentID: String, indices: IndexRouting, logger: Logger,
        rules: IngestRules = IngestRules(), health: HealthReport? = nil, clock: WallClock = .system,
        cpu: StageCPU = StageCPU(), onStored: @escaping @Sendable () -> Void = {}
    ) {
        self.cpu = cpu
        self.clock = clock
        self.rules = rules
        self.health = health
        self.spool = spool
        self.document = document
        self.ids = DocumentID(environment: environmentID)
        self.indices = indices
        self.logger = logger
        self.onStored = onStored
        var state = InvocationState()
        do {
            state = try spool.invocationState()
        } catch {
            logger.error(
                "the invocation state cannot be read; lines are tied to invocations from the next start on",
                metadata: ["error": "\(error)"])
        }
        self.tracker = Locked(InvocationTracker(state))
    }

    /// The invocations whose summary is not written yet.
    public var openInvocations: [InvocationSummary] { tracker.withLock { $0.openInvocations } }

    public var tallies: Tallies { counts.withLock { $0 } }

    /// Validates, stores and answers one delivery.
    public func ingest(_ body: [UInt8]) -> DeliveryAnswer {
        let delivery: TelemetryDelivery
        do {
            delivery = try cpu.measure(.ingest) { () throws(LambdaError) in try TelemetryDelivery(validating: body) }
        } catch {
            counts.withLock { $0.malformed += 1 }
            try? spool.recordMalformed()
            refused("refused a malformed telemetry delivery", error.description)
            return DeliveryAnswer(status: 400, reason: error.description)
        }
        do {
            let (result, ruleCounts, budgetSpent, lambdaDropped) = try tracker.withLock { tracker in
                var next = tracker
                var (records, ruleCounts, budgetSpent, lambdaDropped) = cpu.measure(.ingest) {
                    self.records(delivery, tracker: &next)
                }
                // The platform leaves the span out when the extension added nothing: 0 ms.
                let overheads = next.completed.filter { $0.status != nil }.map {
                    $0.numbers["extensionOverheadMs"] ?? 0
                }
                healthState.withLock { $0.overheads += overheads }
                let changes = next.finish().changes
                // A re-delivered batch (its digest is among the applied deliveries: the platform
                // sent it again after a lost answer) was stored when it first came: its records are
                // counted as duplicates and not stored again, nor its rules' counts counted again.
                let redelivered = changes.appliedDelivery == nil
                let duplicates = redelivered ? records.count : 0
                if redelivered { records = [] }
                let counted = redelivered ? RuleCounts() : ruleCounts
                let drops = redelivered ? LambdaDrops() : lambdaDropped
                let now = clock.now()
                let report = healthRecord(at: now)
                if let report { records.append(report) }
                let result = try cpu.measure(.spoolAppend) {
                    try spool.append(
                        records, invocations: changes, ruleCounts: counted.values,
                        lambdaDropped: (drops.records, drops.bytes), duplicates: duplicates)
                }
                if report != nil {
                    healthState.withLock {
                        $0.lastMinute = now / HealthReport.intervalMilliseconds
                        $0.overheads = []
                    }
                }
                tracker = next
                return (result, counted, budgetSpent, drops)
            }
            let now = budgetSpent ? clock.now() : 0
            let logBudget = counts.withLock {
                $0.deliveries += 1
                $0.events += delivery.events.count
                $0.stored += result.stored
                $0.duplicates += result.duplicates
                $0.rules.merge(ruleCounts.values, uniquingKeysWith: +)
                return budgetSpent && $0.budget.note(at: now) != nil
            }
            capped(result)
            lost(lambdaDropped)
            if logBudget {
                let names = ruleCounts.values.keys.filter { $0.hasSuffix(".unscanned") }.sorted()
                logger.warning(
                    "a rule's pattern ran out of time on a long line: the text it could not search was masked (or the line kept); simplify the pattern",
                    metadata: ["rules": "\(names.joined(separator: ","))"])
            }
            if result.stored > 0 { onStored() }
            return .accepted
        } catch {
            counts.withLock { $0.failed += 1 }
            refused("could not store a telemetry delivery; the platform will send it again", "\(error)")
            return DeliveryAnswer(status: 503, reason: "the spool could not store this delivery: \(error)")
        }
    }

    /// The spool records of a validated delivery, as the next delivery would get them (the state
    /// is not changed).
    public func records(_ delivery: TelemetryDelivery) -> [SpoolRecord] {
        var copy = tracker.withLock { $0 }
        return records(delivery, tracker: &copy).records
    }

    /// The records of `delivery` and, in `tracker`, the changes it makes to the invocation view:
    /// first the boundaries it announces (inits, starts), so that each line finds its invocation
    /// by time wherever it sits in the delivery; then every event's document, counting each
    /// function line into its invocation; last the outcomes (runtimeDone, report), so that a
    /// report's summary counts the lines delivered with it. The rules run on each line after it is
    /// counted (an invocation's summary counts every line it printed); what they drop leaves no
    /// record, and the other records keep their ids (from the delivery's bytes and positions).
    func records(
        _ delivery: TelemetryDelivery, tracker: inout InvocationTracker
    ) -> (records: [SpoolRecord], ruleCounts: RuleCounts, budgetSpent: Bool, lambdaDropped: LambdaDrops) {
        let body = delivery.body
        let digest = DocumentID.digest(of: body)
        let ids = self.ids.delivery(digest: digest)
        let applying = tracker.begin(delivery: digest)
        let reader = JSONReader(body)
        var hasPlatform = false
        var dropped = LambdaDrops()
        for (position, event) in delivery.events.enumerated() where !TelemetryDocument.isLog(event.type) {
            hasPlatform = true
            guard applying else { break }
            tracker.observeBoundary(
                type: event.type, time: event.time, timeToken: reader.text(event.timeToken), record: event.record,
                position: position, in: reader)
            if event.type == "platform.logsDropped" { dropped.add(event, in: reader) }
        }
        var records: [SpoolRecord] = []
        records.reserveCapacity(delivery.events.count + 1)
        // Lines come in runs of one invocation: its tokens are made, and its counts added, once a run.
        var tokens: TelemetryDocument.ContextTokens?
        var span: Range<Int64> = 0..<0
        // The same for lines with a request id of their own.
        var ownTokens: TelemetryDocument.ContextTokens?
        var ownSpan: Range<Int64> = 0..<0
        var run: (requestId: String, lines: Int, bytes: Int, errors: Int)?
        var ruleCounts = RuleCounts()
        var budget = RuleBudget()
        var indexNames = IndexPattern.Names()
        let hasRules = !rules.isEmpty
        for (position, event) in delivery.events.enumerated() {
            var lineTokens: TelemetryDocument.ContextTokens?
            var rewritten: RewrittenLine?
            if TelemetryDocument.isLog(event.type) {
                // A request id of its own (a JSON record's, or where a managed runtime writes it into a
                // text line): it wins over the marks, whose start may have been dropped by Lambda.
                let ownRequestId =
                    event.requestIdToken.map { reader.text($0) }
                    ?? (event.recordKind == .string && event.type == "function"
                        ? LogLevel.requestIdInTextToken(body[event.record]) : nil)
                if let ownRequestId {
                    // Usually the run's invocation, then its tokens: the same inside one span for one id.
                    if let ownTokens, ownTokens.context.requestId == ownRequestId, ownSpan.contains(event.time) {
                        lineTokens = ownTokens
                    } else {
                        let own = tracker.context(at: event.time, position: position, ownRequestId: ownRequestId)
                        ownTokens =
                            own == ownTokens?.context
                            ? ownTokens : own == tokens?.context ? tokens : TelemetryDocument.ContextTokens(own)
                        ownSpan = tracker.span(at: event.time, position: position)
                        lineTokens = ownTokens
                    }
                } else {
                    // Inside the span of the last line's mark, a line has its context.
                    if tokens == nil || !span.contains(event.time) {
                        let context = tracker.context(at: event.time, position: position)
                        if tokens?.context != context { tokens = TelemetryDocument.ContextTokens(context) }
                        span = tracker.span(at: event.time, position: position)
                    }
                    lineTokens = tokens
                }
                let context = lineTokens!.context
                let isFunction = event.type == "function"
                var level: LogLevel?
                if isFunction && ((applying && context.requestId != nil) || rules.minimumLevel != nil) {
                    level =
                        event.recordKind == .string
                        ? LogLevel.inTextToken(body[event.record])
                        : event.levelToken.flatMap { LogLevel(name: body[$0].dropFirst().dropLast()) }
                }
                if applying, isFunction, let requestId = context.requestId {
                    let error = level?.isError == true ? 1 : 0
                    // A text line's bytes as the function wrote it; a JSON line's as its JSON text.
                    let bytes =
                        event.recordKind == .string
                        ? body.withUnsafeBufferPointer { JSONReader.decodedCount($0, event.record) }
                        : event.record.count
                    if run?.requestId == requestId {
                        run!.lines += 1
                        run!.bytes += bytes
                        run!.errors += error
                    } else {
                        if let run { tracker.countLines(run) }
                        run = (requestId, 1, bytes, error)
                    }
                }
                if hasRules {
                    switch rules.apply(
                        to: event, of: delivery, level: isFunction ? level : nil, budget: &budget, counts: &ruleCounts)
                    {
                    case .keep: break
                    case .drop: continue
                    case .rewrite(let line): rewritten = line
                    }
                }
            } else if hasRules, !rules.indexes(platform: event.type) {
                ruleCounts.add(IngestRules.platformEventsRule, "dropped")
                continue
            }
            let (body, echo) = document.encode(event, of: delivery, context: lineTokens, rewritten: rewritten)
            records.append(
                SpoolRecord(
                    id: ids.id(eventTime: event.time, position: position),
                    index: indexNames.name(indices.pattern(for: event.type), eventTime: event.time),
                    eventTime: event.time,
                    document: body, echo: echo))
        }
        if let run { tracker.countLines(run) }
        if applying && hasPlatform {
            for event in delivery.events where event.type == "platform.runtimeDone" || event.type == "platform.report" {
                tracker.observeOutcome(
                    type: event.type, time: event.time, timeToken: reader.text(event.timeToken), record: event.record,
                    in: reader)
            }
        }
        records += summaries(tracker.completed)
        return (records, ruleCounts, budget.wasSpent, dropped)
    }

    /// What Lambda said it dropped (`platform.logsDropped`): telemetry its buffer could not hold
    /// while the extension did not take it, which never reaches the extension.
    struct LambdaDrops: Sendable, Equatable {
        var records = 0
        var bytes = 0
        /// The last event's `reason`.
        var reason: String?

        var isEmpty: Bool { records == 0 && bytes == 0 && reason == nil }

        mutating func add(_ event: TelemetryDelivery.Event, in reader: JSONReader) {
            guard event.recordKind == .object else { return }
            func count(_ key: String) -> Int {
                guard let value = reader.number(reader.member(key, of: event.record)), value.isFinite, value > 0
                else { return 0 }
                return Int(min(value, 1e15))
            }
            records += count("droppedRecords")
            bytes += count("droppedBytes")
            reason = reader.string(reader.member("reason", of: event.record)) ?? reason ?? ""
        }
    }

    /// The summary documents of completed invocations; none when the invocation index is off.
    func summaries(_ completed: [InvocationSummary]) -> [SpoolRecord] {
        guard let pattern = indices.invocation else { return [] }
        return completed.map { summary in
            SpoolRecord(
                id: DocumentID.invocation(requestId: summary.requestId, startedAt: summary.startedAt),
                index: pattern.name(eventTime: summary.startedAt), eventTime: summary.startedAt,
                document: summary.document(
                    functionFields: document.functionFields,
                    omitting: document.function.memorySizeMB == nil ? [] : ["memorySizeMB"]),
                replaces: summary.summarisedIncomplete, keyed: true)
        }
    }

    /// The health document due now, if one is: none written in this minute yet.
    func healthRecord(at now: Int64, shutdown: Bool = false) -> SpoolRecord? {
        guard let health else { return nil }
        let minute = now / HealthReport.intervalMilliseconds
        let (due, overheads) = healthState.withLock { ($0.lastMinute != minute, $0.overheads) }
        guard due || shutdown, let statistics = try? spool.statistics(countingDue: false) else { return nil }
        return SpoolRecord(
            id: shutdown
                ? HealthReport.shutdownID(environment: ids.environment, at: now)
                : HealthReport.id(environment: ids.environment, minute: minute),
            index: indices.extension.name(eventTime: now), eventTime: now,
            document: health.document(
                at: now, reason: shutdown ? "shutdown" : "interval", statistics: statistics, overheads: overheads,
                cpu: cpu.snapshot(), functionFields: document.functionFields),
            keyed: true)
    }

    /// Writes the SHUTDOWN's health document (`at`: when SHUTDOWN came), to ship with the rest.
    public func reportHealthAtShutdown(at time: Int64) {
        guard let record = healthRecord(at: time, shutdown: true) else { return }
        do {
            let result = try cpu.measure(.spoolAppend) { try spool.append([record]) }
            capped(result)
            if result.stored > 0 { onStored() }
        } catch {
            logger.warning("could not write the health document", metadata: ["error": "\(error)"])
        }
    }

    /// SHUTDOWN reached the extension at `time` (now by default): lines from then on are phase
    /// `shutdown`.
    public func shutdownBegan(at time: Int64? = nil) {
        let now = time ?? clock.now()
        do {
            try tracker.withLock { tracker in
                var next = tracker
                _ = next.begin(delivery: nil)
                next.observeShutdown(at: now)
                try spool.apply(next.finish().changes)
                tracker = next
            }
        } catch {
            logger.warning("could not note SHUTDOWN in the spool", metadata: ["error": "\(error)"])
        }
    }

    /// The environment ends: every invocation still open gets its summary with what is known
    /// (`status: incomplete` where no report came). Returns how many were written.
    @discardableResult
    public func closeOpenInvocations() -> Int {
        do {
            let result = try tracker.withLock { tracker -> AppendResult in
                var next = tracker
                _ = next.begin(delivery: nil)
                next.closeAll()
                let (changes, completed) = next.finish()
                guard !completed.isEmpty else { return AppendResult() }
                let records = summaries(completed)
                let result = try cpu.measure(.spoolAppend) { try spool.append(records, invocations: changes) }
                tracker = next
                return result
            }
            capped(result)
            if result.stored > 0 { onStored() }
            return result.stored
        } catch {
            logger.warning("could not write the summaries of open invocations", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// Logs a refusal unless one was logged in the last minute; then says how many were not.
    private func refused(_ message: Logger.Message, _ reason: String) {
        let now = clock.now()
        guard let since = counts.withLock({ $0.refusals.note(at: now) }) else { return }
        logger.warning(message, metadata: ["error": "\(reason)", "refusals.unlogged": "\(since - 1)"])
    }

    /// Says what the spool's cap dropped or refused, at most once a minute: a spool that stays full
    /// loses telemetry without a failed request to show for it.
    /// Says, at most once a minute, that Lambda dropped telemetry: the one loss the spool cannot
    /// prevent, since it happens before a delivery (the extension did not take deliveries as fast
    /// as they came, or was busy past the platform's buffer).
    private func lost(_ drops: LambdaDrops) {
        guard !drops.isEmpty else { return }
        let now = clock.now()
        guard let since = counts.withLock({ $0.lambdaDropped.note(drops.records, at: now) }) else { return }
        logger.warning(
            "Lambda dropped \(since) telemetry records before they reached the extension (platform.logsDropped): the function logged faster than deliveries took it; larger deliveries (SLUICE_BUFFER_MAX_BYTES up to 1048576, SLUICE_BUFFER_MAX_ITEMS up to 10000) take more at a time",
            metadata: [
                "lambda.dropped_records": "\(since)", "reason": "\(drops.reason ?? "")",
            ])
    }

    private func capped(_ result: AppendResult) {
        let lost = result.evicted + result.rejected
        guard lost > 0 else { return }
        let now = clock.now()
        guard let since = counts.withLock({ $0.capped.note(lost, at: now) }) else { return }
        let cap = spool.configuration.capBytes
        let what =
            spool.configuration.overflowPolicy == .rejectNew
            ? "the spool is full: \(since) new records refused (SLUICE_SPOOL_OVERFLOW=reject-new)"
            : "the spool is full: \(since) of its oldest records dropped to make room (SLUICE_SPOOL_OVERFLOW=drop-oldest)"
        logger.warning(
            "\(what) since the last line; check that shipping works (`sluice spool stats`), or raise SLUICE_SPOOL_CAP (\(cap) bytes)",
            metadata: ["spool.dropped": "\(since)", "spool.cap_bytes": "\(cap)"])
    }
}
