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

    @Test func anythingButOneValidValueIsRefused() {
        for text in ["", "   ", #"{"a":1"#, #"{"a":1} {"#, #"{"a":1}x"#, "{'a':1}", #"{"a":01}"#] {
            #expect(JSONReader.document(Array(text.utf8)) == nil, "\(text)")
        }
        #expect(JSONReader.document(Array("[1,2]".utf8))?.root.kind == .array)
    }
}
