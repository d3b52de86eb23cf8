import SluiceJSON
import Testing

@Suite struct JSONTextTests {
    @Test func stringsAreEscapedAsJSONRequires() {
        #expect(JSONText.quoted("plain") == #""plain""#)
        #expect(JSONText.quoted("a\"b\\c") == #""a\"b\\c""#)
        #expect(JSONText.quoted("line\nnext\r\ttab") == #""line\nnext\r\ttab""#)
        #expect(JSONText.quoted("\u{01}\u{1f}") == #""\u0001\u001f""#)
        #expect(JSONText.quoted("é ✓ 😀") == "\"é ✓ 😀\"", "UTF-8 passes through")
    }

    /// The escaper copies plain spans whole, found eight bytes at a time: every byte value at
    /// every offset of a long string (so at every place within a word of eight, and in the tail
    /// shorter than one) is escaped as a byte-at-a-time escaper does, from a `String`, from an
    /// array and from a sequence with no contiguous storage, and reads back as the same text.
    @Test func everyByteAtEveryOffsetIsEscapedAsOneByteAtATime() throws {
        func reference(_ bytes: [UInt8]) -> [UInt8] {
            var out: [UInt8] = [UInt8(ascii: "\"")]
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), byte]
                case UInt8(ascii: "\n"): out += Array(#"\n"#.utf8)
                case UInt8(ascii: "\r"): out += Array(#"\r"#.utf8)
                case UInt8(ascii: "\t"): out += Array(#"\t"#.utf8)
                case 0..<0x20: out += Array(#"\u00"#.utf8) + [Hex.digit(byte >> 4), Hex.digit(byte & 0xF)]
                default: out.append(byte)
                }
            }
            return out + [UInt8(ascii: "\"")]
        }
        for byte in UInt8.min...0x7f {
            for length in [1, 7, 8, 9, 23] {
                for offset in 0..<length {
                    var bytes = Array("abcdefghijklmnopqrstuvwxyz".utf8.prefix(length))
                    bytes[offset] = byte
                    let expected = reference(bytes)
                    var fromArray: [UInt8] = [0x2a]
                    JSONText.appendString(utf8: bytes, to: &fromArray)
                    #expect(fromArray == [0x2a] + expected, "byte \(byte) at \(offset) of \(length)")
                    var fromSequence: [UInt8] = []
                    JSONText.appendString(utf8: bytes.lazy.map { $0 }, to: &fromSequence)
                    #expect(fromSequence == expected, "byte \(byte) at \(offset) of \(length)")
                    let text = String(decoding: bytes, as: UTF8.self)
                    #expect(JSONText.stringToken(text) == expected, "byte \(byte) at \(offset) of \(length)")
                    let (reader, root) = try #require(JSONReader.document(expected))
                    #expect(reader.string(root) == text, "byte \(byte) at \(offset) of \(length)")
                }
            }
        }
        let multiByte = "é ✓ 😀 \"quoted\" and a long tail past eight bytes\u{1}"
        #expect(JSONText.stringToken(multiByte) == reference(Array(multiByte.utf8)))
        #expect(JSONText.stringToken("") == Array(#""""#.utf8))
    }

