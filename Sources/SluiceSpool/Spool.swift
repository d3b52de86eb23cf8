import CSQLite
public import Logging
import SluiceTime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The durable queue between the telemetry listener and the shipper: one SQLite file in WAL mode,
/// one connection, every call one transaction.
///
/// Calls are synchronous and serialised; each returns once its transaction is committed (or
/// rolled back and thrown).
public final class Spool: Sendable {
    /// How a process uses the file.
    public enum Access: Sendable {
        /// The extension: creates the file, migrates it, checks it, moves a damaged file aside and
        /// starts afresh, and takes back leases a crashed predecessor held.
        case owner
        /// A repair from the CLI: read-write on an existing file, migrates it, leaves leases alone.
        case maintenance
        /// Inspection: never writes to the file.
        case readOnly
    }

    struct State: Sendable {
        let connection: SQLiteConnection
        /// Live records and dead letters with their document bytes, so the cap costs no query.
        var totals: Totals
        /// Records handed to a shipper and not settled yet, by seq. Kept in memory, not in the file:
        /// leasing then writes nothing, and a process that dies takes its leases with it.
        var leases: [Int64: Lease] = [:]
        /// Every fresh record (never attempted) with a seq at or below this has been leased.
        var freshCursor: Int64 = 0
        /// SQLite's `data_version` at our last write; a change means another process wrote.
        var dataVersion: Int64
        /// The tables that hold the documents, oldest first (as `segments` stores them).
        var segments: [Segment]
    }

    struct Totals: Sendable, Equatable {
        var rows: Int
        var bytes: Int
        var deadRows: Int
        var deadBytes: Int
    }

    struct Lease: Sendable {
        let expiry: Int64
        /// Leased before any attempt: found through the fresh cursor rather than the retry index.
        let fresh: Bool
        /// Its document bytes, so settling needs no lookup to keep the totals.
        let bytes: Int
    }

    let state: Locked<State>
    /// The configuration the spool was opened with.
    public let configuration: SpoolConfiguration
    /// How this spool was opened.
    public let access: Access
    /// Where a damaged file was moved when this open replaced it, if it did.
    public let quarantinedPath: String?
    let logger: Logger

    var path: String { configuration.path }
    var clock: WallClock { configuration.clock }

    private init(
        connection: SQLiteConnection, configuration: SpoolConfiguration, access: Access,
        quarantinedPath: String?, logger: Logger
    ) throws {
        self.state = Locked(
            State(
                connection: connection, totals: try Self.totals(connection),
                dataVersion: try connection.scalar("PRAGMA data_version") ?? 0,
                segments: try Self.loadSegments(connection)))
        self.configuration = configuration
        self.access = access
        self.quarantinedPath = quarantinedPath
        self.logger = logger
    }

    /// Opens (and for `.owner`, creates) the spool at `configuration.path`.
    public static func open(
        _ configuration: SpoolConfiguration, access: Access = .owner,
        logger: Logger = Logger(label: "sluice.spool")
    ) throws -> Spool {
        let path = configuration.path
        switch access {
        case .owner:
            try FileSystem.prepareSpoolFile(at: path)
            do {
                if FileSystem.exists(path + damagedMarkerSuffix) {
                    throw SpoolError(.corrupt, "a check in an earlier run found the spool at \(path) damaged")
                }
                let connection = try prepare(configuration, access: access)
                // The first reads (the totals) may be the first to meet a damaged page.
                do {
                    return try Spool(
                        connection: connection, configuration: configuration, access: access, quarantinedPath: nil,
                        logger: logger)
                } catch {
                    throw SpoolError.wrapping(error, doing: "opening the spool", path: path)
                }
            } catch let error as SpoolError where isDamage(error) {
                let aside = try quarantine(path, now: configuration.clock.now())
                logger.error(
                    "spool was damaged; moved aside and started a fresh one",
                    metadata: [
                        "spool.path": "\(path)", "spool.quarantined_to": "\(aside)", "error": "\(error.message)",
                    ])
                try FileSystem.prepareSpoolFile(at: path)
                let connection = try prepare(configuration, access: access)
                let spool = try Spool(
                    connection: connection, configuration: configuration, access: access, quarantinedPath: aside,
                    logger: logger)
                try spool.recordQuarantine(aside)
                return spool
            }
        case .maintenance, .readOnly:
            guard FileSystem.exists(path) else { throw SpoolError(.notFound, "no spool at \(path)") }
            guard !FileSystem.isFolder(path) else {
                throw SpoolError(.cannotOpen, "\(path) is a folder: give the spool's file (spool.sqlite in it)")
            }
            // Repairs write, and a write would give any database the spool's tables: make sure
            // first, without writing, that this is one.
            if access == .maintenance {
                _ = try prepare(SpoolConfiguration(path: path), access: .readOnly, schemaOnly: true)
            }
            let connection = try prepare(configuration, access: access)
            return try Spool(
                connection: connection, configuration: configuration, access: access, quarantinedPath: nil,
                logger: logger)
        }
    }

