import ArgumentParser
import CSQLite
import SluiceSpool

#if canImport(Glibc)
    import Glibc
#endif

/// Spool throughput against the raw SQLite limit, measured in the same run on the same disk.
struct SpoolBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-spool",
        abstract: "Append and lease+settle throughput of the spool against raw SQLite inserts.")

    @Option(help: "Folder for the benchmark files (on the disk /tmp is on).") var folder = "/tmp"
    @Option(help: "Records per run.") var records = 200_000
    @Option(help: "Records per batch (one transaction).") var batchSize = 1000
    @Option(help: "Document bytes per record.") var recordBytes = 250
    @Option(help: "Runs per figure; the median is reported.") var runs = 3

    func run() throws {
        let telemetry = SyntheticTelemetry(recordBytes: recordBytes, startTime: 1_764_000_000_000)
        let timeOrdered = (0..<records).map { number in
            let record = telemetry.record(number)
            return SpoolRecord(
                id: record.id, index: "lambda-function", eventTime: record.time, document: record.document)
        }
        let batches = stride(from: 0, to: records, by: batchSize).map {
            Array(timeOrdered[$0..<min($0 + batchSize, records)])
        }

        var rawInsert: [Double] = []
        var append: [Double] = []
        var rawDrain: [Double] = []
        var drain: [Double] = []
        for run in 0..<runs {
            let base = "\(folder)/sluice-bench-\(getpid())-\(run)"
            defer {
                for suffix in ["raw.sqlite", "spool.sqlite"] {
                    Measure.removeDatabase(base + "-" + suffix)
                }
            }

            let raw = try RawSQLite(path: base + "-raw.sqlite")
            rawInsert.append(try Measure.rate(records) { try raw.insert(batches) })
            rawDrain.append(try Measure.rate(records) { try raw.drain(batchSize: batchSize) })

            let spool = try Spool.open(SpoolConfiguration(path: base + "-spool.sqlite", capBytes: 1 << 40))
            append.append(try Measure.rate(records) { for batch in batches { try spool.append(batch) } })
            drain.append(
                try Measure.rate(records) {
                    while true {
                        let leased = try spool.lease(maxCount: batchSize, maxBytes: 5 << 20)
                        if leased.isEmpty { break }
                        try spool.settle(leased.map { ($0.seq, .shipped) })
                    }
                })
        }

        let rawInsertRate = Measure.median(rawInsert)
        let rawDrainRate = Measure.median(rawDrain)
        print(
            "spool benchmark: \(records) records of \(recordBytes) bytes, \(batchSize) per transaction, median of \(runs)"
        )
        print("| figure | records/s | vs raw | target |")
        print("|---|---:|---:|---|")
        print("| raw SQLite insert (integer key, no other index) | \(Measure.format(rawInsertRate)) | 1.00 | |")
        print(Measure.row("spool append", Measure.median(append), rawInsertRate, "≥ 0.60"))
        print("| raw SQLite select + delete by key | \(Measure.format(rawDrainRate)) | 1.00 | |")
        print(Measure.row("spool lease + settle (shipped)", Measure.median(drain), rawDrainRate, ""))
        let appendRatio = Measure.ratio(Measure.median(append), rawInsertRate)
        Measure.summarize(
            "spool append, against raw SQLite inserts",
            Measure.against(Measure.median(append), rawInsertRate, of: "raw", unit: "records/s"),
            target: "≥ 0.60 of raw", met: appendRatio >= 0.60)
    }
}

func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

/// The baseline: the same rows through the C API, one prepared INSERT per row, into a table with an
/// integer primary key and no other index, with the spool's journal settings.
final class RawSQLite {
    let db: OpaquePointer

    init(path: String) throws {
        var handle: OpaquePointer?
        guard sqlite3_open(path, &handle) == SQLITE_OK, let handle else { throw ValidationError("cannot open \(path)") }
        db = handle
        try exec(
            """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
            CREATE TABLE raw (seq INTEGER PRIMARY KEY, doc_id TEXT NOT NULL, index_name TEXT NOT NULL,
                event_time INTEGER NOT NULL, received_at INTEGER NOT NULL, bytes INTEGER NOT NULL, document TEXT NOT NULL);
            """)
    }

    deinit { sqlite3_close(db) }

    func exec(_ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else {
            throw ValidationError(String(cString: sqlite3_errmsg(db)))
        }
    }

    func insert(_ batches: [[SpoolRecord]]) throws {
        var statement: OpaquePointer?
        sqlite3_prepare_v2(
            db, "INSERT INTO raw (doc_id, index_name, event_time, received_at, bytes, document) VALUES (?,?,?,?,?,?)",
            -1, &statement, nil)
        defer { sqlite3_finalize(statement) }
        let now = Int64(monotonicSeconds() * 1000)
        for batch in batches {
            try exec("BEGIN")
            for record in batch {
                sqlite3_bind_text(statement, 1, record.id, -1, csqlite_transient())
                sqlite3_bind_text(statement, 2, record.index, -1, csqlite_transient())
                sqlite3_bind_int64(statement, 3, record.eventTime)
                sqlite3_bind_int64(statement, 4, now)
                sqlite3_bind_int64(statement, 5, Int64(record.document.count))
                record.document.withUnsafeBufferPointer { buffer in
                    _ = sqlite3_bind_text(
                        statement, 6, UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self),
                        Int32(buffer.count), csqlite_transient())
                }
                guard sqlite3_step(statement) == SQLITE_DONE else {
                    throw ValidationError(String(cString: sqlite3_errmsg(db)))
                }
                sqlite3_reset(statement)
            }
            try exec("COMMIT")
        }
    }

    /// Reads the oldest `batchSize` rows and deletes them by key, until the table is empty.
    func drain(batchSize: Int) throws {
        var select: OpaquePointer?
        var delete: OpaquePointer?
        sqlite3_prepare_v2(
            db, "SELECT seq, doc_id, index_name, document FROM raw ORDER BY seq LIMIT ?", -1, &select, nil)
        sqlite3_prepare_v2(db, "DELETE FROM raw WHERE seq = ?", -1, &delete, nil)
        defer {
            sqlite3_finalize(select)
            sqlite3_finalize(delete)
        }
        while true {
            try exec("BEGIN")
            sqlite3_bind_int64(select, 1, Int64(batchSize))
            var keys: [Int64] = []
            var bytes = 0
            while sqlite3_step(select) == SQLITE_ROW {
                keys.append(sqlite3_column_int64(select, 0))
                bytes += Int(sqlite3_column_bytes(select, 1)) + Int(sqlite3_column_bytes(select, 3))
            }
            sqlite3_reset(select)
            try exec("COMMIT")
            if keys.isEmpty { break }
            try exec("BEGIN")
            for key in keys {
                sqlite3_bind_int64(delete, 1, key)
                sqlite3_step(delete)
                sqlite3_reset(delete)
            }
            try exec("COMMIT")
        }
    }
}
