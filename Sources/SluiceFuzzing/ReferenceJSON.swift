/// A second, independent JSON (RFC 8259) reader for the oracles: slow and simple, it builds a tree
/// and keeps each value's byte range, so what the production scanner says can be checked against it.
public indirect enum ReferenceJSON: Sendable, Equatable {
    case object([Member], range: Range<Int>)
    case array([ReferenceJSON], range: Range<Int>)
    /// The decoded text; nil when it holds a lone surrogate escape (decoders disagree on those).
    case string(String?, range: Range<Int>)
    case number(Double, range: Range<Int>)
    case bool(Bool, range: Range<Int>)
    case null(range: Range<Int>)

    /// One member of an object, in the order written.
    public struct Member: Sendable, Equatable {
        public let key: String?
        public let value: ReferenceJSON
    }

    /// Where the value is in the text it was read from.
    public var range: Range<Int> {
        switch self {
        case .object(_, let range), .array(_, let range), .string(_, let range), .number(_, let range),
            .bool(_, let range), .null(let range):
            range
        }
    }

    /// The one member named `key`; nil when there is none, or more than one (readers disagree then).
    public func member(_ key: String) -> ReferenceJSON? {
        guard case .object(let members, _) = self else { return nil }
        let matching = members.filter { $0.key == key }
        return matching.count == 1 ? matching[0].value : nil
    }

    /// Whether some key of this object is written twice.
    public var hasDuplicateKeys: Bool {
        guard case .object(let members, _) = self else { return false }
        let keys = members.map { $0.key ?? "\u{FFFD}" }
        return Set(keys).count != keys.count
    }

    /// The decoded text of a string.
    public var text: String? {
        if case .string(let text, _) = self { return text }
        return nil
    }

    /// Parses `bytes` as one JSON text; nil when it is not one (or nests deeper than `maxDepth`).
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 300) -> ReferenceJSON? {
        var reader = Reader(bytes: bytes, maxDepth: maxDepth)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.position == bytes.count ? value : nil
    }

    /// `bytes` without the whitespace outside strings (what an NDJSON document may carry).
    public static func compact(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                out.append(byte)
                if escaped {
                    escaped = false
                } else if byte == 0x5C {
                    escaped = true
                } else if byte == 0x22 {
                    inString = false
                }
            } else if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                continue
            } else {
                out.append(byte)
                if byte == 0x22 { inString = true }
            }
        }
        return out
    }

    private struct Reader {
        let bytes: [UInt8]
        let maxDepth: Int
        var position = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        var next: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipSpace() {
            while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
        }

        mutating func value(depth: Int) -> ReferenceJSON? {
            skipSpace()
            guard let byte = next, depth <= maxDepth else { return nil }
            let start = position
            switch byte {
            case 0x7B:
                position += 1
                var members: [Member] = []
                skipSpace()
                if next == 0x7D {
                    position += 1
                    return .object(members, range: start..<position)
                }
                while true {
                    skipSpace()
                    guard next == 0x22, case .string(let key, _)? = string() else { return nil }
                    skipSpace()
                    guard next == 0x3A else { return nil }
                    position += 1
                    guard let member = value(depth: depth + 1) else { return nil }
                    members.append(Member(key: key, value: member))
                    skipSpace()
                    if next == 0x2C {
                        position += 1
                    } else if next == 0x7D {
                        position += 1
                        return .object(members, range: start..<position)
                    } else {
                        return nil
                    }
                }
            case 0x5B:
                position += 1
                var elements: [ReferenceJSON] = []
                skipSpace()
                if next == 0x5D {
                    position += 1
                    return .array(elements, range: start..<position)
                }
                while true {
                    guard let element = value(depth: depth + 1) else { return nil }
                    elements.append(element)
                    skipSpace()
                    if next == 0x2C {
                        position += 1
                    } else if next == 0x5D {
                        position += 1
                        return .array(elements, range: start..<position)
                    } else {
                        return nil
                    }
                }
            case 0x22:
                return string()
            case 0x74: return word("true", .bool(true, range: start..<start + 4))
            case 0x66: return word("false", .bool(false, range: start..<start + 5))
            case 0x6E: return word("null", .null(range: start..<start + 4))
            default:
                return number()
            }
        }

        mutating func word(_ text: String, _ value: ReferenceJSON) -> ReferenceJSON? {
            let utf8 = Array(text.utf8)
            guard position + utf8.count <= bytes.count, Array(bytes[position..<position + utf8.count]) == utf8 else {
                return nil
            }
            position += utf8.count
            return value
        }

        mutating func number() -> ReferenceJSON? {
            let start = position
            func digits() -> Int {
                let from = position
                while let byte = next, byte >= 0x30 && byte <= 0x39 { position += 1 }
                return position - from
            }
            if next == 0x2D { position += 1 }
            if next == 0x30 {
                position += 1
            } else if digits() == 0 {
                return nil
            }
            if next == 0x2E {
                position += 1
                guard digits() > 0 else { return nil }
            }
            if next == 0x65 || next == 0x45 {
                position += 1
                if next == 0x2B || next == 0x2D { position += 1 }
                guard digits() > 0 else { return nil }
            }
            let text = String(decoding: bytes[start..<position], as: UTF8.self)
            return .number(Double(text) ?? .nan, range: start..<position)
        }

        mutating func hex4() -> UInt32? {
            guard position + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for byte in bytes[position..<position + 4] {
                let digit: UInt8
                switch byte {
                case 0x30...0x39: digit = byte - 0x30
                case 0x41...0x46: digit = byte - 0x41 + 10
                case 0x61...0x66: digit = byte - 0x61 + 10
                default: return nil
                }
                value = value * 16 + UInt32(digit)
            }
            position += 4
            return value
        }

        /// A string token at a quote; its text is checked to be UTF-8 by the standard library.
        mutating func string() -> ReferenceJSON? {
            let start = position
            position += 1
            var scalars = String.UnicodeScalarView()
            var loneSurrogate = false
            var raw: [UInt8] = []
            func flush() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let text = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: text.unicodeScalars)
                raw = []
                return true
            }
            while let byte = next {
                switch byte {
                case 0x22:
                    position += 1
                    guard flush() else { return nil }
                    return .string(loneSurrogate ? nil : String(scalars), range: start..<position)
                case 0x5C:
                    guard flush() else { return nil }
                    position += 1
                    guard let escape = next else { return nil }
                    position += 1
                    let simple: [UInt8: UInt32] = [
                        0x22: 0x22, 0x5C: 0x5C, 0x2F: 0x2F, 0x62: 0x08, 0x66: 0x0C, 0x6E: 0x0A, 0x72: 0x0D, 0x74: 0x09,
                    ]
                    if let scalar = simple[escape] {
                        scalars.append(Unicode.Scalar(scalar)!)
                    } else if escape == 0x75 {
                        guard let unit = hex4() else { return nil }
                        if (0xD800..<0xDC00).contains(unit), position + 1 < bytes.count, bytes[position] == 0x5C,
                            bytes[position + 1] == 0x75
                        {
                            let save = position
                            position += 2
                            guard let low = hex4() else { return nil }
                            if (0xDC00..<0xE000).contains(low) {
                                scalars.append(Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))!)
                            } else {
                                loneSurrogate = true
                                position = save
                            }
                        } else if let scalar = Unicode.Scalar(unit) {
                            scalars.append(scalar)
                        } else {
                            loneSurrogate = true
                        }
                    } else {
                        return nil
                    }
                case 0..<0x20:
                    return nil
                default:
                    raw.append(byte)
                    position += 1
                }
            }
            return nil
        }
    }
}
