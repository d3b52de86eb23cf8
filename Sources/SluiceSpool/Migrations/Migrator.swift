/// Brings a database to the schema of a list of migrations: applies the pending ones in id order,
/// each in its own transaction, and records id, name and checksum of each.
///
/// It refuses a database that records a migration this binary does not carry (written by a newer
/// Sluice) or whose recorded checksum differs from the shipped one (an edited migration).
package struct Migrator {
    package let migrations: [Migration]

    package init(migrations: [Migration] = Migration.embedded) {
        self.migrations = migrations.sorted { $0.id < $1.id }
    }

    /// The id of the newest migration this binary carries.
    package var latestID: Int { migrations.last?.id ?? 0 }

    /// One migration recorded in a database.
    package struct Applied: Sendable, Equatable {
        package let id: Int
        package let name: String
        package let checksum: String
        package let appliedAt: Int64
    }

    static let createBookkeeping = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            id         INTEGER PRIMARY KEY,
            name       TEXT    NOT NULL,
            checksum   TEXT    NOT NULL,
            applied_at INTEGER NOT NULL
        )
        """

    /// The migrations recorded in the database (empty for a new file).
    package func applied(in connection: SQLiteConnection) throws -> [Applied] {
        let exists = try connection.scalar(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard exists == 1 else { return [] }
        let statement = try connection.statement(
            "SELECT id, name, checksum, applied_at FROM schema_migrations ORDER BY id")
        defer { statement.reset() }
        var rows: [Applied] = []
        while try statement.step() {
            rows.append(
                Applied(
                    id: statement.int(at: 0), name: statement.string(at: 1),
                    checksum: statement.string(at: 2), appliedAt: statement.int64(at: 3)))
        }
        return rows
    }

    /// Throws when the recorded migrations are not a prefix of this binary's migrations.
    package func verify(_ applied: [Applied], path: String) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.id, $0) })
        for row in applied {
            guard let migration = known[row.id] else {
                throw SpoolError(
                    .schemaTooNew,
                    "the spool at \(path) has schema version \(applied.map(\.id).max() ?? row.id), written by a newer "
                        + "Sluice; this binary knows versions up to \(latestID). Use the newer Sluice, or move the file "
                        + "aside (or set SLUICE_SPOOL_PATH to a new path) to start a fresh spool")
            }
            guard migration.checksum == row.checksum else {
                throw SpoolError(
                    .migrationEdited,
                    "migration \(row.id) (\(row.name)) recorded in \(path) differs from the one this binary ships "
                        + "(checksum \(row.checksum.prefix(12)) vs \(migration.checksum.prefix(12))); shipped "
                        + "migrations must never be edited: add a new migration instead")
            }
        }
    }

    /// Applies every pending migration; returns the ids applied.
    @discardableResult
    package func migrate(_ connection: SQLiteConnection, now: Int64) throws -> [Int] {
        try connection.execute(Self.createBookkeeping)
        let applied = try applied(in: connection)
        try verify(applied, path: connection.path)
        // Each migration also sets the header's user_version: a header ahead of the records means the
        // bookkeeping lost rows (damaged pages), and re-running old migrations would only fail.
        let recorded = applied.last?.id ?? 0
        let header = try connection.scalar("PRAGMA user_version") ?? 0
        if header > recorded {
            throw SpoolError(
                .corrupt,
                "the spool at \(connection.path) has schema version \(header) in its header but records "
                    + "migrations up to \(recorded): its bookkeeping is damaged")
        }
        let done = Set(applied.map(\.id))
        var ran: [Int] = []
        for migration in migrations where !done.contains(migration.id) {
            do {
                try connection.transaction {
                    try connection.execute(migration.sql)
                    let record = try connection.statement(
                        "INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)")
                    record.bind(migration.id, at: 1)
                    record.bind(migration.name, at: 2)
                    record.bind(migration.checksum, at: 3)
                    record.bind(now, at: 4)
                    try record.step()
                    try connection.execute("PRAGMA user_version = \(migration.id)")
                }
            } catch let error as SQLiteError where !error.isFull && !error.isCorruption {
                throw SpoolError(
                    .migrationFailed,
                    "migration \(migration.id) (\(migration.name)) failed on \(connection.path): \(error.message); "
                        + "the spool keeps schema version \(ran.last ?? applied.last?.id ?? 0)",
                    sqlite: error)
            }
            ran.append(migration.id)
        }
        return ran
    }
}
