import SluiceJSON

extension Spool {
    /// What `salvage(from:)` got back from a damaged file.
    public struct Salvage: Sendable, Equatable {
        /// Records read and appended (new to this spool).
        public var recovered = 0
        /// Dead letters read and kept as dead letters here.
        public var deadLetters = 0
        /// Rows read that this spool already held (a salvage begun by a process that died).
        public var duplicates = 0
        /// Rows that read, but not as the JSON object every stored document is (left out).
        public var damaged = 0
        /// Whether some of the file could not be read (its damage), or none of it could.
        public var unreadable = false
    }

    /// The damaged file this spool replaced, while its salvage has not run to its end: recorded
    /// with the quarantine (in its transaction), so that a process killed during the salvage leaves
    /// it to the next start. nil when there is none, it was salvaged, or it is gone.
    public func pendingSalvage() -> String? {
        guard
            let (aside, salvaged) = try? read(
                "reading the pending salvage",
                { state in
                    (
                        try Self.meta(state.connection, "last_quarantine"),
                        try Self.meta(state.connection, Self.salvagedKey)
                    )
                }), let aside, aside != salvaged, FileSystem.exists(aside)
        else { return nil }
        return aside
    }

    static let salvagedKey = "salvaged_quarantine"
    /// How far the records of a salvage that has not ended were read (`SalvageProgress`), kept
    /// with each batch it stores, in that batch's transaction.
    static let salvageProgressKey = "salvage_progress"

    /// Which of `salvageRecordQueries` a salvage was reading, and the last key it stored a batch up
    /// to; stored as "query after path".
    struct SalvageProgress {
        var query = 0
        var after: Int64 = 0

        init(query: Int, after: Int64) {
            self.query = query
            self.after = after
        }

        /// The progress stored for the file at `aside`; from the start for another file or none.
        init(_ text: String?, aside: String) {
            let parts = text?.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false) ?? []
            guard parts.count == 3, parts[2] == aside, let query = Int(parts[0]), let after = Int64(parts[1]) else {
                return
            }
            (self.query, self.after) = (query, after)
        }

