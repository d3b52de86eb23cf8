/// An error from the spool: what went wrong, what to do about it, and the SQLite failure behind it.
public struct SpoolError: Error, CustomStringConvertible, Sendable {
    /// A stable kind of failure, fit for a counter label or a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case diskFull = "disk_full"
            case corrupt
            case notFound = "not_found"
            case schemaTooNew = "schema_too_new"
            case migrationEdited = "migration_edited"
            case migrationFailed = "migration_failed"
            case cannotOpen = "cannot_open"
            case readOnly = "read_only"
            case notASpool = "not_a_spool"
            case busy
            case sqlite
        }
        private let kind: Kind

        /// The disk or the spool's file size limit is full; nothing of the failed call was written.
        public static let diskFull = Code(kind: .diskFull)
        /// The file is not a SQLite database or its pages are damaged.
        public static let corrupt = Code(kind: .corrupt)
        /// No spool exists at the path.
        public static let notFound = Code(kind: .notFound)
        /// The file was written by a newer Sluice whose schema this binary does not know.
        public static let schemaTooNew = Code(kind: .schemaTooNew)
        /// A migration recorded in the file differs from the one this binary carries.
        public static let migrationEdited = Code(kind: .migrationEdited)
        /// A migration failed to apply; the file keeps the schema it had.
        public static let migrationFailed = Code(kind: .migrationFailed)
        /// The folder or the file could not be created or opened.
        public static let cannotOpen = Code(kind: .cannotOpen)
        /// The spool was opened read-only and the call needs to write.
        public static let readOnly = Code(kind: .readOnly)
        /// The file is a SQLite database (or empty) without a spool's tables.
        public static let notASpool = Code(kind: .notASpool)
        /// Another process held the spool's write lock for longer than the wait.
        public static let busy = Code(kind: .busy)
        /// Any other SQLite failure.
        public static let sqlite = Code(kind: .sqlite)

        public var description: String { kind.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// One line that says what went wrong and what to do.
    public let message: String
    /// SQLite's primary and extended result codes, when SQLite reported the failure.
    public let sqliteCode: Int32?
    public let sqliteExtendedCode: Int32?
    /// Where the error was raised.
    public let location: String

    init(
        _ code: Code, _ message: String, sqlite: SQLiteError? = nil,
        file: StaticString = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.sqliteCode = sqlite?.code
        self.sqliteExtendedCode = sqlite?.extendedCode
        self.location = "\(file):\(line)"
    }

    /// Wraps a SQLite failure, classifying full disks and corruption.
    static func wrapping(
        _ error: any Error, doing action: String, path: String,
        file: StaticString = #fileID, line: UInt = #line
    ) -> SpoolError {
        if let spoolError = error as? SpoolError { return spoolError }
        guard let sqlite = error as? SQLiteError else {
            return SpoolError(.sqlite, "\(action) failed on \(path): \(error)", file: file, line: line)
        }
        if sqlite.isFull {
            return SpoolError(
                .diskFull,
                "\(action) failed: the spool at \(path) is full (disk or SLUICE_SPOOL_MAX_FILE_BYTES); "
                    + "nothing of this call was written. Free space in /tmp or raise the limit",
                sqlite: sqlite, file: file, line: line)
        }
        if sqlite.isCorruption {
            return SpoolError(
                .corrupt, "\(action) failed: the spool at \(path) is damaged (\(sqlite.message))",
                sqlite: sqlite, file: file, line: line)
        }
        if sqlite.code == 5 /* SQLITE_BUSY */ {
            return SpoolError(
                .busy,
                "\(action) failed: another process held the spool at \(path) for longer than the wait "
                    + "(the extension, while it writes); try again",
                sqlite: sqlite, file: file, line: line)
        }
        if sqlite.code == 8 /* SQLITE_READONLY */ {
            return SpoolError(
                .readOnly, "\(action) failed: the spool at \(path) is open read-only or not writable",
                sqlite: sqlite, file: file, line: line)
        }
        return SpoolError(.sqlite, "\(action) failed on \(path): \(sqlite)", sqlite: sqlite, file: file, line: line)
    }

    public var description: String { message }
}
