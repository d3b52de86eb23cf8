extension Spool {
    static let deadLetterColumns = """
        id, doc_id, index_name, event_time, received_at, died_at, attempts, error_type, reason, document,
        echo_key, echo_at
        """

    /// Dead letters in the order they died, from `afterID` on, at most `limit`.
    public func deadLetters(limit: Int = 100, afterID: Int64 = 0) throws -> [DeadLetter] {
        try read("listing dead letters") { state in
            let select = try state.connection.statement(
                "SELECT \(Self.deadLetterColumns) FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?")
            defer { select.reset() }
            select.bind(afterID, at: 1)
            select.bind(limit, at: 2)
            var letters: [DeadLetter] = []
            while try select.step() { letters.append(Self.deadLetter(select)) }
            return letters
        }
    }

    /// One dead letter, or nil when there is none with that id.
    public func deadLetter(id: Int64) throws -> DeadLetter? {
        try read("reading dead letter \(id)") { state in
            let select = try state.connection.statement(
                "SELECT \(Self.deadLetterColumns) FROM dead_letters WHERE id = ?")
            defer { select.reset() }
            select.bind(id, at: 1)
            return try select.step() ? Self.deadLetter(select) : nil
        }
    }

    static func deadLetter(_ row: SQLiteStatement) -> DeadLetter {
        DeadLetter(
            id: row.int64(at: 0), documentID: row.string(at: 1), index: row.string(at: 2),
            eventTime: row.int64(at: 3), receivedAt: row.int64(at: 4), diedAt: row.int64(at: 5),
            attempts: row.int(at: 6), errorType: row.optionalString(at: 7), reason: row.string(at: 8),
            document: wholeDocument(row, at: 9, echoAt: 10).document)
    }

    /// Puts dead letters back in the queue, due now with their attempts reset (all of them when
    /// `id` is nil). Returns how many were requeued; one whose id is already queued is just removed.
    @discardableResult
    public func requeueDeadLetters(id: Int64? = nil) throws -> Int {
        let now = clock.now()
        let filter = id == nil ? "" : "WHERE id = ?"
        return try write("requeueing dead letters") { state in
            let connection = state.connection
            // One by one, each with the next seq, so requeued records sort after everything handed out.
            var seq = try Self.lastSeq(connection)
            var inserted = 0
            let letters = try connection.statement("SELECT id, doc_id FROM dead_letters \(filter) ORDER BY id")
            if let id { letters.bind(id, at: 1) }
            var ids: [(letter: Int64, document: String)] = []
            while try letters.step() { ids.append((letters.int64(at: 0), letters.string(at: 1))) }
            letters.reset()
            guard !ids.isEmpty else { return 0 }
            // The ids among them that wait already (a re-delivery stored since): one pass over the
            // records, which keep no index of ids. Those letters are just removed.
            let asked = Set(ids.map(\.document))
            var waiting = Set<String>()
            let queued = try connection.statement("SELECT doc_id FROM records")
            while try queued.step() {
                let document = queued.string(at: 0)
                if asked.contains(document) { waiting.insert(document) }
            }
            queued.reset()
            let copy = try connection.statement(
                """
                INSERT INTO records (seq, doc_id, index_name, event_time, received_at, due_at, bytes, replaces, keyed)
                SELECT ?, doc_id, index_name, event_time, received_at, ?, bytes, replaces, replaces FROM dead_letters
                WHERE id = ?
                """)
            defer { copy.reset() }
            let slot = try Self.segmentForAppend(&state, nextSeq: seq + 1)
            let document = try connection.statement("SELECT document, echo_key, echo_at FROM dead_letters WHERE id = ?")
            defer { document.reset() }
            // The requeued documents, in runs from the first new seq on.
            var runs = RunAppender(connection, slot: slot, first: seq + 1)
            for (letter, documentID) in ids {
                // Queued already, or by a letter before it of the same id.
                guard waiting.insert(documentID).inserted else { continue }
                document.reset()
                document.bind(letter, at: 1)
                guard try document.step() else { continue }
                copy.reset()
                copy.bind(seq + 1, at: 1)
                copy.bind(now, at: 2)
                copy.bind(letter, at: 3)
                try copy.step()
                if connection.changes == 1 {
                    try runs.append(document.bytes(at: 0), echo: Self.echo(document, at: 1))
                    seq += 1
                    inserted += 1
                }
            }
            try runs.finish()
            try Self.setLastSeq(connection, seq)
            let delete = try connection.statement("DELETE FROM dead_letters \(filter)")
            if let id { delete.bind(id, at: 1) }
            try delete.step()
            // Requeueing is rare and manual: recount rather than track which copies were ignored.
            state.totals = try Self.countTotals(connection)
            try Self.bump(connection, "requeued", by: inserted)
            return inserted
        }
    }

    /// Deletes every dead letter; returns how many there were.
    @discardableResult
    public func purgeDeadLetters() throws -> Int {
        try write("purging dead letters") { state in
            try state.connection.execute("DELETE FROM dead_letters")
            let purged = state.connection.changes
            state.totals.deadRows = 0
            state.totals.deadBytes = 0
            return purged
        }
    }
}
