import CSQLite

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A prepared statement with typed binds and reads. Indices are 1-based for binds (as in SQLite's
/// C API) and 0-based for columns.
package final class SQLiteStatement {
    let handle: OpaquePointer
    let sql: String
    private unowned let connection: SQLiteConnection

    init(connection: SQLiteConnection, sql: String, persistent: Bool) throws {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(connection.handle, sql, -1, flags, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw SQLiteError(connection: connection.handle, sql: sql)
        }
        self.handle = statement
        self.sql = sql
        self.connection = connection
    }

    deinit { sqlite3_finalize(handle) }

    /// Rewinds, ready for the next execution. Bindings stay: every caller binds every parameter.
    package func reset() {
        sqlite3_reset(handle)
    }

    package func bind(_ value: Int64, at index: Int32) {
        sqlite3_bind_int64(handle, index, value)
    }

    package func bind(_ value: Int, at index: Int32) {
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    package func bind(_ value: Int?, at index: Int32) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        sqlite3_bind_int64(handle, index, Int64(value))
    }

    package func bind(_ value: String?, at index: Int32) {
        guard let value else {
            sqlite3_bind_null(handle, index)
            return
        }
        var text = value
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(
                handle, index, bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) },
                Int32(bytes.count), csqlite_transient())
        }
    }

    /// Binds UTF-8 bytes as TEXT.
    package func bindText(_ bytes: [UInt8], at index: Int32) {
        bytes.withUnsafeBufferPointer { buffer in
            _ = sqlite3_bind_text(
                handle, index,
                UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                    .assumingMemoryBound(to: CChar.self),
                Int32(buffer.count), csqlite_transient())
        }
    }

    /// Binds `bytes` as TEXT at `index` without SQLite copying them, and runs one step (a write):
    /// the bytes stay valid while it runs, and no later step reads them, since every caller binds
    /// all its parameters before a step.
    package func step(bindingText bytes: [UInt8], at index: Int32) throws {
        try bytes.withUnsafeBufferPointer { buffer in
            _ = sqlite3_bind_text(
                handle, index,
                UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                    .assumingMemoryBound(to: CChar.self),
                Int32(buffer.count), nil)
            try step()
        }
    }

    /// Binds `bytes` as a BLOB at `index` without SQLite copying them, and runs one step (a write),
    /// as `step(bindingText:at:)` does.
    package func step(bindingBlob bytes: [UInt8], at index: Int32) throws {
        try bytes.withUnsafeBufferPointer { buffer in
            _ = sqlite3_bind_blob(
                handle, index, UnsafeRawPointer(buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!),
                Int32(buffer.count), nil)
            try step()
        }
    }

    /// Runs one step: true when a row is ready to read, false when the statement is done.
    @discardableResult
    package func step() throws -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(connection: connection.handle, sql: sql)
        }
    }

    package func int64(at column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    package func int(at column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    package func isNull(at column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    package func string(at column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// The column's text, or `previous` itself when it is the same text: rows that repeat a value
    /// (a batch's index names) share one string instead of allocating one each.
    package func string(at column: Int32, reusing previous: String) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let bytes = UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column)))
        // Compared with memcmp: `elementsEqual` went a byte at a time through its generic iterator.
        let same =
            previous.utf8.withContiguousStorageIfAvailable { stored in
                stored.count == bytes.count
                    && (bytes.isEmpty || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
            } ?? false
        return same ? previous : String(decoding: bytes, as: UTF8.self)
    }

    package func optionalString(at column: Int32) -> String? {
        isNull(at: column) ? nil : string(at: column)
    }

    /// The column's bytes (TEXT as UTF-8, or BLOB), valid only inside `body`: SQLite's own buffer,
    /// no copy.
    package func withBytes<R>(at column: Int32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        // SQLite's documented order: the pointer first, then its length.
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        return body(UnsafeRawBufferPointer(start: count > 0 ? pointer : nil, count: max(0, count)))
    }

    /// The column's bytes (TEXT as UTF-8, or BLOB).
    package func bytes(at column: Int32) -> [UInt8] {
        // SQLite's documented order: the pointer first, then its length.
        let pointer = sqlite3_column_blob(handle, column)
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
