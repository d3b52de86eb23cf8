#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a JSON text breaks the grammar: one line and the byte offset.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// Byte offset in the text where the problem was found.
    public let offset: Int

    @inlinable
    public init(message: String, offset: Int) {
        self.message = message
        self.offset = offset
    }

    public var description: String { "\(message) (at byte \(offset))" }
}

/// A strict JSON (RFC 8259) validator that walks a buffer once and reports where values are,
/// without building a tree: a delivery's records are copied into documents as the bytes they came
/// in, so the only work per byte is checking it.
public struct JSONScanner: ~Copyable {
    /// What a value is, from its first byte.
    public enum Kind: Sendable, Equatable {
        case object, array, string, number, literal
    }

    /// Deeper nesting is refused rather than recursed into.
    public static let maxDepth = 256

    public let bytes: UnsafeBufferPointer<UInt8>
    public var position = 0
    /// Set when insignificant whitespace was skipped since the last reset: a value without any can
    /// be copied as it is, one with some is copied compacted (NDJSON allows no newline in a document).
    public var sawWhitespace = false

    @inlinable
    public init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    @inlinable
    public var atEnd: Bool { position >= bytes.count }

    @inlinable
    public func failure(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, offset: position)
    }

    @inlinable
    public mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D:
                sawWhitespace = true
                position += 1
            default: return
            }
        }
    }

    /// Skips whitespace and consumes `byte`, or throws `expected`.
    @inlinable
    public mutating func expect(_ byte: UInt8, _ expected: @autoclosure () -> String) throws(JSONSyntaxError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { throw failure("expected \(expected())") }
        position += 1
    }

    /// Calls `visit` with the name token and the value of each member of the object at `range`
    /// in `bytes`, in order, until it returns true; nothing when `range` is not an object. For an
    /// object already validated: the values are stepped over, not checked again (a platform
    /// report's record was checked once by the delivery's scan, then again at each lookup). A
    /// walk over text that is not valid JSON stays inside the buffer and ends, its values' ranges
    /// unspecified.
    public static func forEachMember(
        of range: Range<Int>, in bytes: UnsafeBufferPointer<UInt8>,
        _ visit: (_ name: Range<Int>, _ value: (kind: Kind, range: Range<Int>)) -> Bool
    ) {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "{") else { return }
        var scanner = JSONScanner(bytes)
        scanner.position = range.lowerBound + 1
        guard !scanner.take(UInt8(ascii: "}")) else { return }
        do {
            repeat {
                scanner.skipWhitespace()
                let nameStart = scanner.position
                try scanner.string()
                let name = nameStart..<scanner.position
                try scanner.expect(UInt8(ascii: ":"), "':'")
                guard let value = scanner.skipValidated(), !visit(name, value) else { return }
            } while scanner.take(UInt8(ascii: ","))
        } catch {
            return
        }
    }

    /// Steps over the value at `position` of text a scanner has validated, checking nothing: a
    /// string to its closing quote, an object or array to its closing bracket (the strings in it
    /// stepped over whole), a number or literal to the byte after it. Its kind and range; nil at
    /// the end of the text, or for an object or array the text ends in.
    @usableFromInline
    mutating func skipValidated() -> (kind: Kind, range: Range<Int>)? {
        skipWhitespace()
        guard position < bytes.count else { return nil }
        let start = position
        switch bytes[position] {
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let kind: Kind = bytes[position] == UInt8(ascii: "{") ? .object : .array
            var depth = 0
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "\""):
                    skipValidatedString()
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        position += 1
                        return (kind, start..<position)
                    }
                default:
                    break
                }
                position += 1
            }
            return nil
        case UInt8(ascii: "\""):
            skipValidatedString()
            return (.string, start..<position)
        case let first:
            let kind: Kind = first == UInt8(ascii: "-") || Self.isDigit(first) ? .number : .literal
            while position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D:
                    return (kind, start..<position)
                default:
                    position += 1
                }
            }
            return (kind, start..<position)
        }
    }

    /// Steps over the string token at `position` (its opening quote) of validated text: to the
    /// next quote (`memchr`) that an even number of backslashes precedes; to the end of the text
    /// when it has no end.
    @usableFromInline
    mutating func skipValidatedString() {
        let inside = position + 1
        var at = inside
        while at < bytes.count {
            let quote = Self.next(UInt8(ascii: "\""), in: bytes, from: at, before: bytes.count)
            guard quote < bytes.count else { break }
            var backslashes = 0
            while quote - backslashes > inside && bytes[quote - backslashes - 1] == UInt8(ascii: "\\") {
                backslashes += 1
            }
            if backslashes % 2 == 0 {
                position = quote + 1
                return
            }
            at = quote + 1
        }
        position = bytes.count
    }

    /// Where the next `byte` is in `start..<end` of `bytes`, or `end`: found by `memchr`, which
    /// skips plain text many bytes at a time.
    static func next(_ byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int) -> Int {
        guard start < end, let base = bytes.baseAddress, let found = memchr(base + start, Int32(byte), end - start)
        else { return end }
        return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
    }

    /// Skips whitespace and consumes `byte` if it is next.
    @inlinable
    public mutating func take(_ byte: UInt8) -> Bool {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Validates the next value; returns its kind and its range (whitespace around it excluded).
    @inlinable
    public mutating func value(depth: Int = 0) throws(JSONSyntaxError) -> (kind: Kind, range: Range<Int>) {
        skipWhitespace()
        guard position < bytes.count else { throw failure("unexpected end of JSON") }
        let start = position
        let kind: Kind
        switch bytes[position] {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw failure("JSON nested deeper than \(Self.maxDepth)") }
            kind = .object
            position += 1
            if !take(UInt8(ascii: "}")) {
                repeat {
                    skipWhitespace()
                    try string()
                    try expect(UInt8(ascii: ":"), "':' after an object key")
                    _ = try value(depth: depth + 1)
                } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "}"), "',' or '}' in an object")
            }
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw failure("JSON nested deeper than \(Self.maxDepth)") }
            kind = .array
            position += 1
            if !take(UInt8(ascii: "]")) {
                repeat {
                    _ = try value(depth: depth + 1)
                } while take(UInt8(ascii: ","))
                try expect(UInt8(ascii: "]"), "',' or ']' in an array")
            }
        case UInt8(ascii: "\""):
            kind = .string
            try string()
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            kind = .number
            try number()
        case UInt8(ascii: "t"):
            kind = .literal
            try literal("true")
        case UInt8(ascii: "f"):
            kind = .literal
            try literal("false")
        case UInt8(ascii: "n"):
            kind = .literal
            try literal("null")
        default:
            throw failure("unexpected character '\(Self.printable(bytes[position]))'")
        }
        return (kind, start..<position)
    }

    /// Validates a string token at `position` (which must be a quote), escapes and UTF-8 included.
    @inlinable
    public mutating func string() throws(JSONSyntaxError) {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw failure("expected a string") }
        // The cursor is a local, written back to `position` where the scan stops (an error's offset
        // included): kept in the struct, it was stored to memory at every step of the word loop.
        let base = bytes.baseAddress!
        let count = bytes.count
        var at = position + 1
        while at < count {
            // Eight bytes at a time while none needs a look: a log line is mostly plain ASCII.
            while at + 8 <= count, !Self.needsALook(UnsafeRawPointer(base + at).loadUnaligned(as: UInt64.self)) {
                at += 8
            }
            guard at < count else { break }
            switch base[at] {
            case UInt8(ascii: "\""):
                position = at + 1
                return
            case UInt8(ascii: "\\"):
                at += 1
                guard at < count else { break }
                switch base[at] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    at += 1
                case UInt8(ascii: "u"):
                    guard at + 4 < count, (1...4).allSatisfy({ Self.isHexDigit(base[at + $0]) }) else {
                        position = at
                        throw failure("a \\u escape needs four hex digits")
                    }
                    at += 5
                default:
                    position = at
                    throw failure("invalid escape '\\\(Self.printable(base[at]))' in a string")
                }
            case 0..<0x20:
                position = at
                throw failure("unescaped control character in a string")
            case 0..<0x80:
                at += 1
            default:
                position = at
                try utf8Sequence()
                at = position
            }
        }
        position = at
        throw failure("unterminated string")
    }

    /// Whether at least one of the eight bytes of `word` is a quote, a backslash, a control
    /// character or not ASCII; false only when none is.
    @inlinable
    static func needsALook(_ word: UInt64) -> Bool {
        (JSONText.escapeMarks(word) | word) & 0x8080_8080_8080_8080 != 0
    }

    /// Validates one multi-byte UTF-8 sequence (no overlongs, no surrogates, at most U+10FFFF).
    @inlinable
    mutating func utf8Sequence() throws(JSONSyntaxError) {
        let lead = bytes[position]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: throw failure("invalid UTF-8 in a string")
        }
        guard position + length <= bytes.count else { throw failure("invalid UTF-8 in a string") }
        let second = bytes[position + 1]
        guard second >= low && second <= high else { throw failure("invalid UTF-8 in a string") }
        for offset in 2..<max(2, length) where bytes[position + offset] & 0xC0 != 0x80 {
            throw failure("invalid UTF-8 in a string")
        }
        position += length
    }

    @inlinable
    mutating func number() throws(JSONSyntaxError) {
        if bytes[position] == UInt8(ascii: "-") { position += 1 }
        guard position < bytes.count, Self.isDigit(bytes[position]) else { throw failure("invalid number") }
        if bytes[position] == UInt8(ascii: "0") {
            position += 1
        } else {
            while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard position < bytes.count, Self.isDigit(bytes[position]) else { throw failure("invalid number") }
            while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
        }
        if position < bytes.count, bytes[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") {
                position += 1
            }
            guard position < bytes.count, Self.isDigit(bytes[position]) else { throw failure("invalid number") }
            while position < bytes.count, Self.isDigit(bytes[position]) { position += 1 }
        }
    }

    @inlinable
    mutating func literal(_ word: StaticString) throws(JSONSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { throw failure("invalid literal") }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] {
            throw failure("invalid literal")
        }
        position += count
    }

    /// Whether the string token at `range` equals `key` byte for byte (keys Lambda sends are plain ASCII).
    @inlinable
    public func token(_ range: Range<Int>, is key: StaticString) -> Bool {
        let count = key.utf8CodeUnitCount
        guard range.count == count + 2 else { return false }
        for offset in 0..<count where bytes[range.lowerBound + 1 + offset] != key.utf8Start[offset] {
            return false
        }
        return true
    }

    @inlinable
    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    @inlinable
    static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "f"))
    }

    @inlinable
    public static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    /// Appends the JSON text at `range` of `bytes` to `out` without insignificant whitespace.
    @inlinable
    public static func appendCompacted(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, to out: inout [UInt8])
    {
        var inString = false
        var escaped = false
        for index in range {
            let byte = bytes[index]
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                out.append(byte)
            } else {
                switch byte {
                case 0x20, 0x09, 0x0A, 0x0D: continue
                case UInt8(ascii: "\""):
                    inString = true
                    out.append(byte)
                default: out.append(byte)
                }
            }
        }
    }
}
