import Logging
import SluiceHTTP
import SluiceOpenSearch
import SluiceShipping
import SluiceSpool
import SluiceTime

/// `bulk`: a `_bulk` answer (its status and body; truncated, reordered or made up) for a batch of
/// one to six records, through the real client and `Shipper.shipBatch` into a real spool.
///
/// Every record of the batch is settled exactly once (shipped, retried once, or a dead letter,
/// and the spool's counters agree), or, when the request failed as a whole, every one is handed
/// back untouched (no attempt spent); and none is shipped unless the answer is 2xx with one item
/// per document whose item for it, by position, says 2xx or 409.
actor BulkOracle {
    static let shared = BulkOracle()

    /// Every clock reads this: retries are never due again, so each batch is only the new records.
    static let now: Int64 = 1_700_000_000_000
    static let statuses = [200, 201, 400, 401, 403, 404, 409, 413, 429, 500, 503]

    private var server: BulkAnswerServer?
    private var httpClient: HTTP1Client?
    private var spool: Spool?
    private var shipper: Shipper?
    private var runs = 0

    func check(_ bytes: [UInt8]) async -> [String] {
        var input = FuzzInput(bytes)
        let count = 1 + Int(input.byte() % 6)
        let pick = input.byte()
        let status = pick < 128 ? 200 : Self.statuses[Int(pick) % Self.statuses.count]
        let body = input.rest()
        do {
            let (server, spool, shipper) = try prepare()
            runs += 1
            let records = (0..<count).map { position in
                SpoolRecord(
                    id: "fuzz-\(runs)-\(position)", index: "fuzz-logs", eventTime: Self.now,
                    document: Array(#"{"n":\#(position)}"#.utf8))
            }
            _ = try spool.append(records)
            let before = try spool.counters()
            server.answer.withLock { $0 = (status, body) }
            let report = try await shipper.shipBatch()
            return try settledProblems(records, status: status, body: body, report: report, before: before)
        } catch {
            return ["the spool failed: \(error)"]
        }
    }

    private func settledProblems(
        _ records: [SpoolRecord], status: Int, body: [UInt8], report: Shipper.Report, before: SpoolCounters
    ) throws -> [String] {
        guard let spool else { return [] }
        var problems: [String] = []
        let ids = Set(records.map(\.id))
        var waiting: [String: StoredRecord] = [:]
        try spool.forEachRecord { record in
            if ids.contains(record.id) { waiting[record.id] = record }
            return true
        }
        var dead: Set<String> = []
        try spool.forEachDeadLetter { letter in
            if ids.contains(letter.documentID) {
                if !dead.insert(letter.documentID).inserted { problems.append("\(letter.documentID) died twice") }
            }
            return true
        }
        let allowed = Self.shippable(status: status, body: body, count: records.count)
        let failedWhole = report.failedRequests > 0
        var shipped = 0
        var handedBack = 0
        for (position, record) in records.enumerated() {
            let held = waiting[record.id]
            if held != nil, dead.contains(record.id) {
                problems.append("record \(position) is both waiting and a dead letter")
            }
            if let held, held.attempts == 0, failedWhole {
                handedBack += 1
            } else if let held, held.attempts != 1 {
                problems.append("record \(position) was settled \(held.attempts) times, not once")
            }
            if held == nil, !dead.contains(record.id) {
                shipped += 1
                if !allowed[position] {
                    problems.append("record \(position) was shipped on HTTP \(status) without a 2xx or 409 item for it")
                }
            }
        }
        let after = try spool.counters()
        let settled =
            (after.shipped - before.shipped) + (after.retried - before.retried)
            + (after.deadLettered - before.deadLettered)
        if settled + handedBack != records.count {
            problems.append("\(settled) settlements and \(handedBack) handed back for \(records.count) records")
        }
        if failedWhole, handedBack != records.count {
            problems.append("the request failed as a whole, but \(records.count - handedBack) records were settled")
        }
        // What was handed back is due at once: cleared, so that the next input's batch is its own.
        let back = try spool.lease(maxCount: 64, maxBytes: 1 << 20)
        if !back.isEmpty { try spool.settle(back.map { ($0.seq, .shipped) }) }
        if report.shipped != shipped {
            problems.append("the report says \(report.shipped) shipped, the spool \(shipped)")
        }
        return problems
    }

    /// Which documents the answer lets be shipped, read by the reference reader: where it is
    /// ambiguous (a key twice), an item may be read either way, so any member saying 2xx or 409 counts.
    static func shippable(status: Int, body: [UInt8], count: Int) -> [Bool] {
        var allowed = [Bool](repeating: false, count: count)
        guard (200..<300).contains(status), let answer = ReferenceJSON.parse(body),
            case .object(let members, _) = answer
        else { return allowed }
        for member in members where member.key == "items" {
            guard case .array(let items, _) = member.value, items.count == count else { continue }
            for (position, item) in items.enumerated() {
                guard case .object(let actions, _) = item else { continue }
                for action in actions {
                    guard case .object(let fields, _) = action.value else { continue }
                    for field in fields where field.key == "status" {
                        if case .number(let value, _) = field.value, (200..<300).contains(value) || value == 409 {
                            allowed[position] = true
                        }
                    }
                }
            }
        }
        return allowed
    }

    /// The server, and a spool and shipper made afresh every few hundred batches (the file grows).
    private func prepare() throws -> (BulkAnswerServer, Spool, Shipper) {
        let server = try server ?? BulkAnswerServer.start()
        self.server = server
        // A retry's full-jitter backoff may be 0 ms: due again at once, it would join the next batch.
        if let spool, let shipper, runs % 300 != 0, (try? spool.statistics().dueNow) == 0 {
            return (server, spool, shipper)
        }
        let logger = Logger(label: "sluice.fuzz") { _ in SwiftLogNoOpLogHandler() }
        let clock = WallClock(now: { BulkOracle.now }, sleep: { _ in })
        let folder = ScratchFolder.fresh("bulk")
        shipper = nil
        spool = nil
        let spool = try Spool.open(SpoolConfiguration(path: "\(folder)/spool.sqlite", clock: clock), logger: logger)
        let configuration = OpenSearchConfiguration(
            endpoint: "http://127.0.0.1:\(server.port)", compress: false,
            retry: RetryPolicy(baseMilliseconds: 1_000, capMilliseconds: 10_000, maxAttempts: 5))
        let httpClient = httpClient ?? OpenSearchClient.makeHTTPClient(configuration)
        self.httpClient = httpClient
        let client = OpenSearchClient(
            configuration: configuration, httpClient: httpClient, environment: [:], logger: logger)
        let shipper = Shipper(
            spool: spool, client: client, clock: clock, logger: logger, indexDefinition: { _, _ in Array("{}".utf8) })
        self.spool = spool
        self.shipper = shipper
        return (server, spool, shipper)
    }
}
