import SluiceIngest
import Testing

/// Each built-in mask: what it masks and what it leaves alone.
struct BuiltinMaskTests {
    /// The text with every match of `mask` replaced by its placeholder.
    func masked(_ mask: BuiltinMask, _ text: String) -> String {
        let bytes = Array(text.utf8)
        let ranges = bytes.withUnsafeBufferPointer { mask.matches(in: $0) }
        var out: [UInt8] = []
        var position = 0
        for range in ranges {
            out += bytes[position..<range.lowerBound]
            out += mask.placeholder
            position = range.upperBound
        }
        out += bytes[position...]
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        ("mail jane.doe+test@example.co.uk now", "mail [MASKED:email] now"),
        ("<bob@mail-server.example.com>", "<[MASKED:email]>"),
        ("a@b.io, c_d@e.org.", "[MASKED:email], [MASKED:email]."),
        ("\"user\":\"x.y@corp.example\"", "\"user\":\"[MASKED:email]\""),
    ])
    func emailsAreMasked(text: String, expected: String) {
        #expect(masked(.email, text) == expected)
    }

    @Test(arguments: [
        "an @ sign alone", "user@localhost", "handle @someone on x", "name@domain.c", "git@ is not", "a@.b.com",
    ])
    func notEmailsStay(text: String) {
        #expect(masked(.email, text) == text)
    }

    @Test(arguments: [
        ("from 10.0.0.1 to 192.168.100.254:8080", "from [MASKED:ipv4] to [MASKED:ipv4]:8080"),
        ("client=255.255.255.255.", "client=[MASKED:ipv4]."),
        ("(8.8.8.8)", "([MASKED:ipv4])"),
    ])
    func addressesAreMasked(text: String, expected: String) {
        #expect(masked(.ipv4, text) == expected)
    }

    @Test(arguments: [
        "version 1.2.3.4.5", "256.1.1.1", "1.2.3", "took 12.5 ms", "v10.0.0.1", "1.2.3.4567", "0.0.0.0.0",
    ])
    func notAddressesStay(text: String) {
        #expect(masked(.ipv4, text) == text)
    }

    @Test(arguments: [
        ("card 4111111111111111 ok", "card [MASKED:credit-card] ok"),
        ("card 4111-1111-1111-1111 ok", "card [MASKED:credit-card] ok"),
        ("amex 3782 822463 10005.", "amex [MASKED:credit-card]."),
        ("mc=5555 5555 5555 4444", "mc=[MASKED:credit-card]"),
        ("\"pan\":\"6011111111111117\"", "\"pan\":\"[MASKED:credit-card]\""),
    ])
    func cardsAreMasked(text: String, expected: String) {
        #expect(masked(.creditCard, text) == expected)
    }

    @Test(arguments: [
        // Luhn fails: an order number of 16 digits.
        "order 4111111111111112 shipped",
        // A millisecond timestamp (13 digits, Luhn-valid, but no card starts with 1).
        "at 1733212800000",
        "too short 4111111111111",
        "twenty digits 41111111111111111111",
        "mixed separators 4111 1111-1111 1111",
        "id abc4111111111111111",
    ])
    func notCardsStay(text: String) {
        #expect(masked(.creditCard, text) == text)
    }

    @Test func accessKeysAreMaskedAndLookalikesStay() {
        #expect(masked(.awsAccessKey, "key AKIAIOSFODNN7EXAMPLE used") == "key [MASKED:aws-access-key] used")
        #expect(masked(.awsAccessKey, "\"ASIAY34FZKBOKMUTVV7A\"") == "\"[MASKED:aws-access-key]\"")
        for text in ["AKIAIOSFODNN7EXAMPL", "XAKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLEX", "AKIAiosfodnn7example"] {
            #expect(masked(.awsAccessKey, text) == text)
        }
    }

    @Test func secretKeysAreMaskedAfterTheirName() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        #expect(
            masked(.awsSecretKey, "aws_secret_access_key=\(secret)") == "aws_secret_access_key=[MASKED:aws-secret-key]")
        #expect(
            masked(.awsSecretKey, "{\"SecretAccessKey\": \"\(secret)\"}")
                == "{\"SecretAccessKey\": \"[MASKED:aws-secret-key]\"}")
        #expect(masked(.awsSecretKey, "secret-key: \(secret)") == "secret-key: [MASKED:aws-secret-key]")
        // Without the name, or not 40 characters, it stays.
        for text in ["token \(secret)", "aws_secret_access_key=\(secret)A", "secret_key=short"] {
            #expect(masked(.awsSecretKey, text) == text)
        }
    }

    @Test func tokensAreMasked() {
        let jwt =
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
        #expect(masked(.jwt, "token=\(jwt);") == "token=[MASKED:jwt];")
        #expect(masked(.jwt, "unsigned eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.") == "unsigned [MASKED:jwt]")
        for text in ["eyJust a word", "eyJhbGciOiJIUzI1NiJ9 alone", "keyJ.x.y"] {
            #expect(masked(.jwt, text) == text)
        }
    }

    @Test func bearerTokensAreMaskedAndTheWordStays() {
        #expect(
            masked(.bearer, "Authorization: Bearer abc.DEF-123_~+/=") == "Authorization: Bearer [MASKED:bearer]")
        #expect(
            masked(.bearer, "authorization: bearer  t0k3n-abcdef12, next")
                == "authorization: bearer  [MASKED:bearer], next")
        for text in ["the bearer of bad news", "Bearer", "forbearer x1234567890", "Bearer short"] {
            #expect(masked(.bearer, text) == text)
        }
    }
}