    /// Whether an error of the owner's open means the file is damaged, so that it is moved aside:
    /// what SQLite calls corrupt, and SQLITE_ERROR on a file this binary wrote (no such column, a
    /// migration that finds its table there). A newer schema or an edited migration is refused.
    private static func isDamage(_ error: SpoolError) -> Bool {
        error.code == .corrupt || error.sqliteCode == 1 /* SQLITE_ERROR */
    }

    /// Opens the connection, sets it up, migrates and checks the file. `schemaOnly` (read-only):
    /// only that the file is a spool this binary can open.
    private static func prepare(
        _ configuration: SpoolConfiguration, access: Access, schemaOnly: Bool = false
    ) throws -> SQLiteConnection {
        let path = configuration.path
        do {
            var connection = try SQLiteConnection(
                path: path, mode: access == .readOnly ? .readOnly : .readWrite)
            try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMilliseconds)")
            let migrator = Migrator()
            if access == .readOnly {
                try connection.execute("PRAGMA query_only = 1")
                let applied: [Migrator.Applied]
                do {
                    applied = try migrator.applied(in: connection)
                } catch let error as SQLiteError where error.code == 8 /* SQLITE_READONLY */ {
                    // A copy in a folder this user cannot write, where SQLite cannot make its -shm:
                    // with no WAL beside it, the file alone is the spool, and nothing writes it.
                    guard !hasWAL(path) else {
                        throw SpoolError(
                            .readOnly,
                            "the spool at \(path) has a -wal file, and SQLite cannot make the -shm file it "
                                + "needs to read it in a folder this user cannot write: copy spool.sqlite* to one")
                    }
                    connection = try SQLiteConnection(path: path, mode: .immutable)
                    applied = try migrator.applied(in: connection)
                }
                guard !applied.isEmpty else {
                    throw SpoolError(
                        .notASpool,
                        "\(path) is not a Sluice spool: it has none of a spool's tables. A spool copied from a "
                            + "running environment needs its -wal file beside it (copy spool.sqlite*)")
                }
                try migrator.verify(applied, path: path)
                if schemaOnly { return connection }
                guard applied.last?.id == migrator.latestID else {
                    throw SpoolError(
                        .schemaTooNew,
                        "the spool at \(path) has schema version \(applied.last?.id ?? 0) and this binary needs "
                            + "\(migrator.latestID); open it once read-write (the extension, or `sluice spool "
                            + "vacuum`) to upgrade it")
                }
            } else {
                // WAL with synchronous=NORMAL: a committed transaction survives a crash or SIGKILL of the
                // process, which is the failure Lambda has; power loss takes /tmp away anyway. A 1 MiB page
                // cache (SQLite's default is 2 MiB) holds what the spool touches, both ends of the table
                // and of the id index: append and lease + settle ran as fast with it (`tools/bench spool`),
                // and the extension's peak under load fell by 0.7 MB.
                // 16 KiB pages (for a new file; one made with other pages keeps them): a record is appended
                // once and deleted once, whole pages at a time, and with 4 KiB pages every settled batch
                // rebalanced the table's pages and wrote them again. The extension's CPU per 1,000 events
                // fell from 34-38 to 25-29 ms with them and a checkpoint every 4 MiB of WAL (BENCHMARKS.md).
                // Not every 16 MiB: that copied 29 % fewer pages into the main file, but a checkpoint runs in
                // the commit that crosses the threshold, on the extension's one thread, and one of 16 MiB
                // took 12-17 ms of CPU: an invocation that ended meanwhile waited that long for `/next`
                // (more than a 128 MB function's CPU quota per period); with 4 MiB ones the slowest stayed
                // under 5 ms.
                // A new file (empty: nothing of it on disk yet) is made without fsyncs: switching it to
                // WAL and writing its schema synced it 6 times, about 1.5 ms of a new environment's cold
                // start, for a file that holds nothing yet; a crash of the process loses nothing written
                // (the OS has it), and a power loss takes /tmp with it. NORMAL follows at once.
                let new = (FileSystem.size(path) ?? 0) == 0 && !hasWAL(path)
                try connection.execute(
                    """
                    PRAGMA synchronous = \(new ? "OFF" : "NORMAL");
                    PRAGMA page_size = 16384;
                    PRAGMA journal_mode = WAL;
                    PRAGMA journal_size_limit = 8388608;
                    PRAGMA temp_store = MEMORY;
                    PRAGMA cache_size = -1024;
                    PRAGMA secure_delete = FAST;
                    """)
                // A new file's migrations touch about 40 pages (the 8 document tables among them):
                // not the pages the spool works with after, so they leave the cache.
                if !(try migrator.migrate(connection, now: configuration.clock.now())).isEmpty {
                    connection.releaseMemory()
                }
                if new { try connection.execute("PRAGMA synchronous = NORMAL") }
                let pageSize = try connection.scalar("PRAGMA page_size") ?? 4096
                try connection.execute("PRAGMA wal_autocheckpoint = \(max(1, Int64(4 << 20) / pageSize))")
                if let maxFileBytes = configuration.maxFileBytes {
                    try connection.execute("PRAGMA max_page_count = \(max(1, Int64(maxFileBytes) / pageSize))")
                }
            }
            // The owner's open is on the extension's cold start: a full `quick_check` there read the
            // whole file (50-90 ms with 100,000 records waiting). It checks the structure cheaply here
            // and runs the full check later, off the start path (`verifyInBackground`).
            if access == .owner {
                try sizeCheck(connection, path: path)
            } else {
                try quickCheck(connection)
            }
            return connection
        } catch {
            throw SpoolError.wrapping(error, doing: "opening the spool", path: path)
        }
    }

    private static func hasWAL(_ path: String) -> Bool { FileSystem.size(path + "-wal") ?? 0 > 0 }

    /// A file shorter than the pages its header counts was cut short. Only meaningful with no WAL
    /// content: committed pages in the WAL may legitimately lie beyond the main file's end.
    private static func sizeCheck(_ connection: SQLiteConnection, path: String) throws {
        guard FileSystem.size(path + "-wal") ?? 0 == 0, let fileSize = FileSystem.size(path) else { return }
        let pages = try connection.scalar("PRAGMA page_count") ?? 0
        let pageSize = try connection.scalar("PRAGMA page_size") ?? 4096
        if pages * pageSize > Int64(fileSize) {
            throw SpoolError(
                .corrupt,
                "the spool at \(path) is \(fileSize) bytes and its header counts \(pages) pages of \(pageSize): "
                    + "it was cut short")
        }
    }

    static func quickCheck(_ connection: SQLiteConnection) throws {
        let statement = try connection.statement("PRAGMA quick_check")
        defer { statement.reset() }
        var problems: [String] = []
        while try statement.step() {
            let line = statement.string(at: 0)
            if line != "ok" { problems.append(line) }
        }
        if let first = problems.first {
            // SQLite's lines name pages and cells; the first says enough, on one line.
            let line = first.split(whereSeparator: \.isNewline).first.map(String.init) ?? first
            throw SpoolError(
                .corrupt,
                "the spool at \(connection.path) is damaged (its integrity check found \(problems.count) "
                    + "problem\(problems.count == 1 ? "" : "s"), the first: \(line)); an extension that opens it "
                    + "moves it aside and starts a fresh one")
        }
    }

    /// Moves a damaged file (and its -wal and -shm) aside, keeping it for inspection.
    private static func quarantine(_ path: String, now: Int64) throws -> String {
        let aside = "\(path).corrupt-\(UTCTime.compact(milliseconds: now))-\(getpid())"
        for suffix in ["", "-wal", "-shm"] where FileSystem.exists(path + suffix) {
            guard rename(path + suffix, aside + suffix) == 0 else {
                throw SpoolError(
                    .cannotOpen,
                    "the spool at \(path) is damaged and could not be moved aside (errno \(errno)); "
                        + "remove it or set SLUICE_SPOOL_PATH to another file")
            }
        }
        unlink(path + damagedMarkerSuffix)
        return aside
    }

    /// Beside a spool that `verify()` found damaged: the next owner's open moves the file aside.
    static let damagedMarkerSuffix = ".damaged"

    /// What `verify()` found.
    public enum Verification: Sendable, Equatable {
        case sound
        /// SQLite's own words for the damage; the file is marked, and the next start moves it aside.
        case damaged(String)
        /// The check itself could not run (the file could not be opened, say).
        case notChecked(String)
    }

    /// The full `quick_check` that the owner's open leaves out, on a connection of its own: a reader,
    /// so appends and settles go on meanwhile (WAL). A damaged file is marked so that the next start
    /// moves it aside; this process goes on with it, shipping what can still be read.
    public func verify() -> Verification {
        do {
            let connection = try SQLiteConnection(path: path, mode: .readOnly)
            try connection.execute("PRAGMA busy_timeout = \(configuration.busyTimeoutMilliseconds)")
            do {
                try Self.quickCheck(connection)
                let damaged = try Self.damagedRuns(connection)
                if damaged > 0 {
                    throw SpoolError(
                        .corrupt,
                        "the spool at \(path) is damaged: \(damaged) run\(damaged == 1 ? "" : "s") of documents "
                            + "\(damaged == 1 ? "is" : "are") not the bytes written (their checksum differs)")
                }
            } catch {
                let wrapped = SpoolError.wrapping(error, doing: "checking the spool", path: path)
                guard wrapped.code == .corrupt else { throw wrapped }
                let marker = Glibc.open(path + Self.damagedMarkerSuffix, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                if marker >= 0 { close(marker) }
                return .damaged(wrapped.message)
            }
            return .sound
        } catch {
            return .notChecked("\(error)")
        }
    }

    private func recordQuarantine(_ aside: String) throws {
        try write("recording the quarantine") { state in
            try Self.bump(state.connection, "quarantined", by: 1)
            try Self.setMeta(state.connection, "last_quarantine", aside)
        }
    }

    /// Sets a fact about this spool (`meta`), in the caller's transaction.
    static func setMeta(_ connection: SQLiteConnection, _ key: String, _ value: String) throws {
        let meta = try connection.statement("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
        defer { meta.reset() }
        meta.bind(key, at: 1)
        meta.bind(value, at: 2)
        try meta.step()
    }

    /// The totals as stored (migration 0004): one row, kept by every write.
    static func totals(_ connection: SQLiteConnection) throws -> Totals {
        let stored = try connection.statement("SELECT rows, bytes, dead_rows, dead_bytes FROM totals WHERE id = 1")
        defer { stored.reset() }
        guard try stored.step() else { return try countTotals(connection) }
        return Totals(
            rows: stored.int(at: 0), bytes: stored.int(at: 1), deadRows: stored.int(at: 2), deadBytes: stored.int(at: 3)
        )
    }

    /// The totals counted from the tables: reads every record, so only where it is rare and manual.
    static func countTotals(_ connection: SQLiteConnection) throws -> Totals {
        let live = try connection.statement("SELECT count(*), coalesce(sum(bytes), 0) FROM records")
        defer { live.reset() }
        try live.step()
        let dead = try connection.statement("SELECT count(*), coalesce(sum(bytes), 0) FROM dead_letters")
        defer { dead.reset() }
        try dead.step()
        return Totals(
            rows: live.int(at: 0), bytes: live.int(at: 1), deadRows: dead.int(at: 0), deadBytes: dead.int(at: 1))
    }

    static func storeTotals(_ connection: SQLiteConnection, _ totals: Totals) throws {
        let update = try connection.statement(
            "UPDATE totals SET rows = ?, bytes = ?, dead_rows = ?, dead_bytes = ? WHERE id = 1")
        update.bind(totals.rows, at: 1)
        update.bind(totals.bytes, at: 2)
        update.bind(totals.deadRows, at: 3)
        update.bind(totals.deadBytes, at: 4)
        try update.step()
    }

    // MARK: - Shared helpers

    /// Runs `body` in one write transaction. If it fails the totals are restored; `body` changes
    /// `leases` only after its last statement, so only a failed COMMIT can leave a lease dropped for
    /// a record still in the file, which makes it leasable (and shipped, idempotently) again.
    func write<T: Sendable>(_ action: String, _ body: (inout State) throws -> T) throws -> T {
        guard access != .readOnly else {
            throw SpoolError(.readOnly, "\(action) needs to write, and the spool at \(path) was opened read-only")
        }
        return try state.withLock { state in
            // What the body changes in memory follows its transaction: restored when it rolls back.
            let (totals, dataVersion, segments) = (state.totals, state.dataVersion, state.segments)
            do {
                return try state.connection.transaction {
                    try Self.catchUp(&state)
                    let result = try body(&state)
                    if state.totals != totals { try Self.storeTotals(state.connection, state.totals) }
                    return result
                }
            } catch {
                (state.totals, state.dataVersion, state.segments) = (totals, dataVersion, segments)
                throw SpoolError.wrapping(error, doing: action, path: path)
            }
        }
    }

    /// Another process (the CLI requeueing or purging) changed the file: recount, and read the
    /// segments again.
    static func catchUp(_ state: inout State) throws {
        let version = try state.connection.scalar("PRAGMA data_version") ?? 0
        guard version != state.dataVersion else { return }
        state.totals = try totals(state.connection)
        state.segments = try loadSegments(state.connection)
        state.dataVersion = version
    }

    /// Runs `body` with the connection, for reads (and, for `lease`, the in-memory leases).
    func read<T: Sendable>(_ action: String, _ body: (inout State) throws -> T) throws -> T {
        try state.withLock { state in
            do {
                return try body(&state)
            } catch {
                throw SpoolError.wrapping(error, doing: action, path: path)
            }
        }
    }

    static func bump(_ connection: SQLiteConnection, _ counter: String, by amount: Int) throws {
        guard amount != 0 else { return }
        let statement = try connection.statement("UPDATE counters SET value = value + ? WHERE name = ?")
        statement.bind(amount, at: 1)
        statement.bind(counter, at: 2)
        try statement.step()
    }

    /// Adds to a counter that the first addition makes (no migration made it).
    static func bump(_ connection: SQLiteConnection, adding counter: String, by amount: Int) throws {
        guard amount != 0 else { return }
        let statement = try connection.statement(
            "INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"
        )
        defer { statement.reset() }
        statement.bind(counter, at: 1)
        statement.bind(amount, at: 2)
        try statement.step()
    }

    /// The prefix of the counters ingest's rules keep by name (`rule.email.masked`).
    static let ruleCounterPrefix = "rule."

    /// Adds to counters that may not exist yet: ingest's rules, by name.
    static func bump(_ connection: SQLiteConnection, rules counts: [String: Int]) throws {
        for (name, amount) in counts.sorted(by: { $0.key < $1.key }) {
            try bump(connection, adding: ruleCounterPrefix + name, by: amount)
        }
    }
}
