/// Brings a database to the schema of a list of migrations: applies the pending ones in id order,
/// each in its own transaction, and records id, name and checksum of each.
///
/// It refuses a database that records a migration this binary does not carry (written by a newer
/// Sluice) or whose recorded checksum differs from the shipped one (an edited migration).
package struct Migrator {
    package let migrations: [Migration]
    /// The whole schema after migration `schema.id`, for a new file (see `migrate`).
    package let schema: Migration?

    package init(migrations: [Migration] = Migration.embedded, schema: Migration? = Migration.embeddedSchema) {
        let sorted = migrations.sorted { $0.id < $1.id }
        self.migrations = sorted
        // A schema is only good for a list that carries the migration it follows.
        self.schema = schema.flatMap { schema in sorted.contains { $0.id == schema.id } ? schema : nil }
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
        var done = Set(applied.map(\.id))
        var ran: [Int] = []
        // A new file gets the schema in one transaction, recorded as the migrations up to its id:
        // one by one, they were most of a new environment's cold start.
        if let schema, applied.isEmpty, header == 0,
            try connection.scalar("SELECT count(*) FROM sqlite_master WHERE name <> 'schema_migrations'") == 0
        {
            let included = migrations.filter { $0.id <= schema.id }
            try Self.apply(schema.sql, recording: included, connection, now: now) {
                "the schema of a new spool (migrations 1 to \(schema.id)) failed on \(connection.path): \($0)"
            }
            ran = included.map(\.id)
            done.formUnion(ran)
        }
        for migration in migrations where !done.contains(migration.id) {
            try Self.apply(migration.sql, recording: [migration], connection, now: now) {
                "migration \(migration.id) (\(migration.name)) failed on \(connection.path): \($0); "
                    + "the spool keeps schema version \(ran.last ?? applied.last?.id ?? 0)"
            }
            ran.append(migration.id)
        }
        return ran
    }

    /// Runs `sql` and records `migrations` as applied, in one transaction; a failure is
    /// `.migrationFailed` with `describe`'s message (given SQLite's).
    private static func apply(
        _ sql: String, recording migrations: [Migration], _ connection: SQLiteConnection, now: Int64,
        describe: (String) -> String
    ) throws {
        do {
            try connection.transaction {
                try connection.execute(sql)
                for migration in migrations { try record(migration, connection, now: now) }
                try connection.execute("PRAGMA user_version = \(migrations.last?.id ?? 0)")
            }
        } catch let error as SQLiteError where !error.isFull && !error.isCorruption {
            throw SpoolError(.migrationFailed, describe(error.message), sqlite: error)
        }
    }

    private static func record(_ migration: Migration, _ connection: SQLiteConnection, now: Int64) throws {
        let record = try connection.statement(
            "INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (?, ?, ?, ?)")
        defer { record.reset() }
        record.bind(migration.id, at: 1)
        record.bind(migration.name, at: 2)
        record.bind(migration.checksum, at: 3)
        record.bind(now, at: 4)
        try record.step()
    }
}