        func text(aside: String) -> String { "\(query) \(after) \(aside)" }
    }

    private static func meta(_ connection: SQLiteConnection, _ key: String) throws -> String? {
        let select = try connection.statement("SELECT value FROM meta WHERE key = ?")
        defer { select.reset() }
        select.bind(key, at: 1)
        return try select.step() ? select.string(at: 0) : nil
    }

    /// Reads what can still be read of the damaged file at `aside` (the one `open` moved aside) into
    /// this spool, `batch` rows at a time, so that damage to a few pages costs the rows on them
    /// rather than the whole backlog: the waiting records (appended, and shipped as fresh records:
    /// their age and attempts start again), then the dead letters (kept as dead letters, with their
    /// reason and attempts, under this spool's cap). Rows are read in key order; a part that cannot
    /// be read is stepped over. A salvage begun again (a process killed during one) stores each row
    /// once: records from where the last batch stored ended (recorded with it), none once the file
    /// was read to its end, dead letters by their id and time of death; OpenSearch indexes a record
    /// once by its id. The invocation view's state stays in the file. Counted as `salvaged`
    /// and `salvaged_dead_letters`.
    public func salvage(from aside: String, batch: Int = 500) -> Salvage {
        var result = Salvage()
        guard let file = try? SQLiteConnection(path: aside, mode: .readOnly) else {
            result.unreadable = true
            return result
        }
        do {
            // The last seq the file handed out, if that much of it can be read; else far enough.
            let lastSeq = (try? file.scalar("SELECT value FROM counters WHERE name = 'last_seq'")) ?? nil
            var records = (damaged: 0, unreadable: false)
            // Where a salvage of this file that did not end got to: it goes on from there, so that
            // records it stored and that shipped since are not stored (and counted) again. One that
            // read the file to its end stored all its records already.
            let (resume, salvaged) = try read("reading the salvage's progress") { state in
                (
                    Self.SalvageProgress(try Self.meta(state.connection, Self.salvageProgressKey), aside: aside),
                    try Self.meta(state.connection, Self.salvagedKey) == aside
                )
            }
            for (query, source) in Self.salvageRecordSources(file, batch: batch).enumerated()
            where !salvaged && query >= resume.query {
                let read = try Self.readAround(
                    file, source.select, from: query == resume.query ? resume.after : 0, end: lastSeq,
                    batch: source.batch, rows: source.rows, whole: \.wholeDocument,
                    store: { records, after in
                        let progress = SalvageProgress(query: query, after: after).text(aside: aside)
                        let appended = try append(
                            records,
                            also: { connection, appended in
                                try Self.bump(connection, adding: "salvaged", by: appended.stored)
                                try Self.setMeta(connection, Self.salvageProgressKey, progress)
                            })
                        result.recovered += appended.stored
                        result.duplicates += appended.duplicates
                    })
                records.damaged += read.damaged
                records.unreadable = records.unreadable || read.unreadable
            }
            let lastLetter = (try? file.scalar("SELECT max(id) FROM dead_letters")) ?? nil
            // A dead letter salvaged before (a salvage begun again) is here already.
            var kept = try read("reading the dead letters") { state in
                try Self.deadLetterIdentities(state.connection)
            }
            let letters = try Self.readAround(
                file,
                """
                SELECT id, doc_id, index_name, event_time, received_at, died_at, attempts, error_type, reason,
                    document, echo_key, echo_at, replaces
                FROM dead_letters WHERE id > ? ORDER BY id LIMIT ?
                """, from: 0, end: lastLetter, batch: batch, rows: { ([SalvagedLetter($0)], 0) },
                whole: { SpoolRecord.Echo.whole($0.document, $0.echo) },
                store: { letters, _ in
                    let fresh = letters.filter { kept.insert(DeadLetterIdentity($0.documentID, $0.diedAt)).inserted }
                    result.deadLetters += try keep(fresh)
                    result.duplicates += letters.count - fresh.count
                })
            result.damaged = records.damaged + letters.damaged
            result.unreadable = records.unreadable || letters.unreadable
        } catch {
            // This spool cannot write (a full disk): what is left stays in the file, for the next start.
            result.unreadable = true
            return result
        }
        // Read to its end: the next start has nothing to do (what was stored here stays either way).
        _ = try? write("recording the salvage") { state in
            try Self.setMeta(state.connection, Self.salvagedKey, aside)
            let forget = try state.connection.statement("DELETE FROM meta WHERE key = ?")
            defer { forget.reset() }
            forget.bind(Self.salvageProgressKey, at: 1)
            try forget.step()
        }
        return result
    }

    /// What reads a damaged file's records with their documents: a query that takes the key to read
    /// after and a limit and gives the key first, how many rows a step reads, and the records a row
    /// gives (with how many of its documents did not read).
    private struct RecordSource {
        var select: String
        var batch: Int
        var rows: (SQLiteStatement) -> (rows: [SpoolRecord], damaged: Int)
    }

    /// The sources of a damaged file's records, by its layout. A file of schema 9 and later keeps a
    /// delivery's documents in one row of a segment table (a run), read a run at a time, each
    /// document joined to its record if it still waits; one of schema 8 keeps a row per document in
    /// the segment tables; an older one keeps the documents in `records`.
    private static func salvageRecordSources(_ file: SQLiteConnection, batch: Int) -> [RecordSource] {
        let single: (SQLiteStatement) -> (rows: [SpoolRecord], damaged: Int) = { select in
            (
                [
                    SpoolRecord(
                        id: select.string(at: 1), index: select.string(at: 2), eventTime: select.int64(at: 3),
                        document: select.bytes(at: 4), echo: Self.echo(select, at: 5),
                        replaces: select.int(at: 7) != 0)
                ], 0
            )
        }
        let runs =
            (try? file.scalar("SELECT count(*) FROM pragma_table_info('documents_0') WHERE name = 'first_seq'")) ?? nil
        if runs == 1 {
            return (0..<documentSlots).map { slot in
                RecordSource(
                    select:
                        "SELECT first_seq, count, body, crc FROM documents_\(slot) WHERE first_seq > ? ORDER BY first_seq LIMIT ?",
                    batch: 1, rows: { select in Self.salvagedRun(file, select) })
            }
        }
        let segmented = (try? file.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'documents_0'")) ?? nil
        guard segmented == 1 else {
            return [
                RecordSource(
                    select: """
                        SELECT seq, doc_id, index_name, event_time, document, echo_key, echo_at, replaces
                        FROM records WHERE seq > ? ORDER BY seq LIMIT ?
                        """, batch: batch, rows: single)
            ]
        }
        return (0..<documentSlots).map {
            RecordSource(
                select: """
                    SELECT d.seq, r.doc_id, r.index_name, r.event_time, d.document, d.echo_key, d.echo_at, r.replaces
                    FROM documents_\($0) d CROSS JOIN records r ON r.seq = d.seq WHERE d.seq > ? ORDER BY d.seq LIMIT ?
                    """, batch: batch, rows: single)
        }
    }

    /// The records of a run's row whose record rows still wait (settled ones are gone), and how
    /// many documents of it did not read: the run's bytes cut short or not those written (all of
    /// its documents then), or their record's row.
    private static func salvagedRun(
        _ file: SQLiteConnection, _ select: SQLiteStatement
    ) -> (rows: [SpoolRecord], damaged: Int) {
        let run = DocumentRun(select)
        var damaged = run.count - run.entries.count
        var records: [SpoolRecord] = []
        guard
            let record = try? file.statement(
                "SELECT doc_id, index_name, event_time, replaces FROM records WHERE seq = ?")
        else { return ([], run.count) }
        defer { record.reset() }
        for (offset, entry) in run.entries.enumerated() {
            record.reset()
            record.bind(run.first + Int64(offset), at: 1)
            do {
                guard try record.step() else { continue }
            } catch {
                damaged += 1
                continue
            }
            records.append(
                SpoolRecord(
                    id: record.string(at: 0), index: record.string(at: 1), eventTime: record.int64(at: 2),
                    document: Array(run.body[entry.document]), echo: run.echo(entry), replaces: record.int(at: 3) != 0))
        }
        return (records, damaged)
    }

    /// Reads the rows `select` gives (it takes the key to read after and a limit, and gives the key
    /// first) in key order, `batch` at a time, and hands each batch to `store`. A part of the file
    /// that cannot be read is stepped over: a few keys at a time (a page holds a few dozen rows), and
    /// farther each time a run of looks finds nothing (a damaged interior page hides many), until
    /// `end` (the file's last key; nil when that cannot be read). A row whose key is not past the
    /// last one read (a damaged page's keys out of order) is not read again: each row is handed to
    /// `store` once, and the read always moves on. A row that reads without an error
    /// can still be damaged (a page past the end of a cut file reads as zeros): one whose `whole`
    /// document is not the JSON object every stored document is, is left out and counted.
    private static func readAround<Row>(
        _ file: SQLiteConnection, _ select: String, from start: Int64, end: Int64?, batch: Int,
        rows make: (SQLiteStatement) -> (rows: [Row], damaged: Int), whole: (Row) -> [UInt8],
        store: ([Row], Int64) throws -> Void
    ) throws -> (damaged: Int, unreadable: Bool) {
        let end = end ?? (1 << 40)
        var damaged = 0
        var unreadable = false
        var after = start
        var failedProbes = 0
        while after < end, failedProbes < 1_024 {
            var rows: [Row] = []
            // The last key read, and how many rows were, damaged ones included.
            var lastRead: Int64?
            var rowsRead = 0
            var outOfOrder = false
            var failed: Bool
            do {
                let statement = try file.statement(select)
                defer { statement.reset() }
                statement.bind(after, at: 1)
                statement.bind(batch, at: 2)
                do {
                    while try statement.step() {
                        rowsRead += 1
                        // Keys come in order from a sound page; a damaged one can give a key again,
                        // or one before where the read began: that row was read (and stored) already.
                        let key = statement.int64(at: 0)
                        guard key > (lastRead ?? after) else {
                            outOfOrder = true
                            continue
                        }
                        lastRead = key
                        let made = make(statement)
                        damaged += made.damaged
                        for row in made.rows {
                            guard JSONReader.document(whole(row))?.root.kind == .object else {
                                damaged += 1
                                continue
                            }
                            rows.append(row)
                        }
                    }
                    failed = false
                } catch {
                    failed = true
                }
            } catch {
                failed = true
            }
            if !rows.isEmpty { try store(rows, lastRead ?? after) }
            if let lastRead {
                after = lastRead
                failedProbes = 0
            } else if outOfOrder {
                // Nothing past where the read began: step over the page as over one that fails.
                failed = true
            }
            if failed {
                unreadable = true
                after += Int64(8) << min(40, failedProbes / 64)
                failedProbes += 1
            } else if rowsRead < batch {
                break
            }
        }
        return (damaged, unreadable || damaged > 0)
    }

    /// A dead letter read from a damaged file, as its row has it (the document without its echo).
    struct SalvagedLetter {
        var documentID: String
        var index: String
        var eventTime: Int64
        var receivedAt: Int64
        var diedAt: Int64
        var attempts: Int
        var errorType: String?
        var reason: String
        var document: [UInt8]
        var echo: SpoolRecord.Echo?
        var replaces: Bool

        init(_ row: SQLiteStatement) {
            documentID = row.string(at: 1)
            index = row.string(at: 2)
            eventTime = row.int64(at: 3)
            receivedAt = row.int64(at: 4)
            diedAt = row.int64(at: 5)
            attempts = row.int(at: 6)
            errorType = row.optionalString(at: 7)
            reason = row.string(at: 8)
            document = row.bytes(at: 9)
            echo = Spool.echo(row, at: 10)
            replaces = row.int(at: 12) != 0
        }
    }

    /// What tells one dead letter from another: its document's id and when it died.
    struct DeadLetterIdentity: Hashable {
        var documentID: String
        var diedAt: Int64

        init(_ documentID: String, _ diedAt: Int64) {
            self.documentID = documentID
            self.diedAt = diedAt
        }
    }

    private static func deadLetterIdentities(_ connection: SQLiteConnection) throws -> Set<DeadLetterIdentity> {
        let select = try connection.statement("SELECT doc_id, died_at FROM dead_letters")
        defer { select.reset() }
        var identities: Set<DeadLetterIdentity> = []
        while try select.step() { identities.insert(DeadLetterIdentity(select.string(at: 0), select.int64(at: 1))) }
        return identities
    }

    /// Stores salvaged dead letters as dead letters, in one transaction, under the cap as an append
    /// is (`reject-new` leaves out what does not fit, `drop-oldest` drops the oldest to fit); returns
    /// how many were stored.
    private func keep(_ letters: [SalvagedLetter]) throws -> Int {
        guard !letters.isEmpty else { return 0 }
        let cap = configuration.capBytes
        let policy = configuration.overflowPolicy
        return try write("keeping \(letters.count) salvaged dead letters") { state in
            let insert = try state.connection.statement(
                """
                INSERT INTO dead_letters
                    (doc_id, index_name, event_time, received_at, died_at, attempts, error_type, reason, bytes, document,
                    echo_key, echo_at, replaces)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            defer { insert.reset() }
            var stored = 0
            var rejected = 0
            for letter in letters {
                let size = letter.document.count
                if policy == .rejectNew && state.totals.bytes + state.totals.deadBytes + size > cap {
                    rejected += 1
                    continue
                }
                insert.reset()
                insert.bind(letter.documentID, at: 1)
                insert.bind(letter.index, at: 2)
                insert.bind(letter.eventTime, at: 3)
                insert.bind(letter.receivedAt, at: 4)
                insert.bind(letter.diedAt, at: 5)
                insert.bind(letter.attempts, at: 6)
                insert.bind(letter.errorType, at: 7)
                insert.bind(letter.reason, at: 8)
                insert.bind(size, at: 9)
                insert.bindText(letter.document, at: 10)
                insert.bind(letter.echo?.key, at: 11)
                insert.bind(letter.echo?.valueStart, at: 12)
                insert.bind(letter.replaces ? 1 : 0, at: 13)
                try insert.step()
                stored += 1
                state.totals.deadRows += 1
                state.totals.deadBytes += size
            }
            var evicted = 0
            if policy == .dropOldest && state.totals.bytes + state.totals.deadBytes > cap {
                evicted = try Self.evictOldest(&state, toFit: cap)
            }
            try Self.bump(state.connection, adding: "salvaged_dead_letters", by: stored)
            try Self.bump(state.connection, "dropped", by: rejected + evicted)
            return stored
        }
    }
}
