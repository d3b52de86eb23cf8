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
    /// 13 to 19 digits with single spaces or dashes between them, starting 2 to 6 (the card
    /// networks' first digits) and Luhn-checked: a millisecond timestamp or an order number stays.
    case creditCard = "credit-card"
    /// An access key id: `AKIA` (long-term) or `ASIA` (temporary) and 16 more capitals or digits.
    case awsAccessKey = "aws-access-key"
    /// 40 characters of base64 after a secret-key name (`aws_secret_access_key=`, `"SecretAccessKey": "`).
    case awsSecretKey = "aws-secret-key"
    /// A JSON Web Token: three base64url parts, the first (and usually the second) a JSON object.
    case jwt
    /// The token (8 characters or more) after `Bearer ` (an `Authorization` header's value); the
    /// word itself stays.
    case bearer

    /// What replaces each match.
    public var placeholder: [UInt8] { Array("[MASKED:\(rawValue)]".utf8) }

    /// The ranges of `text` to mask, in order, not overlapping.
    public func matches(in text: UnsafeBufferPointer<UInt8>) -> [Range<Int>] {
        var found: [Range<Int>] = []
        var scanner = Scanner(text: text)
        // Most lines hold none of what most masks need: a SIMD search says so before any scan.
        switch self {
        case .email: guard scanner.contains("@") else { return found }
        case .ipv4: guard scanner.contains(".") else { return found }
        case .awsAccessKey: guard scanner.contains("AKIA") || scanner.contains("ASIA") else { return found }
        case .awsSecretKey: guard scanner.contains("ecret") || scanner.contains("ECRET") else { return found }
        case .jwt: guard scanner.contains("eyJ") else { return found }
        case .bearer: guard scanner.contains("earer") || scanner.contains("EARER") else { return found }
        case .creditCard: break
        }
        switch self {
        case .email: scanner.emails(&found)
        case .ipv4: scanner.ipv4s(&found)
        case .creditCard: scanner.cards(&found)
        case .awsAccessKey: scanner.accessKeys(&found)
        case .awsSecretKey: scanner.secretKeys(&found)
        case .jwt: scanner.tokens(&found)
        case .bearer: scanner.bearers(&found)
        }
        return found
    }
}

/// The scanners behind `BuiltinMask`, over one text.
private struct Scanner {
    let text: UnsafeBufferPointer<UInt8>
    var count: Int { text.count }

    static let digit: UInt8 = 1
    static let letter: UInt8 = 2
    /// Letters and digits.
    static let word: UInt8 = 4
    /// Besides word bytes, what an email's local part may hold.
    static let local: UInt8 = 8
    /// The standard base64 alphabet.
    static let base64: UInt8 = 16
    /// The base64url alphabet.
    static let url: UInt8 = 32

