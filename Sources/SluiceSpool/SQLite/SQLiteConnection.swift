import CSQLite

/// One SQLite connection with its prepared statements cached by SQL text.
///
/// Not thread-safe: its owner (the `Spool`) uses it only under its lock, which is what makes the
/// unchecked `Sendable` sound.
package final class SQLiteConnection: @unchecked Sendable {
    let handle: OpaquePointer
    /// The file this connection opened.
    package let path: String
    private var statements: [String: SQLiteStatement] = [:]

    /// How the file is opened.
    package enum Mode: Sendable {
        /// Read and write; create the file when it is missing.
        case readWriteCreate
        /// Read and write an existing file.
        case readWrite
        /// Never write: for inspection while another process owns the file.
        case readOnly
        /// Never write, and take the file as unchanging (SQLite's `immutable`: no locks, no -shm):
        /// for a copy in a folder this process cannot write, that nothing else writes either.
        case immutable
    }

    package init(path: String, mode: Mode) throws {
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .immutable: flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
        }
        var handle: OpaquePointer?
        let name = mode == .immutable ? "file:\(Self.uriEscaped(path))?immutable=1" : path
        let rc = sqlite3_open_v2(name, &handle, flags, nil)
        guard rc == SQLITE_OK, let handle else {
            let error = SQLiteError(connection: handle)
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
    }

    /// A path as the path of a `file:` URI: `%`, `?` and `#` (and anything outside printable
    /// ASCII) percent-encoded.
    static func uriEscaped(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "?")
                && byte != UInt8(ascii: "#")
            {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows (pragmas, DDL, migrations).
    package func execute(_ sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        guard rc == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(message)
            throw SQLiteError(extendedCode: sqlite3_extended_errcode(handle), message: text, sql: sql)
        }
    }

    /// The prepared statement for `sql`, reset and ready to bind; prepared once per connection.
    package func statement(_ sql: String) throws -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        let statement = try SQLiteStatement(connection: self, sql: sql, persistent: true)
        statements[sql] = statement
        return statement
    }

    /// Runs `sql` with `bindings` and returns the first column of the first row, if any.
    package func scalar(_ sql: String, _ bindings: Int64...) throws -> Int64? {
        let statement = try statement(sql)
        for (offset, value) in bindings.enumerated() { statement.bind(value, at: Int32(offset + 1)) }
        defer { statement.reset() }
        guard try statement.step(), !statement.isNull(at: 0) else { return nil }
        return statement.int64(at: 0)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE … COMMIT`; any error rolls back and is rethrown.
    package func transaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // After SQLITE_FULL and some I/O errors SQLite has already rolled back; that is fine.
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Gives back the page cache's memory that no transaction holds (SQLite's
    /// `sqlite3_db_release_memory`).
    package func releaseMemory() {
        sqlite3_db_release_memory(handle)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    package var changes: Int { Int(sqlite3_changes64(handle)) }

    /// The rowid of the last successful INSERT.
    package var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}
