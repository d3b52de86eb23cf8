import SluiceDigest
import SluiceJSON
import Testing

/// SHA-256 and HMAC-SHA256 against the published vectors (FIPS 180-4's examples, RFC 4231), on the
/// SHA extensions and on the portable code, which must agree on every length and every split.
@Suite(.serialized) struct SHA256Tests {
    static let vectors: [(String, String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        (
            "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        ),
        (
            "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"
        ),
    ]

    @Test(arguments: [false, true])
    func theStandardsVectors(portable: Bool) {
        SHA256.forcePortable(portable)
        defer { SHA256.forcePortable(false) }
        for (text, digest) in Self.vectors {
            #expect(Hex.encode(SHA256.hash(Array(text.utf8))) == digest, "\(text)")
        }
        // A million a's, fed in pieces that straddle blocks.
        var hash = SHA256()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000)
        for _ in 0..<1_000 { hash.update(piece) }
        #expect(Hex.encode(hash.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func theExtensionsAndThePortableCodeAgreeOnEveryLengthAndSplit() {
        defer { SHA256.forcePortable(false) }
        var generator = SystemRandomNumberGenerator()
        let data = (0..<700).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for length in 0...data.count {
            let bytes = Array(data[..<length])
            SHA256.forcePortable(true)
            let portable = SHA256.hash(bytes)
            SHA256.forcePortable(false)
            #expect(SHA256.hash(bytes) == portable, "length \(length)")
            // The same bytes in two updates, split anywhere, give the same digest.
            let split = length / 3
            var parts = SHA256()
            parts.update(bytes[..<split])
            parts.update(bytes[split...])
            #expect(parts.finalize() == portable, "length \(length), split at \(split)")
        }
    }

    @Test func hmacMatchesRFC4231() {
        let cases: [([UInt8], String, String)] = [
            (
                [UInt8](repeating: 0x0b, count: 20), "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
            ),
            (
                Array("Jefe".utf8), "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
            ),
            (
                [UInt8](repeating: 0xaa, count: 131), "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
            ),
        ]
        for (key, message, code) in cases {
            #expect(Hex.encode(HMACSHA256.code(key: key, message: Array(message.utf8))) == code, "\(message)")
        }
    }
}
