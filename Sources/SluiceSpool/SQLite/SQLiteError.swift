import CSQLite

/// A failed SQLite call: the primary and extended result codes, SQLite's message, and the SQL.
package struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_FULL`, `SQLITE_CORRUPT`, …).
    package let code: Int32
    /// The extended result code (`SQLITE_IOERR_WRITE`, `SQLITE_CONSTRAINT_UNIQUE`, …).
    package let extendedCode: Int32
    /// SQLite's own message for the failure.
    package let message: String
    /// The statement that failed, when there was one.
    package let sql: String?

    init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.code = extendedCode & 0xFF
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    init(connection: OpaquePointer?, sql: String? = nil) {
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? SQLITE_ERROR
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "unknown error"
        self.init(extendedCode: extended, message: message, sql: sql)
    }

    /// The database file is not a database, or its pages are damaged. A damaged header's schema
    /// format number reads as a plain error, "unsupported file format": every spool is written by this
    /// SQLite, so that is damage too.
    package var isCorruption: Bool {
        code == SQLITE_CORRUPT || code == SQLITE_NOTADB
            || (code == SQLITE_ERROR && message.hasPrefix("unsupported file format"))
    }
    /// The disk, or the file's page limit, is full.
    package var isFull: Bool { code == SQLITE_FULL }

    package var description: String {
        "SQLite \(code)/\(extendedCode): \(message)"
    }
}
