#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reads values out of JSON text that a `JSONScanner` has already validated: the members of an
/// object, a string token's text, a number. Nothing is built but what is asked for, so a caller
/// pays only for the few fields it wants.
public struct JSONReader {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// A value: what it is and where it is.
    public struct Value: Sendable, Equatable {
        public let kind: JSONScanner.Kind
        public let range: Range<Int>
    }

    /// Reads `bytes` as one whole JSON text (whitespace around its value allowed): the reader and
    /// the value, or nil when the text is not valid JSON. For the small answers of an API, of
    /// which the caller wants a few members.
    public static func document(_ bytes: [UInt8]) -> (reader: JSONReader, root: Value)? {
        let root: Value? = bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            guard let value = try? scanner.value() else { return nil }
            scanner.skipWhitespace()
            return scanner.atEnd ? Value(kind: value.kind, range: value.range) : nil
        }
        return root.map { (JSONReader(bytes), $0) }
    }

    /// The text of string member `key` of the object `value`; nil when there is no such member,
    /// it is not a string, or `value` is not an object.
    public func string(_ key: String, of value: Value?) -> String? {
        guard let value, value.kind == .object else { return nil }
        return string(member(key, of: value.range))
    }

    /// Member `key` of the object `value`; nil when there is none or `value` is not an object.
    public func member(_ key: String, of value: Value?) -> Value? {
        guard let value, value.kind == .object else { return nil }
        return member(key, of: value.range)
    }

    /// The members of the object at `range`, in order. Empty when `range` is not an object.
    public func members(of range: Range<Int>) -> [(key: String, value: Value)] {
        bytes.withUnsafeBufferPointer { buffer in
            var out: [(key: String, value: Value)] = []
            JSONScanner.forEachMember(of: range, in: buffer) { name, value in
                out.append((Self.decodeString(buffer, name) ?? "", Value(kind: value.kind, range: value.range)))
                return false
            }
            return out
        }
    }

    /// The value of member `key` of the object at `range`: the first of that name, each name
    /// compared where it lies (decoded only when it holds an escape). A platform report's few
    /// lookups used to decode every name of the record into a `String`, 9,000 instructions each.
    public func member(_ key: String, of range: Range<Int>) -> Value? {
        var key = key
        return key.withUTF8 { wanted in
            bytes.withUnsafeBufferPointer { buffer in
                var found: Value?
                JSONScanner.forEachMember(of: range, in: buffer) { name, value in
                    guard Self.token(buffer, name, is: wanted) else { return false }
                    found = Value(kind: value.kind, range: value.range)
                    return true
                }
                return found
            }
        }
    }

    /// The values of the members named `keys` of the object `value`, in the order of `keys`: the
    /// first member of each name, nil for a name with none (all nil when `value` is not an object).
    /// One walk over the object, where each `member` call walks it from its start: a platform
    /// report's ten lookups walked its record ten times (64,000 instructions a report).
    public func members(_ keys: [String], of value: Value?) -> [Value?] {
        guard let value, value.kind == .object else { return Array(repeating: nil, count: keys.count) }
        return members(keys, of: value.range)
    }

    /// `members(_:of:)` of the object at `range`.
    public func members(_ keys: [String], of range: Range<Int>) -> [Value?] {
        var found = [Value?](repeating: nil, count: keys.count)
        var missing = keys.count
        bytes.withUnsafeBufferPointer { buffer in
            JSONScanner.forEachMember(of: range, in: buffer) { name, value in
                for index in keys.indices where found[index] == nil {
                    var key = keys[index]
                    guard key.withUTF8({ Self.token(buffer, name, is: $0) }) else { continue }
                    found[index] = Value(kind: value.kind, range: value.range)
                    missing -= 1
                }
                return missing == 0
            }
        }
        return found
    }

    /// Whether the string token at `range` (quotes included) has the text `wanted`.
    static func token(
        _ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, is wanted: UnsafeBufferPointer<UInt8>
    )
        -> Bool
    {
        let inner = UnsafeBufferPointer(rebasing: buffer[(range.lowerBound + 1)..<(range.upperBound - 1)])
        guard inner.contains(UInt8(ascii: "\\")) else {
            return inner.count == wanted.count
                && (wanted.isEmpty || memcmp(inner.baseAddress!, wanted.baseAddress!, wanted.count) == 0)
        }
        return decodeString(buffer, range).map { Array($0.utf8).elementsEqual(wanted) } ?? false
    }

    /// The elements of the array at `range`, in order. Empty when `range` is not an array.
    public func elements(of range: Range<Int>) -> [Value] {
        guard range.count >= 2, bytes[range.lowerBound] == UInt8(ascii: "[") else { return [] }
        return bytes.withUnsafeBufferPointer { buffer in
            var scanner = JSONScanner(buffer)
            scanner.position = range.lowerBound + 1
            var out: [Value] = []
            guard !scanner.take(UInt8(ascii: "]")) else { return out }
            do {
                repeat {
                    let value = try scanner.value(depth: 1)
                    out.append(Value(kind: value.kind, range: value.range))
                } while scanner.take(UInt8(ascii: ","))
            } catch {
                return out
            }
            return out
        }
    }

    /// The text of a string value; nil for any other kind.
    public func string(_ value: Value?) -> String? {
        guard let value, value.kind == .string else { return nil }
        return bytes.withUnsafeBufferPointer { Self.decodeString($0, value.range) }
    }

    /// The text of the string token at `range` (quotes included).
    public func text(_ range: Range<Int>) -> String {
        bytes.withUnsafeBufferPointer { Self.decodeString($0, range) } ?? ""
    }

    /// A number value as a `Double` (integers and fractions alike); nil for any other kind.
    public func number(_ value: Value?) -> Double? {
        guard let value, value.kind == .number else { return nil }
        return Double(String(decoding: bytes[value.range], as: UTF8.self))
    }

    /// Follows `path` through nested objects from the object at `range`.
    public func value(at path: [String], in range: Range<Int>) -> Value? {
        var current = Value(kind: .object, range: range)
        for key in path {
            guard current.kind == .object, let next = member(key, of: current.range) else { return nil }
            current = next
        }
        return current
    }

    /// The text of the string token at `range` (quotes included), escapes resolved; nil when the
    /// token is not a valid string (the scanner has validated it, so that does not happen).
    public static func decodeString(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
        guard range.count >= 2 else { return nil }
        let inner = (range.lowerBound + 1)..<(range.upperBound - 1)
        // Most strings Lambda sends have no escape: one copy.
        if !inner.contains(where: { bytes[$0] == UInt8(ascii: "\\") }) {
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[inner]), as: UTF8.self)
        }
        return decodeEscaped(bytes, inner).map { String(decoding: $0, as: UTF8.self) }
    }

    /// The UTF-8 text of the string token at `range` (quotes included), escapes resolved.
    public static func decodeStringBytes(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [UInt8]? {
        guard range.count >= 2 else { return nil }
        return decodeEscaped(bytes, (range.lowerBound + 1)..<(range.upperBound - 1))
    }

    /// How many UTF-8 bytes the text of the string token at `range` (quotes included) has, escapes
    /// resolved, without making it: a `\\X` is one byte, a `\\uXXXX` its scalar's bytes (a pair
    /// of surrogates four together, a lone one the three of U+FFFD).
    public static func decodedCount(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int {
        guard range.count >= 2 else { return 0 }
        var count = range.count - 2
        var index = range.lowerBound + 1
        let end = range.upperBound - 1
        while index < end {
            index = nextBackslash(bytes, from: index, before: end)
            guard index + 1 < end else { break }
            guard bytes[index + 1] == UInt8(ascii: "u"), index + 6 <= end else {
                count -= 1
                index += 2
                continue
            }
            let unit = Hex.value(bytes, index + 2)
            let high = (0xD800..<0xDC00).contains(unit)
            if high, index + 12 <= end, bytes[index + 6] == UInt8(ascii: "\\"), bytes[index + 7] == UInt8(ascii: "u"),
                (0xDC00..<0xE000).contains(Hex.value(bytes, index + 8))
            {
                count -= 12 - 4
                index += 12
                continue
            }
            let length = unit < 0x80 ? 1 : unit < 0x800 ? 2 : 3
            count -= 6 - length
            index += 6
        }
        return count
    }

    /// Where the next backslash is in `start..<end`, or `end`.
    static func nextBackslash(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int) -> Int {
        JSONScanner.next(UInt8(ascii: "\\"), in: bytes, from: start, before: end)
    }

    /// The bytes of a string token's inside, escapes resolved.
    static func decodeEscaped(_ bytes: UnsafeBufferPointer<UInt8>, _ inner: Range<Int>) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(inner.count)
        var index = inner.lowerBound
        while index < inner.upperBound {
            // The run up to the next backslash in one copy.
            let end = nextBackslash(bytes, from: index, before: inner.upperBound)
            if end > index {
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<end]))
                index = end
                continue
            }
            guard index + 1 < inner.upperBound else {
                out.append(bytes[index])
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard index + 4 <= inner.upperBound,
                    bytes[index..<index + 4].allSatisfy({ $0 &- 48 < 10 || ($0 | 0x20) &- 97 < 6 })
                else { return nil }
                let unit = Hex.value(bytes, index)
                index += 4
                var scalarValue = unit
                // A pair of surrogates is one scalar; a surrogate alone is U+FFFD.
                if (0xD800..<0xDC00).contains(unit), index + 6 <= inner.upperBound,
                    bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                    case let low = Hex.value(bytes, index + 2), (0xDC00..<0xE000).contains(low)
                {
                    scalarValue = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                let scalar = Unicode.Scalar(scalarValue) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(escape)
            }
        }
        return out
    }
}
