import Foundation
import SluiceTestSupport
import Testing

@testable import SluiceSpool

@Suite struct MigrationTests {
    @Test func embeddedMigrationsEqualTheFilesInTheRepository() throws {
        let folder = packageRoot.appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files.count == Migration.embedded.count)
        for (file, migration) in zip(files, Migration.embedded) {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            #expect(file == String(format: "%04d_%@.sql", migration.id, migration.name))
            #expect(text == migration.sql, "\(file) differs from the copy embedded in the binary")
        }
        #expect(Migration.embedded.map(\.id) == Array(1...Migration.embedded.count), "ids are 1, 2, 3, … in order")
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
