public import Logging
public import SluiceOpenSearch
public import SluiceSpool
public import SluiceTime

/// Drains the spool into OpenSearch: leases a batch, makes sure its indices exist, sends one
/// `_bulk`, and settles every record by what OpenSearch said about it. Nothing leaves the spool
/// before OpenSearch answered for it, and every failure becomes a retry or a dead letter.
public actor Shipper {
    public let spool: Spool
    public let client: OpenSearchClient
    /// The forwarder's clock: backoffs, pauses and give-up ages are measured on it.
    public let clock: WallClock
    /// The body of `PUT /<index>` for a new index on a cluster that is what `ClusterInfo` says.
    let indexDefinition: @Sendable (String, ClusterInfo) -> [UInt8]
    let logger: Logger
    var policy: RetryPolicy { client.configuration.retry }

    /// Indices known to exist (created, or found to exist).
    private var bootstrapped: Set<String> = []
    /// What the cluster is, once asked (before the first index is created).
    private var cluster: ClusterInfo?
    /// After a failed request, no new request before this time (ms since the epoch).
    private var pausedUntil: Int64 = 0
    private var consecutiveFailures = 0
    /// When a failed request was last logged: an outage is said when it begins, then at most
    /// every `failureLogInterval`, and when it ends.
    private var failureLoggedAt: Int64 = 0
    static let failureLogInterval: Int64 = 30_000
    /// When dead letters were last said, and how many came since.
    private var deadLettersLoggedAt: Int64 = 0
    private var deadLettersUnsaid = 0
    static let deadLetterLogInterval: Int64 = 60_000
    private var hurried = false
    /// What every batch so far did, counted as each is settled.
    public private(set) var total = Report()
    /// Requests to OpenSearch sent so far (index creation and each half of a split batch included).
    public private(set) var requestsSent = 0
    /// The requests OpenSearch has not answered yet, by number: when each was sent (ms since the
    /// epoch), and how to abandon it (its answer is then a transport failure).
    private var requestsInFlight: [Int: (sent: Int64, abandon: @Sendable () -> Void)] = [:]
    /// When the oldest request OpenSearch has not answered yet was sent, if one is in flight: what
    /// a SHUTDOWN that left records was waiting on.
    public var inFlightSince: Int64? { requestsInFlight.values.map(\.sent).min() }
    /// Hurried: when the drain ends (ms since the epoch).
    private var hurriedUntil: Int64?
    /// Requests given up at SHUTDOWN for want of an answer, their batches sent again.
    public private(set) var abandonedRequests = 0
    /// Requests abandoned whose (cancelled) answer has not come back yet: their time is not a
    /// usual answer's.
    private var abandoning: Set<Int> = []
    /// The index creation under way: a second lane waits for it rather than creating the same indices.
    private var bootstrapping: Task<OpenSearchError?, Never>?
    /// How long requests have taken to be answered lately (ms, a moving average), if any was.
    private var usualAnswerMilliseconds: Int64?
    private var generator = SystemRandomNumberGenerator()

    /// `indexDefinition` gives the settings and mappings a new index is created with.
    public init(
        spool: Spool, client: OpenSearchClient, clock: WallClock, logger: Logger,
        indexDefinition: @escaping @Sendable (_ index: String, _ cluster: ClusterInfo) -> [UInt8]
    ) {
        self.spool = spool
        self.client = client
        self.clock = clock
        self.logger = logger
        self.indexDefinition = indexDefinition
    }

    /// What one call did.
    public struct Report: Sendable, Equatable {
        /// Indexed now.
        public var indexed = 0
        /// Already in OpenSearch under the same id (a re-send).
        public var duplicates = 0
        public var retried = 0
        public var deadLettered = 0
        /// `_bulk` requests sent, the split halves of a 413 included.
        public var requests = 0
        /// Requests that failed as a whole.
        public var failedRequests = 0
        /// Whether the last batch found nothing due.
        public var idle = false

        public init() {}

        public var shipped: Int { indexed + duplicates }

        /// Adds another call's counts; `idle` becomes the other's.
        public mutating func add(_ other: Report) {
            indexed += other.indexed
            duplicates += other.duplicates
            retried += other.retried
            deadLettered += other.deadLettered
            requests += other.requests
            failedRequests += other.failedRequests
            idle = other.idle
        }
    }

    /// When the shipper may send again after failures (ms since the epoch; 0 when not paused).
    public var resumesAt: Int64 { pausedUntil }

    /// At SHUTDOWN a backoff would outlast the environment: ends the pause, and from now on waits
    /// at most `hurriedBackoffMilliseconds` after a failure (or the Retry-After the cluster asked
    /// for), sends at most `hurriedBatchCount` documents per request, and keeps `hurriedLanes`
    /// requests in flight.
    ///
    /// A request that hangs is abandoned and its batch goes again on a new connection: a
    /// connection with no answer and no reset (a peer gone while the environment was frozen, a
    /// proxy that stalls) would otherwise hold the drain until the request timeout, long after the
    /// environment is gone. A request hangs when it has gone unanswered for half the time that was
    /// left until `deadline` when it was sent (or when the hurry began), for four times as long as
    /// requests have lately taken (a slow cluster is waited for as long as it usually takes), and
    /// for `hurriedRequestMilliseconds`; and only while the batch sent again would get as long.
    /// Abandoning sooner lost requests that were merely larger than the usual: at SHUTDOWN of a
    /// process that had sent only small ones, three 1,000-document requests in a row, and 8,000
    /// documents shipped of a backlog where 28,000 were.
    public func hurry(until deadline: Int64) {
        hurried = true
        pausedUntil = 0
        hurriedUntil = deadline
        for (number, request) in requestsInFlight { watch(number, sentAt: request.sent) }
    }

    /// The least a hurried request is given before it is abandoned, and the least its batch sent
    /// again must get.
    static let hurriedRequestMilliseconds: Int64 = 250

    /// The longest wait after a failure once hurried.
    static let hurriedBackoffMilliseconds: Int64 = 50
    /// The most documents per request once hurried.
    static let hurriedBatchCount = 1_000

    /// Requests in flight at once when hurried. With one, the cluster waited while the extension
    /// settled a batch and leased, encoded and compressed the next (about 5 ms a request of 1,000
    /// documents, a tenth of the cluster's own time for it); with two, the next request is there
    /// when an answer leaves, and a cluster of several nodes works on both.
    static let hurriedLanes = 2

    /// Ships batches until nothing is due, the deadline (ms since the epoch) passes, or OpenSearch
    /// asks for a pause that outlasts the deadline. `waitingOutPauses: false` returns at any pause
    /// instead of sleeping through it: the loop then shows the pause (a hold of `/next` ends at it)
    /// and sleeps itself. Hurried, `hurriedLanes` such drains run side by side, each with its own
    /// batches (a lease never hands out a record another holds); a drain under way when the hurry
    /// begins (SHUTDOWN came in the middle of a pass) goes on with them from its next batch.
    public func drain(until deadline: Int64, waitingOutPauses: Bool = true) async throws -> Report {
        var total = Report()
        if !hurried {
            total = try await drainLane(until: deadline, waitingOutPauses: waitingOutPauses, untilHurried: true)
            guard hurried, !total.idle, clock.now() < deadline else { return total }
        }
        let lanes = try await withThrowingTaskGroup(of: Report.self) { group in
            for _ in 0..<Self.hurriedLanes {
                group.addTask { try await self.drainLane(until: deadline, waitingOutPauses: waitingOutPauses) }
            }
            var lanes = Report()
            var idle = true
            for try await lane in group {
                lanes.add(lane)
                idle = idle && lane.idle
            }
            lanes.idle = idle
            return lanes
        }
        total.add(lanes)
        return total
    }

    /// One lane of a drain; `untilHurried` also ends it when the hurry begins.
    private func drainLane(
        until deadline: Int64, waitingOutPauses: Bool, untilHurried: Bool = false
    ) async throws
        -> Report
    {
        var total = Report()
        while clock.now() < deadline, !(untilHurried && hurried) {
            let now = clock.now()
            if pausedUntil > now {
                guard waitingOutPauses, pausedUntil < deadline else { break }
                await clock.sleep(until: pausedUntil)
                try Task.checkCancellation()
                continue
            }
            let report = try await shipBatch()
            total.add(report)
            if report.idle { break }
        }
        return total
    }

    /// Leases one batch and ships it. Throws only for spool errors; OpenSearch failures become
    /// retries and dead letters.
    public func shipBatch() async throws -> Report {
        var report = Report()
        defer { total.add(report) }
        try await shipBatch(into: &report)
        return report
    }

    private func shipBatch(into report: inout Report) async throws {
        let configuration = client.configuration
        // Hurried, batches are small: a request still in flight at the deadline is abandoned, so
        // many short requests settle more of a backlog than a few long ones.
        let maxCount = hurried ? min(configuration.maxBatchCount, Self.hurriedBatchCount) : configuration.maxBatchCount
        let records = try client.cpu.measure(.leaseSettle) {
            try spool.lease(maxCount: maxCount, maxBytes: configuration.maxBatchBytes * 9 / 10)
        }
        guard !records.isEmpty else {
            report.idle = true
            return
        }
        if let failure = await bootstrap(Set(records.map(\.index))) {
            // The index cannot be made now: hand the records back untouched and pause.
            spool.release(records.map(\.seq))
            pause(after: failure)
            report.failedRequests += 1
            recordFailure(failure)
            return
        }
        try await ship(records, into: &report)
    }

    private func ship(_ records: [StoredRecord], into report: inout Report) async throws {
        let documents = records.map {
            BulkDocument(index: $0.index, id: $0.id, body: $0.document, replaces: $0.replaces)
        }
        report.requests += 1
        switch await inFlight({ [client] in await client.bulk(documents) }) {
        case .items(let outcomes):
            recovered()
            // One backoff for every document of the batch that must go again, so they go again together.
            let retryAt = nextAttempt(for: records, retryAfter: nil)
            var settlements: [(seq: Int64, settlement: Settlement)] = []
            settlements.reserveCapacity(records.count)
            let deadBefore = report.deadLettered
            var firstDead: (type: String?, reason: String)?
            for (record, outcome) in zip(records, outcomes) {
                switch outcome {
                case .indexed:
                    report.indexed += 1
                    settlements.append((record.seq, .shipped))
                case .duplicate:
                    report.duplicates += 1
                    settlements.append((record.seq, .shipped))
                case .retry(let status, let reason):
                    // A 429 item is the cluster's load, not the document: like a request failed as a
                    // whole, it counts toward no limit of attempts, only the age.
                    let settlement = retryOrGiveUp(
                        record, error: reason, at: retryAt, byAttempts: status != 429, &report)
                    if case .deadLetter(let why, let type) = settlement { firstDead = firstDead ?? (type, why) }
                    settlements.append((record.seq, settlement))
                case .rejected(let status, let type, let reason):
                    report.deadLettered += 1
                    firstDead = firstDead ?? (type, "HTTP \(status): \(reason)")
                    settlements.append(
                        (record.seq, .deadLetter(reason: "HTTP \(status): \(reason)", errorType: type)))
                }
            }
            try settle(settlements)
            if let firstDead, report.deadLettered > deadBefore {
                logDeadLetters(report.deadLettered - deadBefore, type: firstDead.type, reason: firstDead.reason)
            }
        case .failed(let failure) where failure.code == .tooLarge:
            recovered()
            guard records.count > 1 else {
                report.deadLettered += 1
                let reason = "\(failure.message): one document is over the limit"
                try settle([(records[0].seq, .deadLetter(reason: reason, errorType: "request_too_large"))])
                logDeadLetters(1, type: "request_too_large", reason: reason)
                return
            }
            let half = records.count / 2
            try await ship(Array(records[..<half]), into: &report)
            try await ship(Array(records[half...]), into: &report)
        case .failed(let failure):
            // The cluster failed the request as a whole (unreachable, 5xx, 429, an unreadable
            // answer): no document is at fault, so none spends an attempt on it. The shipper
            // pauses (growing with the failures in a row, never shorter than Retry-After) and the
            // records wait in the spool, as they would for an outage of any length; only
            // SLUICE_RETRY_MAX_AGE_S still ends them.
            report.failedRequests += 1
            pause(after: failure)
            recordFailure(failure)
            let now = clock.now()
            let expired = records.filter { policy.isTooOld(receivedAt: $0.receivedAt, now: now) }
            if consecutiveFailures == 1 || now - failureLoggedAt >= Self.failureLogInterval {
                failureLoggedAt = now
                logger.warning(
                    "bulk request failed; records kept in the spool",
                    metadata: [
                        "bulk.documents": "\(records.count)", "bulk.failure": "\(failure.code.description)",
                        "error": "\(failure.message)", "retry.in_ms": "\(max(0, pausedUntil - now))",
                        "failures_in_a_row": "\(consecutiveFailures)",
                    ])
            }
            if !expired.isEmpty {
                let settlements = expired.map { record in
                    (
                        seq: record.seq,
                        settlement: Settlement.deadLetter(
                            reason:
                                "gave up after \((now - record.receivedAt) / 1000) s (SLUICE_RETRY_MAX_AGE_S): \(failure.message)",
                            errorType: "retries_exhausted")
                    )
                }
                report.deadLettered += expired.count
                try settle(settlements)
                logDeadLetters(expired.count, type: "retries_exhausted", reason: failure.message)
            }
            let expiredSeqs = Set(expired.map(\.seq))
            spool.release(records.map(\.seq).filter { !expiredSeqs.contains($0) })
        }
    }

    /// Runs `work` (requests to OpenSearch), counted and marked in flight while it waits; a task
    /// of its own, so that SHUTDOWN can abandon it without cancelling the shipper.
    private func inFlight<T: Sendable>(_ work: @escaping @Sendable () async -> T) async -> T {
        requestsSent += 1
        let number = requestsSent
        let sent = clock.now()
        let request = Task { await work() }
        requestsInFlight[number] = (sent, { request.cancel() })
        if hurried { watch(number, sentAt: sent) }
        let answer = await withTaskCancellationHandler {
            await request.value
        } onCancel: {
            request.cancel()
        }
        requestsInFlight[number] = nil
        if abandoning.remove(number) == nil {
            let took = clock.now() - sent
            usualAnswerMilliseconds = usualAnswerMilliseconds.map { ($0 * 3 + took) / 4 } ?? took
        }
        return answer
    }

    /// Hurried: abandons request number `number`, sent at `sent`, if it hangs (see `hurry`).
    private func watch(_ number: Int, sentAt sent: Int64) {
        guard let until = hurriedUntil else { return }
        let now = clock.now()
        let allowance = max(Self.hurriedRequestMilliseconds, (until - now) / 2, 4 * (usualAnswerMilliseconds ?? 0))
        let cutoff = max(now, sent + allowance)
        guard cutoff + Self.hurriedBackoffMilliseconds + Self.hurriedRequestMilliseconds <= until else { return }
        Task {
            await clock.sleep(until: cutoff)
            abandon(number)
        }
    }

    private func abandon(_ number: Int) {
        guard let request = requestsInFlight[number] else { return }
        abandonedRequests += 1
        abandoning.insert(number)
        logger.warning(
            "a request OpenSearch did not answer at SHUTDOWN was abandoned; its batch goes again on a new connection",
            metadata: [
                "request.unanswered_ms": "\(clock.now() - request.sent)",
                "requests.usual_ms": "\(usualAnswerMilliseconds.map { "\($0)" } ?? "none yet")",
            ])
        request.abandon()
    }

    /// Keeps a request that failed as a whole in the spool (a counter, and the last one's time and
    /// reason), where the health documents and `sluice spool stats` show it once the outage is
    /// over. A spool that cannot write it loses that count only: the records are handed back all
    /// the same.
    private func recordFailure(_ failure: OpenSearchError) {
        do {
            try spool.recordFailedRequest(at: clock.now(), reason: "\(failure.code): \(failure.message)")
        } catch {
            logger.debug("could not count the failed request in the spool", metadata: ["error": "\(error)"])
        }
    }

    /// A request went through: after failures, says the outage ended.
    private func recovered() {
        if consecutiveFailures > 1 {
            logger.notice(
                "bulk requests go through again", metadata: ["failures_in_a_row": "\(consecutiveFailures)"])
        }
        consecutiveFailures = 0
    }

    /// Says that records became dead letters, with how many (since the last line) and why: they are
    /// not shipped again unless requeued (`sluice spool dead requeue`). At most once a minute: the
    /// line is itself telemetry, and an extension index that refuses every line of the extension
    /// (a mapping that cannot take them) would make each line a dead letter, and so a new line,
    /// round after round, for as long as the environment lives.
    private func logDeadLetters(_ count: Int, type: String?, reason: String) {
        deadLettersUnsaid += count
        let now = clock.now()
        guard deadLettersLoggedAt == 0 || now - deadLettersLoggedAt >= Self.deadLetterLogInterval else { return }
        deadLettersLoggedAt = now
        logger.warning(
            "records became dead letters: not shipped unless requeued (sluice spool dead requeue)",
            metadata: [
                "dead_letters": "\(deadLettersUnsaid)", "error.type": "\(type ?? "-")",
                "error": "\(reason.prefix(300))",
            ])
        deadLettersUnsaid = 0
    }

    /// Settles a batch in one transaction; when the spool cannot write it, the records are handed back
    /// so they go again at once (their ids make the re-send harmless), and none is counted shipped.
    private func settle(_ settlements: [(seq: Int64, settlement: Settlement)]) throws {
        do {
            _ = try client.cpu.measure(.leaseSettle) { try spool.settle(settlements) }
        } catch {
            spool.release(settlements.map(\.seq))
            throw error
        }
    }

    /// When the documents of a batch that failed go again: the policy's backoff for the most
    /// attempted of them, and never before `Retry-After`.
    private func nextAttempt(for records: [StoredRecord], retryAfter: Int64?) -> Int64 {
        let attempts = (records.map(\.attempts).max() ?? 0) + 1
        let delay = policy.delay(afterAttempt: attempts, retryAfterMilliseconds: retryAfter, using: &generator)
        return clock.now() + (hurried ? min(delay, Self.hurriedBackoffMilliseconds) : delay)
    }

    /// A retry at `at`, or a dead letter once attempts (when `byAttempts`) or age run out.
    private func retryOrGiveUp(
        _ record: StoredRecord, error: String, at retryAt: Int64, byAttempts: Bool = true, _ report: inout Report
    ) -> Settlement {
        let now = clock.now()
        let attempts = record.attempts + 1
        let givesUp =
            byAttempts
            ? policy.givesUp(attempts: attempts, receivedAt: record.receivedAt, now: now)
            : policy.isTooOld(receivedAt: record.receivedAt, now: now)
        if givesUp {
            report.deadLettered += 1
            return .deadLetter(
                reason: "gave up after \(attempts) attempts over \((now - record.receivedAt) / 1000) s: \(error)",
                errorType: "retries_exhausted")
        }
        report.retried += 1
        return .retry(at: retryAt, error: error)
    }

    /// Pauses after a failed request. Hurried (at SHUTDOWN), the pause is short, but never shorter
    /// than a Retry-After: a pause past the deadline ends the drain, and what waits stays in the
    /// spool.
    private func pause(after failure: OpenSearchError) {
        consecutiveFailures += 1
        let retryAfter = failure.retryAfterMilliseconds
        let delay = policy.delay(
            afterAttempt: consecutiveFailures, retryAfterMilliseconds: retryAfter, using: &generator)
        pausedUntil =
            clock.now() + (hurried ? max(min(delay, Self.hurriedBackoffMilliseconds), retryAfter ?? 0) : delay)
    }

    /// Creates the indices not known to exist. Returns a failure worth waiting for (429, 5xx, no
    /// answer); a refusal (403 on index creation, say) is logged and the bulk request goes ahead,
    /// since the index may exist already.
    private func bootstrap(_ indices: Set<String>) async -> OpenSearchError? {
        if let other = bootstrapping { _ = await other.value }
        guard indices.contains(where: { !bootstrapped.contains($0) }) else { return nil }
        let creating = Task { await self.create(indices) }
        bootstrapping = creating
        defer { bootstrapping = nil }
        return await creating.value
    }

    private func create(_ indices: Set<String>) async -> OpenSearchError? {
        for index in indices.sorted() where !bootstrapped.contains(index) {
            if cluster == nil {
                switch await inFlight({ [client] in await client.clusterInfo() }) {
                case .success(let info):
                    cluster = info
                    logger.debug(
                        "cluster", metadata: ["cluster.version": "\(info.distribution) \(info.major).\(info.minor)"])
                case .failure(let failure):
                    logger.warning(
                        "could not ask the cluster what it is; will try again",
                        metadata: ["error": "\(failure.message)"])
                    return failure
                }
            }
            let definition = indexDefinition(index, cluster ?? .unknown)
            guard let failure = await inFlight({ [client] in await client.ensureIndex(index, definition: definition) })
            else {
                bootstrapped.insert(index)
                continue
            }
            switch failure.code {
            case .throttled, .unavailable, .transport, .unreadable:
                logger.warning(
                    "could not create index; will try again",
                    metadata: ["index": "\(index)", "error": "\(failure.message)"])
                return failure
            default:
                logger.warning(
                    "index creation refused; shipping anyway",
                    metadata: ["index": "\(index)", "error": "\(failure.message)"])
                bootstrapped.insert(index)
            }
        }
        return nil
    }
}
