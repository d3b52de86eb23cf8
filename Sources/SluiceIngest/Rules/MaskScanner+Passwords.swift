#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The password scanner: values named as secrets, in text and as JSON members.
extension MaskScanner {
    /// What a password's name ends with, lowercase (matched in any case): `db_password`,
    /// `dbPassword`, `client_secret`, `access_token` and `apiKey` among them.
    static let passwordNames: [StaticString] = [
        "password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey",
    ]

    /// Tokens that are not secrets: a page's or a sync's place, a request's idempotency key, .NET's
    /// cancellation (`nextToken`, `NextPageToken`, `continuation_token`, `CancellationToken`).
    static let placeTokens: [StaticString] = [
        "next", "page", "continuation", "pagination", "sync", "cancellation", "idempotency",
    ]

    /// Whether a password's name ends at `end`, starting at a word's start (after a byte that is
    /// no letter or digit, an escape's letter, or a lowercase letter when it starts uppercase).
    func passwordName(endingAt end: Int) -> Bool {
        for name in Self.passwordNames {
            let start = end - name.utf8CodeUnitCount
            guard hasWord(name, at: start) else { continue }
            if hasWord("token", at: start) {
                let separated = isByte(start - 1, UInt8(ascii: "_")) || isByte(start - 1, UInt8(ascii: "-"))
                let placeEnd = start - (separated ? 1 : 0)
                if Self.placeTokens.contains(where: { hasWord($0, at: placeEnd - $0.utf8CodeUnitCount) }) {
                    return false
                }
            }
            if !continues(start, Self.word) { return true }
            if text[start] &- 65 < 26, text[start - 1] &- 97 < 26 { return true }
        }
        return false
    }

    /// Whether the text (a JSON member's name) ends with a password's name.
    func namesPassword() -> Bool { count > 0 && passwordName(endingAt: count) }

    /// The value of `password=value`, `password='value'`, `"password": "value"` and
    /// `'password': 'value'` (`\"password\": \"value\"` in JSON printed as text), for each name of
    /// `passwordNames`. A value already masked stays as it is.
    mutating func passwords(_ found: inout [Range<Int>]) {
        // Every line has a `:` or an `=` somewhere (a time, at least): `memchr` jumps from one to
        // the next, rather than a look at every byte.
        var nextEquals = next(UInt8(ascii: "="), from: 1)
        var nextColon = next(UInt8(ascii: ":"), from: 1)
        var index = 1
        while true {
            if nextEquals < index { nextEquals = next(UInt8(ascii: "="), from: index) }
            if nextColon < index { nextColon = next(UInt8(ascii: ":"), from: index) }
            index = min(nextEquals, nextColon)
            guard index < count else { break }
            let byte = text[index]
            var value: Range<Int>?
            if byte == UInt8(ascii: "="), !isByte(index + 1, UInt8(ascii: "=")), passwordName(endingAt: index) {
                value = quotedValue(at: index + 1) ?? plainValue(at: index + 1)
            } else if byte == UInt8(ascii: ":"),
                text[index - 1] == UInt8(ascii: "\"") || text[index - 1] == UInt8(ascii: "'")
            {
                let nameEnd = isByte(index - 2, UInt8(ascii: "\\")) ? index - 2 : index - 1
                if passwordName(endingAt: nameEnd) {
                    var start = index + 1
                    while isByte(start, UInt8(ascii: " ")) { start += 1 }
                    value = quotedValue(at: start)
                }
            }
            if let value, !value.isEmpty, !hasMask(at: value.lowerBound) {
                found.append(value)
                index = value.upperBound
            } else {
                index += 1
            }
        }
    }

    /// The inside of a value quoted by `"`, `'` or `\"` at `start`, to its closing quote (or the
    /// end of the text: a cut line's value is still a secret).
    func quotedValue(at start: Int) -> Range<Int>? {
        guard start < count else { return nil }
        let escapedQuote = text[start] == UInt8(ascii: "\\") && isByte(start + 1, UInt8(ascii: "\""))
        guard escapedQuote || text[start] == UInt8(ascii: "\"") || text[start] == UInt8(ascii: "'") else {
            return nil
        }
        let quote = escapedQuote ? UInt8(ascii: "\"") : text[start]
        let first = start + (escapedQuote ? 2 : 1)
        var position = first
        while position < count {
            if escapedQuote {
                if text[position] == UInt8(ascii: "\\"), isByte(position + 1, quote) { break }
            } else if text[position] == quote, !escaped(position) {
                break
            }
            position += 1
        }
        return first..<position
    }

    /// An unquoted value at `start`: to a space, a quote, a backslash or what ends a query's or a
    /// list's item.
    func plainValue(at start: Int) -> Range<Int> {
        var position = start
        scan: while position < count {
            switch text[position] {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: "&"),
                UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "\\"),
                UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "<"), UInt8(ascii: ">"):
                break scan
            default: position += 1
            }
        }
        return start..<position
    }

    /// Whether another mask's placeholder is at `index`.
    func hasMask(at index: Int) -> Bool {
        isByte(index, UInt8(ascii: "[")) && hasWord("masked:", at: index + 1)
    }
}