    /// The classes of `byte`, by comparison (no table to load in the loops).
    @inline(__always)
    static func classes(of byte: UInt8) -> UInt8 {
        if byte &- 48 < 10 { return digit | word | base64 | url }
        if (byte | 0x20) &- 97 < 26 { return letter | word | base64 | url }
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "%"): return local
        case UInt8(ascii: "+"): return local | base64
        case UInt8(ascii: "-"): return local | url
        case UInt8(ascii: "_"): return local | url
        case UInt8(ascii: "/"): return base64
        default: return 0
        }
    }

    /// Whether `needle` is anywhere in the text.
    func contains(_ needle: StaticString) -> Bool {
        ByteSearch.find(UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount), in: text) != nil
    }

    func has(_ index: Int, _ kind: UInt8) -> Bool {
        index >= 0 && index < count && Self.classes(of: text[index]) & kind != 0
    }

    func isDigit(_ index: Int) -> Bool { index >= 0 && index < count && text[index] &- 48 < 10 }

    /// Whether `word` (lowercase ASCII) is at `index`, in any case.
    func hasWord(_ word: StaticString, at index: Int) -> Bool {
        let length = word.utf8CodeUnitCount
        guard index >= 0, index + length <= count else { return false }
        let letters = word.utf8Start
        for offset in 0..<length where text[index + offset] | 0x20 != letters[offset] {
            return false
        }
        return true
    }

    /// `local@domain.tld`: found at each `@`, grown both ways.
    mutating func emails(_ found: inout [Range<Int>]) {
        var index = 0
        var taken = 0
        while index < count {
            guard text[index] == UInt8(ascii: "@") else {
                index += 1
                continue
            }
            var start = index
            while start > taken, has(start - 1, Self.word | Self.local) { start -= 1 }
            // A local part does not begin or end with a dot.
            while start < index, text[start] == UInt8(ascii: ".") { start += 1 }
            var end = index + 1
            while end < count, has(end, Self.word) || text[end] == UInt8(ascii: "-") || text[end] == UInt8(ascii: ".") {
                // A dot first, or two dots, end a domain.
                if text[end] == UInt8(ascii: "."), end == index + 1 || text[end - 1] == UInt8(ascii: ".") { break }
                end += 1
            }
            while end > index + 1, text[end - 1] == UInt8(ascii: ".") || text[end - 1] == UInt8(ascii: "-") {
                end -= 1
            }
            var lastDot = end - 1
            while lastDot > index, text[lastDot] != UInt8(ascii: ".") { lastDot -= 1 }
            // The top-level domain: two letters or more after the last dot.
            var tld = 0
            if lastDot > index, lastDot < end {
                tld = end - lastDot - 1
                for position in (lastDot + 1)..<end where !has(position, Self.letter) { tld = 0 }
            }
            if start < index, text[index - 1] != UInt8(ascii: "."), tld >= 2 {
                found.append(start..<end)
                taken = end
                index = end
            } else {
                index += 1
            }
        }
    }

    /// Four dotted numbers of 0 to 255, not part of a longer dotted run (a version `1.2.3.4.5`).
    mutating func ipv4s(_ found: inout [Range<Int>]) {
        var index = 0
        while index < count {
            guard isDigit(index), !isDigit(index - 1), !has(index - 1, Self.letter),
                !(index >= 2 && text[index - 1] == UInt8(ascii: ".") && isDigit(index - 2))
            else {
                index += 1
                continue
            }
            var position = index
            var parts = 0
            while parts < 4 {
                var value = 0
                var digits = 0
                while isDigit(position), digits < 4 {
                    value = value * 10 + Int(text[position] - 48)
                    digits += 1
                    position += 1
                }
                guard digits >= 1, digits <= 3, value <= 255 else { break }
                parts += 1
                if parts < 4 {
                    guard position < count, text[position] == UInt8(ascii: "."), isDigit(position + 1) else { break }
                    position += 1
                }
            }
            let followed =
                has(position, Self.word)
                || (position + 1 < count && text[position] == UInt8(ascii: ".") && isDigit(position + 1))
            if parts == 4, !followed {
                found.append(index..<position)
                index = position
            } else {
                // Past this run of digits and dots: no address starts inside it.
                index += 1
                while isDigit(index) || (index < count && text[index] == UInt8(ascii: ".") && isDigit(index + 1)) {
                    index += 1
                }
            }
        }
    }

    /// Card numbers: digits with single separators, 13 to 19 of them, Luhn-valid.
    mutating func cards(_ found: inout [Range<Int>]) {
        var index = 0
        var digits = [Int](repeating: 0, count: 19)
        while index < count {
            guard isDigit(index), !has(index - 1, Self.word) else {
                index += 1
                continue
            }
            var position = index
            var total = 0
            var end = index
            var separator: UInt8 = 0
            while position < count {
                if isDigit(position) {
                    if total == 19 {
                        total = 20
                        break
                    }
                    digits[total] = Int(text[position] - 48)
                    total += 1
                    position += 1
                    end = position
                } else if (text[position] == UInt8(ascii: " ") || text[position] == UInt8(ascii: "-")),
                    separator == 0 || separator == text[position], isDigit(position + 1), total > 0
                {
                    // One kind of separator per number: "4111 1111-1111 1111" is not one.
                    separator = text[position]
                    position += 1
                } else {
                    break
                }
            }
            if total >= 13, total <= 19, digits[0] >= 2, digits[0] <= 6, !has(end, Self.word),
                Self.luhn(digits[0..<total])
            {
                found.append(index..<end)
                index = end
            } else {
                index = max(index + 1, end)
                while isDigit(index) { index += 1 }
            }
        }
    }

    static func luhn(_ digits: ArraySlice<Int>) -> Bool {
        var sum = 0
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 1 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return sum % 10 == 0
    }

    /// `AKIA` or `ASIA` and 16 capitals or digits, standing alone.
    mutating func accessKeys(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 20 <= count {
            guard text[index] == UInt8(ascii: "A"), text[index + 2] == UInt8(ascii: "I"),
                text[index + 3] == UInt8(ascii: "A"),
                text[index + 1] == UInt8(ascii: "K") || text[index + 1] == UInt8(ascii: "S"), !has(index - 1, Self.word)
            else {
                index += 1
                continue
            }
            var length = 4
            while length < 20, index + length < count,
                text[index + length] &- 48 < 10 || text[index + length] &- 65 < 26
            {
                length += 1
            }
            if length == 20, !has(index + 20, Self.word) {
                found.append(index..<(index + 20))
                index += 20
            } else {
                index += 1
            }
        }
    }

    /// 40 base64 characters after a name that says secret key: `aws_secret_access_key`,
    /// `SecretAccessKey`, `secret_key`, `secret-access-key`, then `=`, `:`, quotes or spaces.
    mutating func secretKeys(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 6 < count {
            guard text[index] | 0x20 == UInt8(ascii: "s"), hasWord("secret", at: index) else {
                index += 1
                continue
            }
            var position = index + 6
            func separator(_ at: Int) -> Bool {
                at < count && (text[at] == UInt8(ascii: "_") || text[at] == UInt8(ascii: "-"))
            }
            if separator(position) { position += 1 }
            if hasWord("access", at: position) {
                position += 6
                if separator(position) { position += 1 }
            }
            guard hasWord("key", at: position) else {
                index += 1
                continue
            }
            position += 3
            // Up to a few quotes, spaces, `=` or `:` between the name and the key.
            var gap = 0
            while position < count, gap < 6,
                text[position] == UInt8(ascii: "\"") || text[position] == UInt8(ascii: "'")
                    || text[position] == UInt8(ascii: " ") || text[position] == UInt8(ascii: "=")
                    || text[position] == UInt8(ascii: ":") || text[position] == UInt8(ascii: "\t")
            {
                position += 1
                gap += 1
            }
            var length = 0
            while length <= 40, has(position + length, Self.base64) { length += 1 }
            if gap > 0, length == 40 {
                found.append(position..<(position + 40))
                index = position + 40
            } else {
                index = position
            }
        }
    }

    /// `eyJ…` header, a dot, a payload, a dot, a signature (which may be empty).
    mutating func tokens(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 3 < count {
            guard text[index] == UInt8(ascii: "e"), text[index + 1] == UInt8(ascii: "y"),
                text[index + 2] == UInt8(ascii: "J"), !has(index - 1, Self.url)
            else {
                index += 1
                continue
            }
            var position = index
            var parts = 0
            var short = false
            while parts < 3 {
                let start = position
                while has(position, Self.url) { position += 1 }
                if parts < 2 && position - start < 4 { short = true }
                parts += 1
                guard parts < 3 else { break }
                guard position < count, text[position] == UInt8(ascii: ".") else { break }
                position += 1
            }
            if parts == 3, !short {
                found.append(index..<position)
                index = position
            } else {
                index += 3
            }
        }
    }

    /// `Bearer <token>`: the token (RFC 6750's characters) after the word and its spaces.
    mutating func bearers(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 7 < count {
            guard text[index] | 0x20 == UInt8(ascii: "b"), hasWord("bearer", at: index), !has(index - 1, Self.word),
                text[index + 6] == UInt8(ascii: " ")
            else {
                index += 1
                continue
            }
            var position = index + 6
            while position < count, text[position] == UInt8(ascii: " ") { position += 1 }
            let start = position
            while position < count, Self.isTokenByte(text[position]) { position += 1 }
            // A token is long; "the bearer of bad news" is not one.
            if position - start >= 8 {
                found.append(start..<position)
            }
            index = max(position, index + 1)
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        classes(of: byte) & word != 0 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
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
