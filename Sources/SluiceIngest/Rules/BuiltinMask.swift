#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The secrets and personal data `SLUICE_MASK` names, each found by a purpose-built scanner: one
/// pass over the text that looks closer only where the thing can begin (an `@`, a digit, `AKIA`),
/// linear in the text whatever it holds, and measured faster than a regular expression for the
/// same shape (BENCHMARKS.md, "Ingest rules").
public enum BuiltinMask: String, Sendable, CaseIterable {
    case email
    case ipv4
    /// 13 to 19 digits grouped as cards are written (none, fours, Amex's 4-6-5), starting as the
    /// card networks' numbers start and Luhn-checked: a millisecond timestamp, a date-like order
    /// number or a request id stays.
    case creditCard = "credit-card"
    /// An access key id: `AKIA` (long-term) or `ASIA` (temporary) and 16 more capitals or digits.
    case awsAccessKey = "aws-access-key"
    /// 40 characters of base64 after a secret-key name (`aws_secret_access_key=`, `"SecretAccessKey": "`),
    /// and the value of a JSON member so named.
    case awsSecretKey = "aws-secret-key"
    /// A session token after its name (`SessionToken`, `aws_session_token`, `X-Amz-Security-Token=`),
    /// and the value of a JSON member so named.
    case awsSessionToken = "aws-session-token"
    /// A JSON Web Token: three base64url parts, the first (and usually the second) a JSON object.
    case jwt
    /// The token after `Bearer ` (an `Authorization` header's value); the word itself stays.
    case bearer
    /// The credentials after `Basic ` (an `Authorization` header's value).
    case basicAuth = "basic-auth"
    /// The password of a URL's `user:password@`; the user and the host stay.
    case urlPassword = "url-password"
    /// A PEM private key, from its `-----BEGIN` line to its `-----END` line.
    case privateKey = "private-key"
    /// The value of `password=` and its kin, in text and as a JSON member's value.
    case password

    /// What replaces each match.
    public var placeholder: [UInt8] { Array("[MASKED:\(rawValue)]".utf8) }

    /// The ranges of `text` to mask, in order, not overlapping.
    public func matches(in text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var scanner = MaskScanner(text: text)
        // Most lines hold none of what most masks need: a SIMD search says so before any scan.
        switch self {
        case .email: guard scanner.contains("@") else { return found }
        case .ipv4: guard scanner.contains(".") else { return found }
        case .awsAccessKey: guard scanner.contains("AKIA") || scanner.contains("ASIA") else { return found }
        case .awsSecretKey: guard scanner.contains("ecret") || scanner.contains("ECRET") else { return found }
        case .awsSessionToken:
            guard scanner.contains("oken") || scanner.contains("OKEN") else { return found }
        case .jwt: guard scanner.contains("eyJ") else { return found }
        case .bearer: guard scanner.contains("earer") || scanner.contains("EARER") else { return found }
        case .basicAuth: guard scanner.contains("asic") || scanner.contains("ASIC") else { return found }
        case .urlPassword: guard scanner.contains("://") else { return found }
        case .privateKey: guard scanner.contains("PRIVATE KEY-----") else { return found }
        case .password: guard scanner.contains("=") || scanner.contains(":") else { return found }
        case .creditCard: break
        }
        switch self {
        case .email: scanner.emails(&found)
        case .ipv4: scanner.ipv4s(&found)
        case .creditCard: scanner.cards(&found)
        case .awsAccessKey: scanner.accessKeys(&found)
        case .awsSecretKey: scanner.secretKeys(&found)
        case .awsSessionToken: scanner.sessionTokens(&found)
        case .jwt: scanner.tokens(&found)
        case .bearer: scanner.bearers(&found)
        case .basicAuth: scanner.basicCredentials(&found)
        case .urlPassword: scanner.urlPasswords(&found)
        case .privateKey: scanner.privateKeys(&found)
        case .password: scanner.passwords(&found)
        }
        return found
    }

    /// Whether `masksValue(ofKey:)` can be true: the others look at values only.
    public var readsKeys: Bool { self == .awsSecretKey || self == .awsSessionToken || self == .password }

    /// Whether a JSON member named `key` (its text, escapes resolved) holds what this mask hides,
    /// whatever the value looks like: `"SecretAccessKey"`, `"SessionToken"`, `"password"`. Keys
    /// are matched as the text scanners match the names.
    public func masksValue(ofKey key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard readsKeys else { return false }
        let scanner = MaskScanner(text: key)
        switch self {
        case .awsSecretKey: return scanner.namesSecretKey()
        case .awsSessionToken: return scanner.namesSessionToken()
        case .password: return scanner.namesPassword()
        default: return false
        }
    }
}

/// Finding bytes in a text: glibc's `memchr` (SIMD) to each occurrence of the needle's first byte,
/// then a compare.
enum ByteSearch {
    /// Where `needle` first is in `text` at or after `start`.
    static func find(
        _ needle: UnsafeBufferPointer<UInt8>, in text: UnsafeBufferPointer<UInt8>, from start: Int = 0
    ) -> Int? {
        let length = needle.count
        guard let base = text.baseAddress, let pattern = needle.baseAddress, length > 0 else { return nil }
        let first = Int32(pattern[0])
        var position = start
        while position + length <= text.count {
            guard let found = memchr(base + position, first, text.count - position - length + 1) else { return nil }
            let at = base.distance(to: found.assumingMemoryBound(to: UInt8.self))
            if length == 1 || memcmp(base + at + 1, pattern + 1, length - 1) == 0 { return at }
            position = at + 1
        }
        return nil
    }
}
