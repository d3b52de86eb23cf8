import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceSpool

@Suite struct MigrationTests {
    @Test func embeddedMigrationsEqualTheFilesInTheRepository() throws {
        let folder = packageRoot.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") && !$0.hasPrefix("schema-") }.sorted()
        #expect(files.count == Migration.embedded.count)
        for (file, migration) in zip(files, Migration.embedded) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(file == String(format: "%04d_%@.sql", migration.id, migration.name))
            #expect(text == migration.sql, "\(file) differs from the copy embedded in the binary")
        }
        #expect(Migration.embedded.map(\.id) == Array(1...Migration.embedded.count), "ids are 1, 2, 3, … in order")
    }

    @Test func theSchemaOfANewFileIsEmbeddedAndFollowsAShippedMigration() throws {
        let schema = try #require(Migration.embeddedSchema, "migrations/schema-NNNN.sql is embedded")
        let file = packageRoot.appendingPathComponent("migrations/schema-\(String(format: "%04d", schema.id)).sql")
        #expect(try String(contentsOf: file, encoding: .utf8) == schema.sql)
        #expect(Migration.embedded.contains { $0.id == schema.id })
    }

    /// A new file made with the schema in one transaction is the file the migrations make one by
    /// one: the same tables, indexes and their SQL, the same rows, the same migrations recorded.
    @Test func aNewFileWithTheSchemaIsTheFileTheMigrationsMake() throws {
        let folder = try TemporaryFolder()
        func made(_ name: String, _ migrator: Migrator) throws -> (contents: [String], ran: [Int]) {
            let connection = try SQLiteConnection(path: folder.file(name), mode: .readWriteCreate)
            let ran = try migrator.migrate(connection, now: 1)
            return (try Self.contents(connection), ran)
        }
        let oneByOne = try made("one-by-one.sqlite", Migrator(schema: nil))
        let withSchema = try made("with-schema.sqlite", Migrator())
        #expect(oneByOne.ran == Migration.embedded.map(\.id))
        #expect(withSchema.ran == Migration.embedded.map(\.id))
        #expect(withSchema.contents.count == oneByOne.contents.count)
        for (made, migrated) in zip(withSchema.contents, oneByOne.contents) {
            #expect(made == migrated)
        }
        #expect(oneByOne.contents.contains("meta: 'environment_id',16 hex digits"))
        // Opened again, neither applies anything.
        for name in ["one-by-one.sqlite", "with-schema.sqlite"] {
            let connection = try SQLiteConnection(path: folder.file(name), mode: .readWrite)
            #expect(try Migrator().migrate(connection, now: 2).isEmpty)
        }
    }

    @Test func aNewFileCutOffBeforeItsSchemaIsMadeOnTheNextOpen() throws {
        // A kill after the switch to WAL and the bookkeeping table, before the schema's transaction
        // committed: the next open finds no migration recorded and no other table.
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
            try connection.execute("PRAGMA page_size = 16384; PRAGMA journal_mode = WAL;")
            try connection.execute(Migrator.createBookkeeping)
        }
        let spool = try Spool.open(SpoolConfiguration(path: path))
        #expect(try spool.statistics().schemaVersion == Migration.embedded.last!.id)
        try spool.append([
            SpoolRecord(id: "a", index: "lambda-function", eventTime: 1, document: Array(#"{"x":1}"#.utf8))
        ])
        #expect(try spool.statistics().rows == 1)
    }

    @Test func aFileWithTablesButNoBookkeepingIsMigratedOneByOne() throws {
        // Not a new file: the schema must not be run over tables that exist.
        let folder = try TemporaryFolder()
        let connection = try SQLiteConnection(path: folder.file("spool.sqlite"), mode: .readWriteCreate)
        try connection.execute("CREATE TABLE records (x)")
        let error = try #require(throws: SpoolError.self) { try Migrator().migrate(connection, now: 1) }
        #expect(error.code == .migrationFailed)
        #expect(error.message.contains("migration 1 (spool)"), "\(error.message)")
    }

    /// Every entry of `sqlite_master` with its SQL, then every row of every table, as text; an
    /// environment id as its shape (it is random).
    static func contents(_ connection: SQLiteConnection) throws -> [String] {
        var lines: [String] = ["user_version \(try connection.scalar("PRAGMA user_version") ?? -1)"]
        var tables: [String] = []
        let master = try connection.statement(
            "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY name")
        while try master.step() {
            lines.append(
                "\(master.string(at: 0)) \(master.string(at: 1)) on \(master.string(at: 2)): \(master.string(at: 3))")
            if master.string(at: 0) == "table" { tables.append(master.string(at: 1)) }
        }
        master.reset()
        for table in tables {
            let columns = try connection.statement("SELECT name FROM pragma_table_info(?) ORDER BY cid")
            columns.bind(table, at: 1)
            var names: [String] = []
            while try columns.step() { names.append(columns.string(at: 0)) }
            columns.reset()
            let rows = try connection.statement(
                "SELECT \(names.map { "quote(\($0))" }.joined(separator: " || ',' || ")) FROM \(table) ORDER BY 1")
            while try rows.step() {
                var row = rows.string(at: 0)
                if table == "meta", row.hasPrefix("'environment_id',") {
                    let value = row.dropFirst("'environment_id',".count)
                    let hex = value.count == 18 && value.dropFirst().dropLast().allSatisfy(\.isHexDigit)
                    row = "'environment_id'," + (hex ? "16 hex digits" : String(value))
                }
                lines.append("\(table): \(row)")
            }
            rows.reset()
        }
        return lines
    }

    @Test func freshSpoolRecordsEveryMigrationWithItsChecksum() throws {
        let folder = try TemporaryFolder()
        _ = try openSpool(folder)
        let connection = try SQLiteConnection(path: folder.file("spool.sqlite"), mode: .readOnly)
        let applied = try Migrator().applied(in: connection)
        #expect(applied.map(\.id) == Migration.embedded.map(\.id))
        #expect(applied.map(\.checksum) == Migration.embedded.map(\.checksum))
        #expect(try connection.scalar("PRAGMA user_version") == Int64(Migration.embedded.last!.id))
    }

    @Test func upgradesASpoolMadeWithOnlyTheFirstMigration() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
            try Migrator(migrations: [Migration.embedded[0]]).migrate(connection, now: 1)
            try connection.execute(
                """
                INSERT INTO records (doc_id, index_name, event_time, received_at, due_at, bytes, document)
                VALUES ('old-1', 'lambda-platform', 1, 1, 1, 2, '{}')
                """)
        }
        let spool = try Spool.open(SpoolConfiguration(path: path))
        let stats = try spool.statistics()
        #expect(stats.schemaVersion == Migration.embedded.last!.id)
        #expect(stats.rows == 1)
        #expect(try spool.peek().first?.id == "old-1")
        #expect(try spool.deadLetters().isEmpty, "the tables of later migrations exist")
    }

    /// Migration 0010 drops the unique index of every id: a spool of schema 9 keeps its waiting
    /// records as they were (attempts, errors, a summary that replaces), only keyed ids are unique
    /// after it, and events of the ids that wait are stored as given.
    @Test func aSpoolOfSchemaNineKeepsItsRecordsWithoutTheIndexOfEveryId() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let document = Array(#"{"type":"function","record":"x"}"#.utf8)
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
            try Migrator(migrations: Array(Migration.embedded.prefix(9))).migrate(connection, now: 1)
            try connection.execute(
                """
                INSERT INTO records (seq, doc_id, index_name, event_time, received_at, due_at, attempts, last_error, bytes, replaces)
                VALUES (1, 'old-1', 'logs', 1, 1, 1, 0, NULL, \(document.count), 0),
                       (2, 'old-2', 'logs', 2, 1, 5, 2, 'HTTP 503', \(document.count), 0),
                       (3, 'inv-1', 'inv', 3, 1, 1, 0, NULL, \(document.count), 1);
                UPDATE counters SET value = 3 WHERE name = 'last_seq';
                UPDATE totals SET rows = 3, bytes = \(3 * document.count);
                """)
            var run = DocumentRun.Writer(capacity: 0)
            for _ in 1...3 { run.append(document, echo: nil) }
            let insert = try connection.statement(
                "INSERT INTO documents_0 (first_seq, count, crc, body) VALUES (1, 3, NULL, ?)")
            try insert.step(bindingBlob: run.bytes, at: 1)
            insert.reset()
            #expect(
                try connection.scalar(
                    "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'records' AND type = 'index'") == 2)
        }
        let spool = try Spool.open(SpoolConfiguration(path: path))
        #expect(try spool.statistics().schemaVersion == 10)
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        #expect(
            try connection.scalar(
                "SELECT count(*) FROM sqlite_master WHERE tbl_name = 'records' AND sql LIKE '%UNIQUE%' AND sql NOT LIKE '%keyed%'"
            ) == 0, "no unique index of every id")
        // Retries first, as a lease hands them out.
        let waiting = try spool.peek(limit: 10)
        #expect(waiting.map(\.id) == ["old-2", "old-1", "inv-1"])
        #expect(waiting.map(\.attempts) == [2, 0, 0])
        #expect(waiting[0].lastError == "HTTP 503" && waiting[0].dueAt == 5)
        #expect(waiting.map(\.replaces) == [false, false, true])
        #expect(waiting.allSatisfy { $0.document == document })
        // The retried record is due by the retry index; the same event ids are stored as given.
        #expect(try spool.nextRetryDue() == 5)
        let again = try spool.append([SpoolRecord(id: "old-1", index: "logs", eventTime: 1, document: document)])
        #expect(again.stored == 1)
        let keyed = SpoolRecord(id: "inv-2", index: "inv", eventTime: 4, document: document, keyed: true)
        #expect(try spool.append([keyed]).stored == 1)
        #expect(try spool.append([keyed]).duplicates == 1)
        #expect(try spool.statistics().rows == 5)
    }

    @Test func refusesASpoolWrittenByANewerBinary() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
            let future = Migration(id: 99, name: "from_the_future", sql: "CREATE TABLE future (x)")
            try Migrator(migrations: Migration.embedded + [future]).migrate(connection, now: 1)
        }
        for access in [Spool.Access.owner, .maintenance, .readOnly] {
            let error = try #require(throws: SpoolError.self) {
                try Spool.open(SpoolConfiguration(path: path), access: access)
            }
            #expect(error.code == .schemaTooNew)
            #expect(error.message.contains("schema version 99"))
            #expect(error.message.contains("newer"))
        }
    }

    @Test func refusesAnEditedShippedMigration() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let connection = try SQLiteConnection(path: path, mode: .readWriteCreate)
            let original = Migration.embedded[0]
            let edited = Migration(id: original.id, name: original.name, sql: original.sql + "\n-- edited\n")
            try Migrator(migrations: [edited]).migrate(connection, now: 1)
        }
        let error = try #require(throws: SpoolError.self) { try Spool.open(SpoolConfiguration(path: path)) }
        #expect(error.code == .migrationEdited)
        #expect(error.message.contains("never be edited"))
    }

    @Test func aFailingMigrationLeavesTheSchemaAsItWas() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        _ = try Spool.open(SpoolConfiguration(path: path))
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        let broken = Migration(
            id: Migration.embedded.count + 1, name: "broken", sql: "CREATE TABLE half (x); SELECT nope FROM missing;")
        let error = try #require(throws: SpoolError.self) {
            try Migrator(migrations: Migration.embedded + [broken]).migrate(connection, now: 1)
        }
        #expect(error.code == .migrationFailed)
        #expect(try connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'half'") == 0)
        #expect(try Migrator().applied(in: connection).count == Migration.embedded.count)
    }
}