    @Test func everyEscapedStringScansBackAsOneStringToken() throws {
        for text in ["", "x", "\"", "\\", "\u{0}\u{7f}", "mixed \"quotes\" and \\ and \n"] {
            let token = JSONText.stringToken(text)
            let range = try token.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(buffer)
                let value = try scanner.value()
                let atEnd = scanner.atEnd
                #expect(atEnd)
                #expect(value.kind == .string)
                return value.range
            }
            #expect(range == 0..<token.count)
        }
    }

    /// A string token's text counted without being made: the bytes `decodeStringBytes` makes, for
    /// every kind of escape (surrogate pairs, lone surrogates, either case of hex digits) among
    /// plain and multi-byte text.
    @Test func aStringsTextIsCountedAsItIsDecoded() {
        let pieces = [
            "a", "é", "😀", #"\n"#, #"\t"#, #"\\"#, #"\""#, #"\/"#, #"\u0041"#, #"\u00e9"#, #"\u20AC"#,
            #"\ud83d\ude00"#, #"\uD83D"#, #"\uDE00"#, #"\ud83dx"#, " ",
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let inner = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement()! }.joined()
            let token = Array("\"\(inner)\"".utf8)
            token.withUnsafeBufferPointer { buffer in
                let decoded = JSONReader.decodeStringBytes(buffer, 0..<token.count)
                #expect(JSONReader.decodedCount(buffer, 0..<token.count) == decoded?.count, "\(inner)")
            }
        }
    }

    /// The scanner reads plain bytes eight at a time: every byte value, at every offset of a long
    /// string (and so at every place within a word of eight), still stops it where it must. A
    /// quote ends the string there, a control character or a byte that starts no UTF-8 sequence
    /// is refused at its offset, a backslash before no escape is refused, and anything else is
    /// read past.
    @Test func everyByteAtEveryOffsetOfALongStringIsJudgedWhereItIs() throws {
        func scan(_ bytes: [UInt8]) -> Result<Range<Int>, JSONSyntaxError> {
            bytes.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(buffer)
                return Result { () throws(JSONSyntaxError) -> Range<Int> in
                    let value = try scanner.value()
                    return value.range
                }
            }
        }
        for byte in UInt8.min...UInt8.max {
            for offset in 0..<24 {
                var text = [UInt8(ascii: "\"")] + Array(repeating: UInt8(ascii: "a"), count: 24)
                text[1 + offset] = byte
                text.append(UInt8(ascii: "\""))
                let result = scan(text)
                switch byte {
                case UInt8(ascii: "\""):
                    #expect(try result.get() == 0..<(offset + 2), "byte \(byte) at \(offset)")
                case UInt8(ascii: "\\"):
                    // No such escape as `\a`; the last one escapes the closing quote.
                    #expect(throws: JSONSyntaxError.self, "byte \(byte) at \(offset)") { try result.get() }
                case 0..<0x20, 0x80...:
                    // A control character, or a byte that begins no valid sequence here (a
                    // continuation, or a lead without its tail).
                    guard case .failure(let error) = result else {
                        Issue.record("byte \(byte) at \(offset) was accepted")
                        continue
                    }
                    #expect(error.offset >= 1 + offset && error.offset <= 2 + offset, "byte \(byte) at \(offset)")
                default:
                    #expect(try result.get() == 0..<text.count, "byte \(byte) at \(offset)")
                }
            }
        }
    }

    @Test func hexIsLowerCaseTwoDigitsPerByte() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.digitCount(0) == 1)
        #expect(Hex.digitCount(0xf) == 1)
        #expect(Hex.digitCount(0x10) == 2)
        #expect(Hex.digitCount(UInt64.max) == 16)
    }

    @Test func malformedJSONIsRefusedWithItsOffset() {
        let text = Array(#"{"a": [1, 2,]}"#.utf8)
        #expect(throws: JSONSyntaxError.self) {
            try text.withUnsafeBufferPointer { buffer in
                var scanner = JSONScanner(buffer)
                _ = try scanner.value()
            }
        }
    }
}

