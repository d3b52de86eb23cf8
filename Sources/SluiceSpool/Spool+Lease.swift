extension Spool {
    /// Hands out due records, up to `maxCount` records and `maxBytes` document bytes (at least one
    /// record, however large, so a big document cannot stall the queue): retries that are due, oldest
    /// first, then fresh records in arrival order. A leased record is not handed out again until it
    /// is settled or released, or its lease expires; a lease is held by this process only, so a crash
    /// of the process releases it.
    public func lease(maxCount: Int, maxBytes: Int) throws -> [StoredRecord] {
        guard maxCount > 0 else { return [] }
        let now = clock.now()
        let expiry = now + configuration.leaseMilliseconds
        return try read("leasing records") { state in
            try Self.catchUp(&state)
            Self.forgetExpiredLeases(&state, now: now)
            var records: [StoredRecord] = []
            var bytes = 0
            // What each record takes in the spool (its totals count stored bytes, echo left out).
            var storedBytes: [Int] = []
            var full = false
            var index = ""
            // Leased records are still in the file: read past them. The row's columns are those of
            // `leaseColumns`; its document is `document`.
            func take(_ row: SQLiteStatement, _ document: [UInt8], stored: Int) -> Bool {
                if !records.isEmpty && bytes + document.count > maxBytes {
                    full = true
                    return false
                }
                bytes += document.count
                storedBytes.append(stored)
                index = row.string(at: 2, reusing: index)
                records.append(
                    StoredRecord(
                        seq: row.int64(at: 0), id: row.string(at: 1), index: index, eventTime: row.int64(at: 3),
                        receivedAt: row.int64(at: 4), dueAt: expiry, attempts: row.int(at: 5),
                        lastError: row.optionalString(at: 6), document: document, replaces: row.int(at: 7) != 0))
                return true
            }

            // Documents come from their runs, each read once while its seqs are leased.
            var documents = DocumentReader(state.connection, state.segments)
            let retries = try state.connection.statement(
                """
                SELECT \(Self.leaseColumns) FROM records WHERE attempts > 0 AND due_at <= ? ORDER BY due_at, seq LIMIT ?
                """)
            defer { retries.reset() }
            retries.bind(now, at: 1)
            retries.bind(maxCount + state.leases.count, at: 2)
            while records.count < maxCount, !full, try retries.step() {
                let seq = retries.int64(at: 0)
                guard state.leases[seq] == nil, let (document, stored) = try documents.document(seq: seq) else {
                    continue
                }
                _ = take(retries, document, stored: stored)
            }

            // Every fresh record at or below the cursor has been handed out; seqs are never reused.
            // A record without its document (a damaged file; `check` says so) is stepped over.
            if records.count < maxCount, !full {
                let fresh = try state.connection.statement(Self.freshSQL)
                defer { fresh.reset() }
                fresh.bind(state.freshCursor, at: 1)
                fresh.bind(maxCount - records.count + state.leases.count, at: 2)
                while records.count < maxCount, !full, try fresh.step() {
                    let seq = fresh.int64(at: 0)
                    guard state.leases[seq] == nil, let (document, stored) = try documents.document(seq: seq) else {
                        continue
                    }
                    if take(fresh, document, stored: stored) { state.freshCursor = seq }
                }
            }

            for (record, stored) in zip(records, storedBytes) {
                state.leases[record.seq] = Lease(expiry: expiry, fresh: record.attempts == 0, bytes: stored)
            }
            return records
        }
    }

    /// What `lease` reads of a record, before its document.
    static let leaseColumns = "seq, doc_id, index_name, event_time, received_at, attempts, last_error, replaces"

    /// Fresh records after a seq, in seq order.
    static let freshSQL = """
        SELECT \(leaseColumns) FROM records WHERE seq > ?1 AND attempts = 0 ORDER BY seq LIMIT ?2
        """

    /// Moves a record into the dead letters, with its document (bound: the stored bytes and echo).
    static let burySQL = """
        INSERT INTO dead_letters
            (doc_id, index_name, event_time, received_at, died_at, attempts, error_type, reason, bytes, document,
            echo_key, echo_at, replaces)
        SELECT doc_id, index_name, event_time, received_at, ?1, attempts + 1, ?2, ?3, bytes, ?5, ?6, ?7, replaces
        FROM records WHERE seq = ?4
        """

    /// Drops leases past their expiry; a fresh record's must then be found by the cursor again.
    private static func forgetExpiredLeases(_ state: inout State, now: Int64) {
        for (seq, lease) in state.leases where lease.expiry <= now {
            state.leases[seq] = nil
            if lease.fresh { state.freshCursor = min(state.freshCursor, seq - 1) }
        }
    }

    /// Records what became of leased records, all in one transaction.
    @discardableResult
    public func settle(_ outcomes: [(seq: Int64, settlement: Settlement)]) throws -> SettleResult {
        let now = clock.now()
        let result = try write("settling \(outcomes.count) records") { state in
            var result = SettleResult()
            let connection = state.connection
            let delete = try connection.statement("DELETE FROM records WHERE seq = ?")
            // Shipped records go a run of consecutive seqs at a time, after the others: one
            // statement per run rather than one per record.
            var shipped: [Int64] = []
            shipped.reserveCapacity(outcomes.count)
            let retry = try connection.statement(
                "UPDATE records SET due_at = ?, attempts = attempts + 1, last_error = ? WHERE seq = ?")
            var documents = DocumentReader(connection, state.segments)
            for (seq, settlement) in outcomes {
                switch settlement {
                case .shipped:
                    shipped.append(seq)
                case .deadLetter(let reason, let errorType):
                    guard let (document, echo) = try documents.stored(seq: seq) else {
                        result.missing += 1
                        continue
                    }
                    let bury = try connection.statement(Self.burySQL)
                    defer { bury.reset() }
                    bury.bind(now, at: 1)
                    bury.bind(errorType, at: 2)
                    bury.bind(reason, at: 3)
                    bury.bind(seq, at: 4)
                    bury.bind(echo?.key, at: 6)
                    bury.bind(echo?.valueStart, at: 7)
                    try bury.step(bindingText: document, at: 5)
                    guard connection.changes == 1 else {
                        result.missing += 1
                        continue
                    }
                    let bytes = try state.leases[seq]?.bytes ?? Self.documentBytes(connection, seq: seq)
                    delete.reset()
                    delete.bind(seq, at: 1)
                    try delete.step()
                    guard connection.changes == 1 else {
                        result.missing += 1
                        continue
                    }
                    state.totals.rows -= 1
                    state.totals.bytes -= bytes
                    state.totals.deadRows += 1
                    state.totals.deadBytes += bytes
                    result.deadLettered += 1
                case .retry(let at, let error):
                    retry.reset()
                    retry.bind(at, at: 1)
                    retry.bind(error, at: 2)
                    retry.bind(seq, at: 3)
                    try retry.step()
                    if connection.changes == 1 { result.retried += 1 } else { result.missing += 1 }
                }
            }
            try Self.deleteShipped(shipped, &state, &result)
            if result.shipped + result.deadLettered > 0 { try Self.clearSettledSegments(&state) }
            try Self.bump(connection, "shipped", by: result.shipped)
            try Self.bump(connection, "retried", by: result.retried)
            try Self.bump(connection, "dead_lettered", by: result.deadLettered)
            return result
        }
        // Only a settle that committed ends the leases: after one that rolled back, the records
        // are still leased, and go again when released or when their lease expires.
        state.withLock { state in
            for (seq, _) in outcomes { state.leases[seq] = nil }
        }
        return result
    }

    /// Deletes shipped records: each run of consecutive seqs in one statement, so that SQLite walks
    /// the table once per run (a batch of fresh records is one run). A run that finds fewer rows
    /// than it names (records dropped while leased) has its missing ones counted, and the totals
    /// are then counted again from the table, since which rows were gone is not known.
    private static func deleteShipped(_ seqs: [Int64], _ state: inout State, _ result: inout SettleResult) throws {
        guard !seqs.isEmpty else { return }
        let connection = state.connection
        let delete = try connection.statement("DELETE FROM records WHERE seq BETWEEN ? AND ?")
        defer { delete.reset() }
        var recount = false
        // A seq named twice is deleted once; the second counts as missing.
        var sorted: [Int64] = []
        sorted.reserveCapacity(seqs.count)
        for seq in seqs.sorted() where sorted.last != seq { sorted.append(seq) }
        let repeated = seqs.count - sorted.count
        var start = 0
        while start < sorted.count {
            var end = start
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
            var bytes = 0
            for seq in sorted[start...end] {
                bytes += try state.leases[seq]?.bytes ?? documentBytes(connection, seq: seq)
            }
            delete.reset()
            delete.bind(sorted[start], at: 1)
            delete.bind(sorted[end], at: 2)
            try delete.step()
            let deleted = connection.changes
            let named = end - start + 1
            result.shipped += deleted
            result.missing += named - deleted
            if deleted == named {
                state.totals.rows -= deleted
                state.totals.bytes -= bytes
            } else {
                recount = true
            }
            start = end + 1
        }
        result.missing += repeated
        if recount {
            let counted = try countTotals(connection)
            state.totals.rows = counted.rows
            state.totals.bytes = counted.bytes
        }
    }

    /// The whole document of a row: the `document` column with the echo in the two columns from
    /// `echoAt` (key, then where the repeated value begins), read from the row in place; and the
    /// stored document's size.
    static func wholeDocument(
        _ row: SQLiteStatement, at column: Int32, echoAt: Int32
    ) -> (
        document: [UInt8], storedBytes: Int
    ) {
        let echo = Self.echo(row, at: echoAt)
        return row.withBytes(at: column) { (SpoolRecord.Echo.whole($0, echo), $0.count) }
    }

    /// A row's echo, from its two columns from `column` (key, then where the repeated value begins).
    static func echo(_ row: SQLiteStatement, at column: Int32) -> SpoolRecord.Echo? {
        row.isNull(at: column)
            ? nil : SpoolRecord.Echo(key: row.string(at: column), valueStart: row.int(at: column + 1))
    }

    private static func documentBytes(_ connection: SQLiteConnection, seq: Int64) throws -> Int {
        Int(try connection.scalar("SELECT bytes FROM records WHERE seq = ?", seq) ?? 0)
    }

    /// Gives leased records back without counting an attempt (a response that could not be read,
    /// or a shutdown before the request went out): they are due again at once.
    public func release(_ seqs: [Int64]) {
        state.withLock { state in
            for seq in seqs {
                guard let lease = state.leases.removeValue(forKey: seq) else { continue }
                if lease.fresh { state.freshCursor = min(state.freshCursor, seq - 1) }
            }
        }
    }

    /// A request to OpenSearch failed as a whole (no answer, a 5xx, a 429, an index that could not
    /// be made): counted (`failed_requests`, made by the first one), with its time and reason kept
    /// as the last one, so that an outage still shows after it ended, in `sluice spool stats` and
    /// in the health documents shipped once it is over.
    public func recordFailedRequest(at time: Int64, reason: String) throws {
        try write("recording a failed request") { state in
            let connection = state.connection
            try Self.bump(connection, adding: "failed_requests", by: 1)
            try Self.setMeta(connection, Self.lastFailedRequestAtKey, String(time))
            try Self.setMeta(connection, Self.lastFailedRequestKey, String(reason.prefix(500)))
        }
    }

    static let lastFailedRequestAtKey = "last_failed_request_at"
    static let lastFailedRequestKey = "last_failed_request"

    /// Counts what is still in the spool as left at shutdown; returns that number.
    @discardableResult
    public func recordShutdown() throws -> Int {
        try write("recording the shutdown") { state in
            try Self.bump(state.connection, "left_at_shutdown", by: state.totals.rows)
            return state.totals.rows
        }
    }
}
