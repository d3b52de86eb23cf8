import SluiceJSON

extension Spool {
    /// What `salvage(from:)` got back from a damaged file.
    public struct Salvage: Sendable, Equatable {
        /// Records read and appended (new to this spool).
        public var recovered = 0
        /// Records read that this spool already held (a salvage begun by a process that died).
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

    private static func meta(_ connection: SQLiteConnection, _ key: String) throws -> String? {
        let select = try connection.statement("SELECT value FROM meta WHERE key = ?")
        defer { select.reset() }
        select.bind(key, at: 1)
        return try select.step() ? select.string(at: 0) : nil
    }

    /// Reads the waiting records that can still be read from the damaged file at `aside` (the one
    /// `open` moved aside) and appends them to this spool, `batch` at a time, so that damage to a
    /// few pages costs the records on them rather than the whole backlog. Records are read in seq
    /// order; a part that cannot be read is stepped over, a few seqs at a time and farther as the
    /// looks fail, until the file's last seq. Their ids make a salvage begun again (a process killed
    /// during one) store each record once, and OpenSearch index it once. Dead letters and the
    /// invocation view's state stay in the file. The salvaged records count as `salvaged`; they are
    /// fresh records here (their age and attempts start again).
    public func salvage(from aside: String, batch: Int = 500) -> Salvage {
        var result = Salvage()
        guard let file = try? SQLiteConnection(path: aside, mode: .readOnly) else {
            result.unreadable = true
            return result
        }
        // The last seq the file handed out, if that much of it can be read; else far enough.
        let lastSeq = (try? file.scalar("SELECT value FROM counters WHERE name = 'last_seq'")) ?? nil
        let end = lastSeq ?? (1 << 40)
        var after: Int64 = 0
        var failedProbes = 0
        while after < end, failedProbes < 1_024 {
            var records: [SpoolRecord] = []
            // The last seq read, and how many rows were, damaged ones included.
            var lastRead: Int64?
            var rowsRead = 0
            let failed: Bool
            do {
                let select = try file.statement(
                    """
                    SELECT seq, doc_id, index_name, event_time, document, echo_key, echo_at, replaces
                    FROM records WHERE seq > ? ORDER BY seq LIMIT ?
                    """)
                defer { select.reset() }
                select.bind(after, at: 1)
                select.bind(batch, at: 2)
                do {
                    while try select.step() {
                        lastRead = select.int64(at: 0)
                        rowsRead += 1
                        let echo =
                            select.isNull(at: 5)
                            ? nil : SpoolRecord.Echo(key: select.string(at: 5), valueStart: select.int(at: 6))
                        let record = SpoolRecord(
                            id: select.string(at: 1), index: select.string(at: 2), eventTime: select.int64(at: 3),
                            document: select.bytes(at: 4), echo: echo, replaces: select.int(at: 7) != 0)
                        // A row that reads without an error can still be damaged: a page past the end of
                        // a cut file reads as zeros. Every stored document is a JSON object.
                        guard JSONReader.document(record.wholeDocument)?.root.kind == .object else {
                            result.damaged += 1
                            continue
                        }
                        records.append(record)
                    }
                    failed = false
                } catch {
                    failed = true
                }
            } catch {
                failed = true
            }
            if !records.isEmpty {
                do {
                    let appended = try append(
                        records,
                        also: { connection, appended in
                            try Self.bump(connection, adding: "salvaged", by: appended.stored)
                        })
                    result.recovered += appended.stored
                    result.duplicates += appended.duplicates
                } catch {
                    // This spool cannot write (a full disk): what is left stays in the file.
                    result.unreadable = true
                    return result
                }
            }
            if let lastRead {
                after = lastRead
                failedProbes = 0
            }
            if failed {
                // A damaged page: step over a few seqs (a page holds a few dozen rows) and look again,
                // farther each time a run of looks finds nothing (a damaged interior page hides many).
                result.unreadable = true
                after += Int64(8) << min(40, failedProbes / 64)
                failedProbes += 1
            } else if rowsRead < batch {
                break
            }
        }
        if failedProbes > 0 || result.damaged > 0 { result.unreadable = true }
        // Read to its end: the next start has nothing to do (what was stored here stays either way).
        _ = try? write("recording the salvage") { state in try Self.setMeta(state.connection, Self.salvagedKey, aside) }
        return result
    }
}
