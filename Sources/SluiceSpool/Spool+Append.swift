extension Spool {
    static let insertRecord = """
        INSERT OR IGNORE INTO records (seq, doc_id, index_name, event_time, received_at, due_at, bytes, replaces, keyed)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
        """

    /// Stores records in one transaction. Returns once committed.
    ///
    /// The spool keeps one waiting record of a keyed id (`SpoolRecord.keyed`): a second is counted
    /// as a duplicate and not stored, unless it `replaces` that one, which then goes (a lease of it
    /// ends: its settle finds it gone). Records that are not keyed are stored as given: a
    /// re-delivered batch is known by its digest, before its records are made (`duplicates` of the
    /// invocation-state append), and OpenSearch indexes a document stored twice anyway once (it
    /// refuses a second `create` of an id).
    ///
    /// Throws `SpoolError` (`.diskFull` among others) with nothing of the delivery written.
    @discardableResult
    public func append(_ records: [SpoolRecord]) throws -> AppendResult {
        try append(records, duplicates: 0, also: nil)
    }

    /// `append(_:)`, counting `duplicates` more records received and not stored (a re-delivery's),
    /// with `also` run in the same transaction after the records are written (given what the append
    /// did).
    func append(
        _ records: [SpoolRecord], duplicates: Int = 0, also: ((SQLiteConnection, AppendResult) throws -> Void)?
    ) throws -> AppendResult {
        let now = clock.now()
        let cap = configuration.capBytes
        let policy = configuration.overflowPolicy
        return try write("appending \(records.count) records") { state in
            var result = AppendResult()
            result.received = records.count + duplicates
            result.duplicates = duplicates
            let insert = try state.connection.statement(Self.insertRecord)
            var seq = try Self.lastSeq(state.connection)
            let slot = try Self.segmentForAppend(&state, nextSeq: seq + 1)
            // The stored records, by position, in seq order from `firstStored`: their documents go
            // into the segment's table after the rows.
            var stored: [Int] = []
            stored.reserveCapacity(records.count)
            let firstStored = seq + 1
            for (position, record) in records.enumerated() {
                let size = record.document.count
                if policy == .rejectNew && state.totals.bytes + state.totals.deadBytes + size > cap {
                    result.rejected += 1
                    continue
                }
                if record.replaces { try Self.remove(keyed: record.id, &state) }
                insert.reset()
                insert.bind(seq + 1, at: 1)
                insert.bind(record.id, at: 2)
                insert.bind(record.index, at: 3)
                insert.bind(record.eventTime, at: 4)
                insert.bind(now, at: 5)
                insert.bind(now, at: 6)
                insert.bind(size, at: 7)
                insert.bind(record.replaces ? 1 : 0, at: 8)
                insert.bind(record.keyed ? 1 : 0, at: 9)
                try insert.step()
                // Ignored only for a keyed id that waits already.
                if state.connection.changes == 1 {
                    stored.append(position)
                    seq += 1
                    result.stored += 1
                    state.totals.rows += 1
                    state.totals.bytes += size
                } else {
                    result.duplicates += 1
                }
            }
            insert.reset()
            try Self.insertDocuments(state.connection, slot: slot, records, stored, from: firstStored)
            try Self.setLastSeq(state.connection, seq)
            if policy == .dropOldest && state.totals.bytes + state.totals.deadBytes > cap {
                result.evicted = try Self.evictOldest(&state, toFit: cap)
            }
            // A replaced record's document may have been the last its segment waited for.
            if records.contains(where: \.replaces) { try Self.clearSettledSegments(&state) }
            let connection = state.connection
            try Self.bump(connection, "received", by: result.received)
            try Self.bump(connection, "stored", by: result.stored)
            try Self.bump(connection, "duplicate", by: result.duplicates)
            try Self.bump(connection, "dropped", by: result.rejected + result.evicted)
            try also?(connection, result)
            return result
        }
    }

    /// Removes the keyed record of `id`, if one waits, for the record that replaces it.
    private static func remove(keyed id: String, _ state: inout State) throws {
        let find = try state.connection.statement("SELECT seq, bytes FROM records WHERE doc_id = ? AND keyed = 1")
        find.bind(id, at: 1)
        guard try find.step() else {
            find.reset()
            return
        }
        let (seq, bytes) = (find.int64(at: 0), find.int(at: 1))
        find.reset()
        let delete = try state.connection.statement("DELETE FROM records WHERE seq = ?")
        delete.bind(seq, at: 1)
        try delete.step()
        delete.reset()
        state.totals.rows -= 1
        state.totals.bytes -= bytes
        state.leases[seq] = nil
    }

    /// The highest seq ever assigned. Read inside each write transaction rather than cached, so that
    /// a second writer (the CLI requeueing dead letters) and the extension never hand out one twice.
    static func lastSeq(_ connection: SQLiteConnection) throws -> Int64 {
        try connection.scalar("SELECT value FROM counters WHERE name = 'last_seq'") ?? 0
    }

    static func setLastSeq(_ connection: SQLiteConnection, _ seq: Int64) throws {
        let update = try connection.statement("UPDATE counters SET value = ? WHERE name = 'last_seq'")
        update.bind(seq, at: 1)
        try update.step()
    }

    /// Drops the oldest dead letters, then the oldest records, until the spool is within `cap`.
    static func evictOldest(_ state: inout State, toFit cap: Int) throws -> Int {
        var dropped = 0
        for table in ["dead_letters", "records"] {
            let key = table == "records" ? "seq" : "id"
            var excess = state.totals.bytes + state.totals.deadBytes - cap
            guard excess > 0 else { break }
            // Find the key below which enough bytes are freed, then delete that prefix at once.
            let scan = try state.connection.statement("SELECT \(key), bytes FROM \(table) ORDER BY \(key)")
            var last: Int64?
            var freedBytes = 0
            var freedRows = 0
            while excess > 0, try scan.step() {
                last = scan.int64(at: 0)
                let bytes = scan.int(at: 1)
                excess -= bytes
                freedBytes += bytes
                freedRows += 1
            }
            scan.reset()
            guard let last else { continue }
            let delete = try state.connection.statement("DELETE FROM \(table) WHERE \(key) <= ?")
            delete.bind(last, at: 1)
            try delete.step()
            if table == "records" {
                state.totals.rows -= freedRows
                state.totals.bytes -= freedBytes
            } else {
                state.totals.deadRows -= freedRows
                state.totals.deadBytes -= freedBytes
            }
            dropped += freedRows
            if table == "records" { try clearSettledSegments(&state) }
        }
        return dropped
    }
}
