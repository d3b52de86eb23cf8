extension Spool {
    /// Counters and what is waiting now.
    /// What the spool holds and has done. The waiting records and dead letters are the stored totals
    /// (one row, kept by every write), so this reads no record, except to count `dueNow` when
    /// `countingDue` asks for it: that reads every record (the CLI's `stats`), where a health
    /// document written once a minute with a delivery must not (100,000 waiting records are 80 MB).
    public func statistics(countingDue: Bool = true) throws -> SpoolStatistics {
        let now = clock.now()
        let capBytes = configuration.capBytes
        return try read("reading statistics") { state in
            let connection = state.connection
            let totals = try Self.totals(connection)
            let oldest = try connection.scalar("SELECT received_at FROM records ORDER BY seq LIMIT 1")
            let values = try Self.counters(connection)
            let due = countingDue ? try connection.scalar("SELECT count(*) FROM records WHERE due_at <= ?", now) : nil
            return SpoolStatistics(
                path: path,
                schemaVersion: Int(try connection.scalar("SELECT max(id) FROM schema_migrations") ?? 0),
                fileBytes: (FileSystem.size(path) ?? 0) + (FileSystem.size(path + "-wal") ?? 0),
                rows: totals.rows,
                bytes: totals.bytes,
                oldestAgeMilliseconds: oldest.map { max(0, now - $0) },
                dueNow: due.map { Int($0) },
                leased: state.leases.values.lazy.filter { $0.expiry > now }.count,
                deadLetters: totals.deadRows,
                deadLetterBytes: totals.deadBytes,
                capBytes: capBytes,
                openInvocations: try Self.hasInvocationTables(connection)
                    ? Int(try connection.scalar("SELECT count(*) FROM open_invocations") ?? 0) : 0,
                counters: values,
                lastFailedRequest: try Self.lastFailedRequest(connection))
        }
    }

    /// The last request that failed as a whole, as `recordFailedRequest` kept it.
    static func lastFailedRequest(_ connection: SQLiteConnection) throws -> SpoolStatistics.FailedRequest? {
        let select = try connection.statement("SELECT key, value FROM meta WHERE key IN (?, ?)")
        defer { select.reset() }
        select.bind(lastFailedRequestAtKey, at: 1)
        select.bind(lastFailedRequestKey, at: 2)
        var at: Int64?
        var reason: String?
        while try select.step() {
            if select.string(at: 0) == lastFailedRequestAtKey {
                at = Int64(select.string(at: 1))
            } else {
                reason = select.string(at: 1)
            }
        }
        guard let at, let reason else { return nil }
        return SpoolStatistics.FailedRequest(at: at, reason: reason)
    }

    /// The counters alone (one small table): what the spool has done since it was created.
    public func counters() throws -> SpoolCounters {
        try read("reading counters") { state in try Self.counters(state.connection) }
    }

    static func counters(_ connection: SQLiteConnection) throws -> SpoolCounters {
        let counters = try connection.statement("SELECT name, value FROM counters")
        defer { counters.reset() }
        var values = SpoolCounters()
        while try counters.step() { values.set(counters.string(at: 0), counters.int(at: 1)) }
        return values
    }

    /// The next records in shipping order (oldest due first), without leasing them.
    public func peek(limit: Int = 10, index: String? = nil) throws -> [StoredRecord] {
        var records: [StoredRecord] = []
        try forEachRecord(index: index) { record in
            records.append(record)
            return records.count < limit
        }
        return records
    }

    /// Calls `body` with each waiting record in shipping order until it returns false: as `lease`
    /// hands them out, retries that are due first (oldest due first), then fresh records in arrival
    /// order, then retries not due yet.
    public func forEachRecord(index: String? = nil, _ body: (StoredRecord) throws -> Bool) throws {
        let now = clock.now()
        try read("reading records") { state in
            try Self.catchUp(&state)
            let select = try state.connection.statement(
                """
                SELECT seq, doc_id, index_name, event_time, received_at, due_at, attempts, last_error, replaces
                FROM records \(index == nil ? "" : "WHERE index_name = ?2")
                ORDER BY CASE WHEN attempts = 0 THEN 1 WHEN due_at <= ?1 THEN 0 ELSE 2 END,
                    CASE WHEN attempts = 0 THEN 0 ELSE due_at END, seq
                """)
            defer { select.reset() }
            select.bind(now, at: 1)
            if let index { select.bind(index, at: 2) }
            var documents = DocumentReader(state.connection, state.segments)
            while try select.step() {
                let seq = select.int64(at: 0)
                // A record without its document would be a damaged file: `check` says so.
                guard let (document, _) = try documents.document(seq: seq) else { continue }
                let record = StoredRecord(
                    seq: seq, id: select.string(at: 1), index: select.string(at: 2),
                    eventTime: select.int64(at: 3), receivedAt: select.int64(at: 4), dueAt: select.int64(at: 5),
                    attempts: select.int(at: 6),
                    lastError: select.optionalString(at: 7),
                    document: document,
                    replaces: select.int(at: 8) != 0)
                guard try body(record) else { break }
            }
        }
    }

    /// Calls `body` with each dead letter in the order they died until it returns false.
    public func forEachDeadLetter(_ body: (DeadLetter) throws -> Bool) throws {
        try read("reading dead letters") { state in
            let select = try state.connection.statement(
                "SELECT \(Self.deadLetterColumns) FROM dead_letters ORDER BY id")
            defer { select.reset() }
            while try select.step() {
                guard try body(Self.deadLetter(select)) else { break }
            }
        }
    }

    /// What a full check of the file found: `integrity_check` problems and the schema version.
    public struct CheckReport: Sendable, Equatable {
        /// Empty when the file is sound.
        public var problems: [String]
        public var schemaVersion: Int
        /// The newest schema this binary knows.
        public var expectedSchemaVersion: Int
    }

    /// Runs SQLite's full `integrity_check` and reads the schema version.
    public func check() throws -> CheckReport {
        try read("checking the spool") { state in
            let statement = try state.connection.statement("PRAGMA integrity_check")
            defer { statement.reset() }
            var problems: [String] = []
            while try statement.step() {
                let line = statement.string(at: 0)
                if line != "ok" { problems.append(line) }
            }
            let stored = try Self.totals(state.connection)
            let counted = try Self.countTotals(state.connection)
            if stored != counted {
                problems.append(
                    "the stored totals (\(stored.rows) records, \(stored.deadRows) dead letters) differ from the "
                        + "tables (\(counted.rows), \(counted.deadRows)); `sluice spool vacuum` recounts them")
            }
            let damagedRuns = try Self.damagedRuns(state.connection)
            if damagedRuns > 0 {
                problems.append(
                    "\(damagedRuns) run\(damagedRuns == 1 ? "" : "s") of documents in the segment tables "
                        + "\(damagedRuns == 1 ? "is" : "are") not the bytes written (their checksum differs)")
            }
            let withoutDocument = try Self.recordsWithoutDocument(state.connection, Self.loadSegments(state.connection))
            if withoutDocument > 0 {
                problems.append(
                    "\(withoutDocument) record\(withoutDocument == 1 ? " has" : "s have") no document in the "
                        + "segment tables: the shipper cannot send \(withoutDocument == 1 ? "it" : "them")")
            }
            let migrator = Migrator()
            let version = try migrator.applied(in: state.connection).last?.id ?? 0
            if version != migrator.latestID {
                problems.append("schema version \(version), this binary expects \(migrator.latestID)")
            }
            return CheckReport(problems: problems, schemaVersion: version, expectedSchemaVersion: migrator.latestID)
        }
    }

    /// Records whose document no run in the segments' tables holds whole (reads every record, and
    /// every run that holds one).
    static func recordsWithoutDocument(_ connection: SQLiteConnection, _ segments: [Segment]) throws -> Int {
        let select = try connection.statement("SELECT seq FROM records ORDER BY seq")
        defer { select.reset() }
        var documents = DocumentReader(connection, segments)
        var missing = 0
        while try select.step() {
            if try !documents.has(seq: select.int64(at: 0)) { missing += 1 }
        }
        return missing
    }

    /// Recounts the stored totals, checkpoints the WAL and rebuilds the file to give free pages back
    /// to /tmp.
    public func vacuum() throws {
        guard access != .readOnly else {
            throw SpoolError(.readOnly, "vacuum needs to write, and the spool at \(path) was opened read-only")
        }
        try state.withLock { state in
            do {
                // The one place that recounts the stored totals from the tables, should they drift.
                try state.connection.transaction {
                    state.totals = try Self.countTotals(state.connection)
                    try Self.storeTotals(state.connection, state.totals)
                }
                try state.connection.execute("VACUUM")
                try state.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            } catch {
                throw SpoolError.wrapping(error, doing: "vacuum", path: path)
            }
        }
    }
}
