/// JSON string literals written straight into a byte buffer: the one escaper every shipped module
/// uses (documents, `_bulk` actions, Extensions API bodies, the CLI's JSON output).
public enum JSONText {
    /// Appends `text` as a JSON string literal, quotes included, to `out`.
    @inlinable
    public static func appendString(_ text: String, to out: inout [UInt8]) {
        var text = text
        text.withUTF8 { appendString(bytes: $0, to: &out) }
    }

    /// Appends `value` in decimal digits to `out`, without a `String` in between.
    public static func appendInteger(_ value: Int64, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // up to 20 digits, last first
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            for index in stride(from: count - 1, through: 0, by: -1) { out.append(buffer[index]) }
        }
    }

    /// Appends UTF-8 text as a JSON string literal, quotes included, to `out`.
    @inlinable
    public static func appendString(utf8 text: some Sequence<UInt8>, to out: inout [UInt8]) {
        let done: Void? = text.withContiguousStorageIfAvailable { appendString(bytes: $0, to: &out) }
        if done == nil { Array(text).withUnsafeBufferPointer { appendString(bytes: $0, to: &out) } }
    }

    /// Appends UTF-8 bytes as a JSON string literal: the spans that need no escape are copied whole,
    /// found eight bytes at a time. A `_bulk` action's index and id went through a byte at a time
    /// before, at 2,400 instructions a call (callgrind); names and messages are mostly plain ASCII.
    @usableFromInline
    static func appendString(bytes: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        guard let base = bytes.baseAddress else {
            out.append(UInt8(ascii: "\""))
            return
        }
        let count = bytes.count
        var start = 0
        var position = 0
        while position < count {
            while position + 8 <= count,
                !needsEscaping(UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            {
                position += 8
            }
            while position < count, !needsEscaping(base[position]) { position += 1 }
            guard position < count else { break }
            out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: position - start))
            appendEscape(of: base[position], to: &out)
            position += 1
            start = position
        }
        out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: count - start))
        out.append(UInt8(ascii: "\""))
    }

    /// Whether a byte must be escaped in a JSON string: a quote, a backslash or a control character.
    @inlinable
    static func needsEscaping(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }

    /// Whether at least one of the eight bytes of `word` must be escaped; false only when none is.
    @inlinable
    static func needsEscaping(_ word: UInt64) -> Bool {
        escapeMarks(word) & 0x8080_8080_8080_8080 != 0
    }

    /// `word` with the high bit of each byte that must be escaped set (and perhaps of a byte above
    /// one that must: a borrow only reaches past a byte that matched). A byte of `x` is zero exactly
    /// when `(x - ones) & ~x` has its high bit, and below 0x20 likewise for `(x - 0x20 * ones) & ~x`.
    @inlinable
    static func escapeMarks(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let quotes = word ^ (ones &* 0x22)
        let backslashes = word ^ (ones &* 0x5C)
        return ((quotes &- ones) & ~quotes) | ((backslashes &- ones) & ~backslashes) | ((word &- ones &* 0x20) & ~word)
    }

    /// Appends the escape of one byte that `needsEscaping`.
    @usableFromInline
    static func appendEscape(of byte: UInt8, to out: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
        case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
        case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
        case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
        case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
        default:
            out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")]
            out += [Hex.digit(byte >> 4), Hex.digit(byte & 0xF)]
        }
    }

    /// `text` as a JSON string token, quotes included.
    public static func stringToken(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + 2)
        appendString(text, to: &out)
        return out
    }

    /// `text` as a JSON string literal, quotes included.
    public static func quoted(_ text: String) -> String {
        String(decoding: stringToken(text), as: UTF8.self)
    }
}