@Suite struct JSONReaderDocumentTests {
    @Test func aWholeTextIsReadAndItsMembersFound() throws {
        let (reader, root) = try #require(
            JSONReader.document(Array(#" {"a":"x\ny","n":12,"o":{"b":"c"},"s":true} "#.utf8)))
        #expect(root.kind == .object)
        #expect(reader.string("a", of: root) == "x\ny")
        #expect(reader.string("n", of: root) == nil, "a number is not a string")
        #expect(reader.number(reader.member("n", of: root)) == 12)
        #expect(reader.string("b", of: reader.member("o", of: root)) == "c")
        #expect(reader.string("missing", of: root) == nil)
        #expect(reader.string("b", of: reader.member("a", of: root)) == nil, "a string has no members")
    }

    /// A member is found by its name as written or escaped, the first of two with one name, and
    /// a name is compared whole (not as a prefix, not with its quotes).
    @Test func aMemberIsFoundByItsNameHoweverItIsWritten() throws {
        let text = #"{"ab":1, "a\u0062c":2, "a":3, "\"q\"":4, "a":5, "é":6, "":7}"#
        let (reader, root) = try #require(JSONReader.document(Array(text.utf8)))
        #expect(reader.number(reader.member("ab", of: root)) == 1)
        #expect(reader.number(reader.member("abc", of: root)) == 2, "an escaped name")
        #expect(reader.number(reader.member("a", of: root)) == 3, "the first of two")
        #expect(reader.number(reader.member("\"q\"", of: root)) == 4)
        #expect(reader.number(reader.member("é", of: root)) == 6)
        #expect(reader.number(reader.member("", of: root)) == 7)
        #expect(reader.member("b", of: root) == nil)
        #expect(reader.member("ab\"", of: root) == nil)
        let (array, list) = try #require(JSONReader.document(Array(#"[{"a":1}]"#.utf8)))
        #expect(array.member("a", of: list) == nil, "an array has no members")
    }

    /// Several members read in one walk are the values `member` finds one by one: the first of a
    /// name, escaped names, none for a name the object lacks, and none at all of what is no object.
    @Test func severalMembersAreFoundInOneWalkAsOneByOne() throws {
        let text = #"{"ab":1, "a\u0062c":2, "a":3, "\"q\"":4, "a":5, "é":6, "":7, "o":{"a":8}}"#
        let (reader, root) = try #require(JSONReader.document(Array(text.utf8)))
        let keys = ["a", "abc", "missing", "", "é", "\"q\"", "ab", "a", "o"]
        let found = reader.members(keys, of: root)
        #expect(found == keys.map { reader.member($0, of: root) })
        #expect(found.map(reader.number) == [3, 2, nil, 7, 6, 4, 1, 3, nil])
        #expect(reader.members(["a"], of: found[8]).map(reader.number) == [8], "a nested object")
        #expect(reader.members(["a", "b"], of: found[0]) == [nil, nil], "a number has no members")
        #expect(reader.members(["a"], of: nil) == [nil])
        #expect(reader.members([], of: root).isEmpty)
    }

    @Test func anythingButOneValidValueIsRefused() {
        for text in ["", "   ", #"{"a":1"#, #"{"a":1} {"#, #"{"a":1}x"#, "{'a':1}", #"{"a":01}"#] {
            #expect(JSONReader.document(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONReader.document(Array("[1,2]".utf8))?.root.kind == .array)
    }
}

/// The member walk steps over values without checking them again: on valid JSON it finds the
/// values the validating scan finds, and on any bytes at all it stays in the buffer and ends.
@Suite struct JSONMemberWalkTests {
    /// A random JSON value of up to `depth` levels, with whitespace, escapes and UTF-8 in its strings.
    static func value(_ depth: Int, _ random: inout some RandomNumberGenerator) -> String {
        let space = ["", " ", "\n", "\t ", "\r\n"]
        func gap() -> String { space.randomElement(using: &random)! }
        func string() -> String {
            let pieces = ["a", "\\\"", "\\\\", "\\n", "\\u00e9", "é", "x]}", "{[", ",", ":", "\\/", "😀", "  "]
            return "\""
                + (0..<Int.random(in: 0...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }
                .joined() + "\""
        }
        switch Int.random(in: 0..<(depth > 0 ? 7 : 5), using: &random) {
        case 0: return string()
        case 1: return ["0", "-12", "3.5e+7", "1E-2", "42"].randomElement(using: &random)!
        case 2: return ["true", "false", "null"].randomElement(using: &random)!
        case 3, 4: return string()
        case 5:
            let members = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                gap() + string() + gap() + ":" + gap() + value(depth - 1, &random) + gap()
            }
            return "{" + (members.isEmpty ? gap() : members.joined(separator: ",")) + "}"
        default:
            let elements = (0..<Int.random(in: 0...5, using: &random)).map { _ in
                gap() + value(depth - 1, &random) + gap()
            }
            return "[" + (elements.isEmpty ? gap() : elements.joined(separator: ",")) + "]"
        }
    }

    /// The members as the validating scan reads them.
    static func scanned(_ bytes: UnsafeBufferPointer<UInt8>) throws -> [Range<Int>] {
        var scanner = JSONScanner(bytes)
        var out: [Range<Int>] = []
        try scanner.expect(UInt8(ascii: "{"), "{")
        guard !scanner.take(UInt8(ascii: "}")) else { return out }
        repeat {
            scanner.skipWhitespace()
            let name = scanner.position
            try scanner.string()
            out.append(name..<scanner.position)
            try scanner.expect(UInt8(ascii: ":"), ":")
            out.append(try scanner.value(depth: 1).range)
        } while scanner.take(UInt8(ascii: ","))
        return out
    }

    @Test func onValidJSONTheWalkFindsWhatTheScanFinds() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            var text = ""
            while !text.hasPrefix("{") { text = Self.value(4, &random) }
            let bytes = Array(text.utf8)
            try bytes.withUnsafeBufferPointer { buffer in
                let expected = try Self.scanned(buffer)
                var walked: [Range<Int>] = []
                JSONScanner.forEachMember(of: 0..<buffer.count, in: buffer) { name, value in
                    walked += [name, value.range]
                    return false
                }
                #expect(walked == expected, "\(text)")
            }
        }
    }

    @Test func onAnyBytesTheWalkStaysInTheBufferAndEnds() {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]":,\ a1-tn"#.utf8) + [0xC3, 0xA9, 0x0A]
        for _ in 0..<20_000 {
            let bytes =
                [UInt8(ascii: "{")]
                + (0..<Int.random(in: 0...40, using: &random)).map { _ in
                    alphabet.randomElement(using: &random)!
                }
            bytes.withUnsafeBufferPointer { buffer in
                var visits = 0
                JSONScanner.forEachMember(of: 0..<buffer.count, in: buffer) { name, value in
                    visits += 1
                    #expect(name.lowerBound >= 0 && name.upperBound <= buffer.count)
                    #expect(value.range.lowerBound >= 0 && value.range.upperBound <= buffer.count)
                    return false
                }
                #expect(visits <= buffer.count)
            }
        }
    }
}

@Suite struct JSONIntegerTests {
    @Test func integersAreWrittenAsSwiftWritesThem() {
        var random = SystemRandomNumberGenerator()
        let edges: [Int64] = [0, 1, -1, 9, 10, -10, 99, 100, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        for value in edges
            + (0..<2_000).map({ _ in
                Int64.random(in: .min ... .max, using: &random) >> Int64.random(in: 0...62, using: &random)
            })
        {
            var out: [UInt8] = [UInt8(ascii: "x")]
            JSONText.appendInteger(value, to: &out)
            #expect(out == Array("x\(value)".utf8))
        }
    }
}
