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

    // MARK: Secrets in escaped text and XML

    @Test(arguments: [
        // JSON.stringify of an object holding JSON, printed as text.
        #"{"body":"{\"SecretAccessKey\": \"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\"}"}"#,
        #"{"body":"{\\\"aws_secret_access_key\\\":\\\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\\"}"}"#,
        "<SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY</SecretAccessKey>",
    ])
    func secretKeysInEscapedTextAndXMLAreMasked(text: String) {
        let out = masked(.awsSecretKey, text)
        #expect(!out.contains("wJalrXUtnFEMI"), "\(out)")
        #expect(out.contains("[MASKED:aws-secret-key]"))
    }

    @Test(arguments: [
        (BuiltinMask.creditCard, #"card:\n4111111111111111\tok"#, #"card:\n[MASKED:credit-card]\tok"#),
        (.ipv4, #"from\t10.1.2.3\n"#, #"from\t[MASKED:ipv4]\n"#),
        (.awsAccessKey, #"keys:\nAKIAIOSFODNN7EXAMPLE"#, #"keys:\n[MASKED:aws-access-key]"#),
        (
            .jwt, #"token:\neyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig"#,
            #"token:\n[MASKED:jwt]"#
        ),
        (.bearer, #"h:\nBearer abc123def456"#, #"h:\nBearer [MASKED:bearer]"#),
        // An escaped backslash before the letter: `\\n` is a backslash and an `n`, a word's start.
        (.creditCard, #"\\n4111111111111111"#, #"\\n4111111111111111"#),
    ])
    func anEscapesLetterIsABoundary(mask: BuiltinMask, text: String, expected: String) {
        #expect(masked(mask, text) == expected)
    }

    @Test(arguments: [
        (#"to \u003calice@example.com\u003e"#, #"to \u003c[MASKED:email]\u003e"#),
        (#"a\nbob@example.org"#, #"a\n[MASKED:email]"#),
        (#"\"carol@example.net\""#, #"\"[MASKED:email]\""#),
    ])
    func anEmailDoesNotStartInsideAnEscape(text: String, expected: String) {
        #expect(masked(.email, text) == expected)
    }

    // MARK: Cards among numbers, and numbers that are not cards

    @Test(arguments: [
        ("charging 1999 4111111111111111", "charging 1999 [MASKED:credit-card]"),
        ("1001 4242424242424242", "1001 [MASKED:credit-card]"),
        ("4111111111111111 123", "[MASKED:credit-card] 123"),
        ("card 4111 1111 1111 1111 12 27 123", "card [MASKED:credit-card] 12 27 123"),
        ("visa 4111-1111-1111-1111-003", "visa [MASKED:credit-card]"),
        ("diners 3056 930902 5904", "diners [MASKED:credit-card]"),
        ("mc 2223 0031 2200 3222", "mc [MASKED:credit-card]"),
    ])
    func cardsNextToOtherNumbersAreMasked(text: String, expected: String) {
        #expect(masked(.creditCard, text) == expected)
    }

    @Test(arguments: [
        "req 21808263-4061-4375-b1eb-fe27eea55af9",
        "[20 31 44 5 67 8 9 1 2 3]",
        "call +49 151 2345 6704",
        "order 2024-0512-7731-0000",
        "iban DE89 3704 0044 0532 0130 00",
        "id 12345678-4111-1111-1111-111111111111",
        "ref 4111-1111-1111-1111-abcd",
        "split 41 11 11 11 11 11 11 11",
    ])
    func numbersThatAreNotCardsStay(text: String) {
        #expect(masked(.creditCard, text) == text)
    }

    /// The card and address scans jump to the next digit eight bytes at a time: a number is found
    /// wherever it starts, after any run of any bytes that are not digits (ASCII or not, control
    /// bytes, bytes that are not UTF-8).
    @Test(arguments: [
        (" 4111 1111 1111 1111 or 10.1.2.3 end", 1..<20, 24..<32),
        // The scan looks at eight bytes from where the card ended: here the address's first digit
        // is the last of them.
        (" 5555 5555 5555 4444 and s 9.0.0.9 end", 1..<20, 27..<34),
        (" 3782 822463 10005 and s 0.0.0.0 end", 1..<18, 25..<32),
    ])
    func numbersAreFoundAfterAnyBytesAtEveryOffset(tail: String, card: Range<Int>, address: Range<Int>) {
        for filler in UInt8.min...UInt8.max where !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(filler) {
            for offset in 0..<20 {
                let text = Array(repeating: filler, count: offset) + Array(tail.utf8)
                let found = text.withUnsafeBufferPointer {
                    (BuiltinMask.creditCard.matches(in: $0), BuiltinMask.ipv4.matches(in: $0))
                }
                let shifted = { (range: Range<Int>) in (range.lowerBound + offset)..<(range.upperBound + offset) }
                #expect(found.0 == [shifted(card)], "filler \(filler) × \(offset)")
                #expect(found.1 == [shifted(address)], "filler \(filler) × \(offset)")
            }
        }
    }

    @Test func requestIdsAreNeverCards() {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<20000 {
            // Digits only in the hex, the likeliest to look like a number.
            let digits = (0..<32).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
            var id = ""
            for (offset, character) in digits.enumerated() {
                if [8, 12, 16, 20].contains(offset) { id += "-" }
                id.append(character)
            }
            #expect(masked(.creditCard, "id \(id) done") == "id \(id) done")
        }
    }

    // MARK: Versions, words after Bearer, addresses beyond ASCII

    @Test(arguments: [
        "System.Runtime, Version=8.0.0.0, Culture=neutral",
        "Mozilla/5.0 Chrome/120.0.0.0 Safari/537.36",
        "version 10.0.0.1",
    ])
    func versionsAreNotAddresses(text: String) {
        #expect(masked(.ipv4, text) == text)
    }

    @Test func addressesInURLsAreStillMasked() {
        #expect(masked(.ipv4, "GET http://10.1.2.3/health") == "GET http://[MASKED:ipv4]/health")
        #expect(masked(.ipv4, "net 10.0.0.0/8 and 192.168.1.1") == "net [MASKED:ipv4]/8 and [MASKED:ipv4]")
    }

    @Test(arguments: [
        "Missing Bearer authorization header", "Authorization: Bearer undefined", "Bearer nullnull",
    ])
    func wordsAfterBearerStay(text: String) {
        #expect(masked(.bearer, text) == text)
    }

    @Test func longOrMarkedBearerTokensAreMasked() {
        #expect(masked(.bearer, "Bearer abcdefghijklmnop") == "Bearer [MASKED:bearer]")
        #expect(masked(.bearer, "Bearer abcd.efgh") == "Bearer [MASKED:bearer]")
    }

    @Test(arguments: [
        ("from josé@example.com", "from [MASKED:email]"),
        ("jürgen.müller@example.de", "[MASKED:email]"),
        ("alice@bücher.de.", "[MASKED:email]."),
        ("o'brien@example.com", "[MASKED:email]"),
        ("user='alice@example.com'", "user='[MASKED:email]'"),
        ("“alice@example.com”", "“[MASKED:email]”"),
        ("«bob@example.org»", "«[MASKED:email]»"),
    ])
    func emailsBeyondASCIIAreMasked(text: String, expected: String) {
        #expect(masked(.email, text) == expected)
    }

    // MARK: Secret keys by their JSON member's name

    @Test func secretNamesAreKnownAsJSONMemberNames() {
        func hides(_ mask: BuiltinMask, _ key: String) -> Bool {
            Array(key.utf8).withUnsafeBufferPointer { mask.masksValue(ofKey: $0) }
        }
        for key in ["SecretAccessKey", "aws_secret_access_key", "secret-key", "SECRET_ACCESS_KEY"] {
            #expect(hides(.awsSecretKey, key), "\(key)")
        }
        for key in ["SessionToken", "aws_session_token", "X-Amz-Security-Token"] {
            #expect(hides(.awsSessionToken, key), "\(key)")
        }
        for key in ["password", "db_password", "dbPassword", "apiKey", "api_key", "client_secret", "access_token"] {
            #expect(hides(.password, key), "\(key)")
        }
        for key in ["secret_key_id", "AccessKeyId", "secretary", "tokens", "keyboard", "passwords"] {
            #expect(!hides(.awsSecretKey, key) && !hides(.awsSessionToken, key) && !hides(.password, key), "\(key)")
        }
        // Every other mask looks at values only.
        #expect(!hides(.email, "email"))
    }

    // MARK: Passwords, credentials and keys

    @Test(arguments: [
        ("redis://:s3cret@cache:6379/0", "redis://:[MASKED:url-password]@cache:6379/0"),
        ("postgres://app:p@ss:w0rd@db.internal/orders", "postgres://app:[MASKED:url-password]@db.internal/orders"),
        ("url=\"https://user:hunter2@example.com\"", "url=\"https://user:[MASKED:url-password]@example.com\""),
    ])
    func urlPasswordsAreMasked(text: String, expected: String) {
        #expect(masked(.urlPassword, text) == expected)
    }

    @Test(arguments: ["https://example.com:8443/a@b", "mailto://alice@example.com", "http://user@host/"])
    func urlsWithoutPasswordsStay(text: String) {
        #expect(masked(.urlPassword, text) == text)
    }

    @Test func basicCredentialsAreMaskedAndWordsStay() {
        #expect(
            masked(.basicAuth, "Authorization: Basic dXNlcjpodW50ZXIy") == "Authorization: Basic [MASKED:basic-auth]")
        for text in ["Basic authentication failed", "WWW-Authenticate: Basic realm=\"x\"", "basic setup"] {
            #expect(masked(.basicAuth, text) == text)
        }
    }

    @Test func privateKeysAreMaskedWholeAlsoWithEscapedLineBreaks() {
        let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----"
        #expect(masked(.privateKey, "key: \(key) loaded") == "key: [MASKED:private-key] loaded")
        let escaped = #"{"pem":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n"}"#
        #expect(masked(.privateKey, escaped) == #"{"pem":"[MASKED:private-key]\n"}"#)
        // Cut before its end line: masked to the end.
        #expect(masked(.privateKey, "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE") == "[MASKED:private-key]")
        let publicKey = "-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----"
        #expect(masked(.privateKey, publicKey) == publicKey)
    }

    @Test(arguments: [
        ("login password=hunter2 ok", "login password=[MASKED:password] ok"),
        ("DB_PASSWD=s3cret;next", "DB_PASSWD=[MASKED:password];next"),
        ("pwd='a b c' done", "pwd='[MASKED:password]' done"),
        (#"{"password": "hunter2", "user": "x"}"#, #"{"password": "[MASKED:password]", "user": "x"}"#),
        (#"{'client_secret': 'abc'}"#, #"{'client_secret': '[MASKED:password]'}"#),
        (#"{\"apiKey\":\"k-123\"}"#, #"{\"apiKey\":\"[MASKED:password]\"}"#),
        ("?access_token=abc&x=1", "?access_token=[MASKED:password]&x=1"),
        ("refresh-token=r3fr3sh", "refresh-token=[MASKED:password]"),
    ])
    func passwordsAreMasked(text: String, expected: String) {
        #expect(masked(.password, text) == expected)
    }

    @Test(arguments: [
        "passwords=3 tokens=5", "if token == nil", #"{"password": null}"#, "at 12:00:00",
        "password=[MASKED:url-password]", "mytoken=abc", #"{"nextToken": "eyJ2IjoxfQ", "x": 1}"#,
        "NextPageToken=AbCd123", "continuation_token=x9", "CancellationToken=None", #"'pageToken': 'p2'"#,
    ])
    func notPasswordsStay(text: String) {
        #expect(masked(.password, text) == text)
    }

    @Test(arguments: [
        "aws_session_token=IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ",
        #""SessionToken": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==""#,
        "GET /o?X-Amz-Security-Token=IQoJb3JpZ2luX2VjEJr%2F%2F%2F%2FwEaCXVz&X-Amz-Date=1",
    ])
    func sessionTokensAreMasked(text: String) {
        let out = masked(.awsSessionToken, text)
        #expect(!out.contains("IQoJ"), "\(out)")
        #expect(out.contains("[MASKED:aws-session-token]"))
    }

    @Test func shortValuesAfterATokenNameStay() {
        #expect(masked(.awsSessionToken, "SessionToken: none") == "SessionToken: none")
    }
}
