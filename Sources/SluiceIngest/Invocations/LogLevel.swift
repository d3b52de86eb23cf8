/// The severity of a log line, from a JSON record's `level` or the token a managed runtime writes
/// into a text line.
public enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case trace, debug, info, warn, error, fatal

    public static func < (left: LogLevel, right: LogLevel) -> Bool { left.rawValue < right.rawValue }

    /// ERROR or FATAL.
    public var isError: Bool { self >= .error }

    /// The level's name as `SLUICE_MIN_LEVEL` takes it: `TRACE` … `FATAL`.
    public var name: String {
        switch self {
        case .trace: "TRACE"
        case .debug: "DEBUG"
        case .info: "INFO"
        case .warn: "WARN"
        case .error: "ERROR"
        case .fatal: "FATAL"
        }
    }

    /// The level a `level` field or token names, case-insensitively (`WARNING` is `warn`,
    /// `CRITICAL` is `fatal`); nil for anything else.
    public init?(name: some Collection<UInt8>) {
        guard name.count >= 4, name.count <= 8 else { return nil }
        // The name upper-cased into one word, compared with the known names' words: this runs for
        // every text line, and an array and a `String` for it took most of 2,000 instructions.
        var word: UInt64 = 0
        for byte in name {
            word = word << 8 | UInt64(byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte)
        }
        let count = name.count
        guard let level = Self.names.first(where: { $0.word == word && $0.count == count })?.level else { return nil }
        self = level
    }

    /// The names `init(name:)` knows, each as the word and length it compares (a zero byte before
    /// a name would leave the word alone).
    private static let names: [(word: UInt64, count: Int, level: LogLevel)] = [
        ("TRACE", .trace), ("DEBUG", .debug), ("INFO", .info), ("WARN", .warn), ("WARNING", .warn),
        ("ERROR", .error), ("FATAL", .fatal), ("CRITICAL", .fatal),
    ].map { name, level in (name.utf8.reduce(0) { $0 << 8 | UInt64($1) }, name.utf8.count, level) }

    /// The request id a managed runtime writes into a text line, given as its JSON string token:
    /// Node.js's (and .NET's) `<time>\t<request id>\tLEVEL\t…` and Python's
    /// `[LEVEL]\t<time>\t<request id>\t…`, a UUID in its field. nil for any other line.
    public static func requestIdInTextToken(_ token: ArraySlice<UInt8>) -> String? {
        // Read through a buffer pointer: this runs for every text line (1,600 instructions a line
        // through the slice's checked subscripts).
        token.withUnsafeBufferPointer { token in
            guard token.count > 40 else { return nil }
            let start = 1
            let end = token.count - 1
            // The field the id is in: the second after a time, the third after Python's `[LEVEL]`.
            let wanted = token[start] == UInt8(ascii: "[") ? 2 : 1
            var field = 0
            var index = start
            while index + 1 < end, index - start < 80 {
                if token[index] == UInt8(ascii: "\\") && token[index + 1] == UInt8(ascii: "t") {
                    field += 1
                    index += 2
                    if field == wanted {
                        let id = index..<(index + 36)
                        guard id.upperBound + 1 < end, token[id.upperBound] == UInt8(ascii: "\\"),
                            token[id.upperBound + 1] == UInt8(ascii: "t"),
                            isUUID(UnsafeBufferPointer(rebasing: token[id]))
                        else { return nil }
                        return String(decoding: UnsafeBufferPointer(rebasing: token[id]), as: UTF8.self)
                    }
                    continue
                }
                // A time has no space in it; a tab comes before 40 bytes of one.
                if field == 0 && wanted == 1 && (token[index] == UInt8(ascii: " ") || index - start > 40) { return nil }
                index += 1
            }
            return nil
        }
    }

    /// `8-4-4-4-12` hex digits.
    private static func isUUID(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        for (offset, byte) in bytes.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                guard (byte &- 48 < 10) || ((byte | 0x20) &- 97 < 6) else { return false }
            }
        }
        return true
    }

    /// The level of a text line given as its JSON string token (quotes and escapes as sent), where
    /// the managed runtimes put it: Python's `[LEVEL]\t…` at the start, Node.js's (and .NET's)
    /// `<time>\t<request id>\tLEVEL\t…` in the third tab-separated field. nil when there is none.
    public static func inTextToken(_ token: ArraySlice<UInt8>) -> LogLevel? {
        token.withUnsafeBufferPointer { token in
            guard token.count > 2 else { return nil }
            let start = 1
            let end = token.count - 1
            // Python: "[ERROR]\t..."
            if token[start] == UInt8(ascii: "[") {
                var index = start + 1
                while index < end, index - start <= 9, token[index] != UInt8(ascii: "]") { index += 1 }
                if index < end, token[index] == UInt8(ascii: "]") {
                    return LogLevel(name: UnsafeBufferPointer(rebasing: token[(start + 1)..<index]))
                }
                return nil
            }
            // Node.js: "<time>\t<request id>\tLEVEL\t..." where a tab is the two bytes `\t`.
            var field = 0
            var fieldStart = start
            var index = start
            // The first two fields are a time and a request id: well under 100 bytes together.
            while index + 1 < end, index - start < 120 {
                if token[index] == UInt8(ascii: "\\") && token[index + 1] == UInt8(ascii: "t") {
                    if field == 2 { return LogLevel(name: UnsafeBufferPointer(rebasing: token[fieldStart..<index])) }
                    field += 1
                    index += 2
                    fieldStart = index
                    continue
                }
                index += 1
            }
            return nil
        }
    }
}
