/// The scanners of secrets: keys, tokens, passwords and credentials.
extension MaskScanner {
    /// `AKIA` or `ASIA` and 16 capitals or digits, standing alone.
    mutating func accessKeys(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 20 <= count {
            guard text[index] == UInt8(ascii: "A"), text[index + 2] == UInt8(ascii: "I"),
                text[index + 3] == UInt8(ascii: "A"),
                text[index + 1] == UInt8(ascii: "K") || text[index + 1] == UInt8(ascii: "S"),
                !continues(index, Self.word)
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

    /// The end of a secret-key name at `index`: `secret`, then `access` and `key`, each perhaps
    /// after a `_` or `-` (`aws_secret_access_key`, `SecretAccessKey`, `secret-key`), in any case.
    func secretKeyName(at index: Int) -> Int? {
        guard text[index] | 0x20 == UInt8(ascii: "s"), hasWord("secret", at: index) else { return nil }
        var position = index + 6
        if isByte(position, UInt8(ascii: "_")) || isByte(position, UInt8(ascii: "-")) { position += 1 }
        if hasWord("access", at: position) {
            position += 6
            if isByte(position, UInt8(ascii: "_")) || isByte(position, UInt8(ascii: "-")) { position += 1 }
        }
        return hasWord("key", at: position) ? position + 3 : nil
    }

    /// The end of a session-token name at `index`: `session` or `security`, perhaps a `_` or
    /// `-`, and `token` (`SessionToken`, `aws_session_token`, `X-Amz-Security-Token`), in any case.
    func sessionTokenName(at index: Int) -> Int? {
        guard text[index] | 0x20 == UInt8(ascii: "s") else { return nil }
        var position: Int
        if hasWord("session", at: index) {
            position = index + 7
        } else if hasWord("security", at: index) {
            position = index + 8
        } else {
            return nil
        }
        if isByte(position, UInt8(ascii: "_")) || isByte(position, UInt8(ascii: "-")) { position += 1 }
        return hasWord("token", at: position) ? position + 5 : nil
    }

    /// Whether the text (a JSON member's name) ends with a secret-key name.
    func namesSecretKey() -> Bool {
        for index in 0..<count where secretKeyName(at: index) == count { return true }
        return false
    }

    /// Whether the text (a JSON member's name) ends with a session-token name.
    func namesSessionToken() -> Bool {
        for index in 0..<count where sessionTokenName(at: index) == count { return true }
        return false
    }

    /// Where the value after a name ending at `position` starts: past a few quotes (escaped ones
    /// too: JSON printed as text), spaces, `=`, `:` or an XML tag's `>`; nil when nothing is between.
    func valueStart(after position: Int) -> Int? {
        var position = position
        var gap = 0
        while position < count, gap < 10 {
            switch text[position] {
            case UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: " "), UInt8(ascii: "="), UInt8(ascii: ":"),
                UInt8(ascii: "\t"), UInt8(ascii: "\\"), UInt8(ascii: ">"):
                position += 1
                gap += 1
            default:
                return gap > 0 ? position : nil
            }
        }
        return gap > 0 && gap < 10 ? position : nil
    }

    /// 40 base64 characters after a name that says secret key (`secretKeyName`), then `=`, `:`,
    /// quotes, spaces or `>`.
    mutating func secretKeys(_ found: inout [Range<Int>]) {
        values(&found, after: secretKeyName(at:)) { start in
            var length = 0
            while length <= 40, has(start + length, Self.base64) { length += 1 }
            return length == 40 ? start + 40 : nil
        }
    }

    /// 16 characters or more of base64 (URL-encoded too) after a session-token name.
    mutating func sessionTokens(_ found: inout [Range<Int>]) {
        values(&found, after: sessionTokenName(at:)) { start in
            var position = start
            while has(position, Self.base64 | Self.url) || isByte(position, UInt8(ascii: "="))
                || isByte(position, UInt8(ascii: "%"))
            {
                position += 1
            }
            return position - start >= 16 ? position : nil
        }
    }

    /// Each value after a name: `name` gives the end of a name at an index, `valueEnd` the end of
    /// the value that starts at an index (past `valueStart`'s gap), nil when none does.
    func values(_ found: inout [Range<Int>], after name: (Int) -> Int?, valueEnd: (Int) -> Int?) {
        var index = 0
        while index < count {
            guard let nameEnd = name(index) else {
                index += 1
                continue
            }
            guard let start = valueStart(after: nameEnd) else {
                index = nameEnd
                continue
            }
            if let end = valueEnd(start) {
                found.append(start..<end)
                index = end
            } else {
                index = start
            }
        }
    }

    /// `eyJ…` header, a dot, a payload, a dot, a signature (which may be empty).
    mutating func tokens(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 3 < count {
            guard text[index] == UInt8(ascii: "e"), text[index + 1] == UInt8(ascii: "y"),
                text[index + 2] == UInt8(ascii: "J"), !continues(index, Self.url)
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

    /// `Bearer <token>`: the token (RFC 6750's characters) after the word and its spaces, when it
    /// looks like one: 16 characters or more, or 8 or more with a digit or one of `-._~+/=`.
    /// "the bearer of bad news", `Bearer authorization` and `Bearer undefined` stay.
    mutating func bearers(_ found: inout [Range<Int>]) {
        credentials(&found, after: "bearer", of: Self.isTokenByte) { token in
            token.count >= 16 || (token.count >= 8 && token.contains { !has($0, Self.letter) })
        }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        classes(of: byte) & word != 0 || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "/") || byte == UInt8(ascii: "=")
    }

    /// `Basic <base64>`: the credentials of an `Authorization` header. The word stays, and so does
    /// what is no padded base64 of 8 characters or more with a digit, `+`, `/`, `=` or both cases
    /// ("Basic authentication failed").
    mutating func basicCredentials(_ found: inout [Range<Int>]) {
        credentials(&found, after: "basic", of: Self.isBase64Byte) { token in
            guard token.count >= 8, token.count % 4 == 0, !has(token.upperBound, Self.url) else { return false }
            let upper = token.contains { text[$0] &- 65 < 26 }
            let lower = token.contains { text[$0] &- 97 < 26 }
            return (upper && lower) || token.contains { !has($0, Self.letter) }
        }
    }

    static func isBase64Byte(_ byte: UInt8) -> Bool { classes(of: byte) & base64 != 0 || byte == UInt8(ascii: "=") }

    /// Each run of `isCredentialByte` bytes after an `Authorization` scheme's name (`bearer`,
    /// `basic`: lowercase) standing alone and its spaces, that `accepts` takes for credentials.
    func credentials(
        _ found: inout [Range<Int>], after scheme: StaticString, of isCredentialByte: (UInt8) -> Bool,
        accepts: (Range<Int>) -> Bool
    ) {
        let length = scheme.utf8CodeUnitCount
        var index = 0
        while index + length < count {
            guard text[index] | 0x20 == scheme.utf8Start[0], hasWord(scheme, at: index), !continues(index, Self.word),
                text[index + length] == UInt8(ascii: " ")
            else {
                index += 1
                continue
            }
            var position = index + length
            while isByte(position, UInt8(ascii: " ")) { position += 1 }
            let start = position
            while position < count, isCredentialByte(text[position]) { position += 1 }
            if accepts(start..<position) { found.append(start..<position) }
            index = max(position, index + 1)
        }
    }

    /// The password of `scheme://user:password@host` (`redis://:password@host` too): after the
    /// first `:` of what is before the last `@` of the authority. The user and host stay.
    mutating func urlPasswords(_ found: inout [Range<Int>]) {
        var index = 0
        while index + 3 < count {
            guard text[index] == UInt8(ascii: ":"), text[index + 1] == UInt8(ascii: "/"),
                text[index + 2] == UInt8(ascii: "/"), has(index - 1, Self.letter)
            else {
                index += 1
                continue
            }
            let start = index + 3
            var end = start
            var at: Int?
            var colon: Int?
            authority: while end < count {
                switch text[end] {
                case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: " "), UInt8(ascii: "\""),
                    UInt8(ascii: "'"), UInt8(ascii: "\\"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "\t"),
                    UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    break authority
                case UInt8(ascii: "@"): at = end
                case UInt8(ascii: ":"): if colon == nil { colon = end }
                default: break
                }
                end += 1
            }
            if let at, let colon, colon < at, colon + 1 < at {
                found.append((colon + 1)..<at)
            }
            index = max(end, index + 1)
        }
    }

    /// A PEM private key: from `-----BEGIN … PRIVATE KEY-----` to the end of its `-----END …
    /// PRIVATE KEY-----`, or to the end of the text when the end line is not in it.
    mutating func privateKeys(_ found: inout [Range<Int>]) {
        var index = 0
        while let begin = find("-----BEGIN ", from: index) {
            guard let header = find("PRIVATE KEY-----", from: begin), header - begin < 64 else {
                index = begin + 11
                continue
            }
            var end = count
            var search = header + 16
            while let close = find("-----END ", from: search) {
                if let footer = find("PRIVATE KEY-----", from: close), footer - close < 64 {
                    end = footer + 16
                    break
                }
                search = close + 9
            }
            found.append(begin..<end)
            index = end
        }
    }

    func find(_ needle: StaticString, from start: Int) -> Int? {
        ByteSearch.find(
            UnsafeBufferPointer(start: needle.utf8Start, count: needle.utf8CodeUnitCount), in: text, from: start)
    }
}
