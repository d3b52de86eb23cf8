#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The scanners behind `BuiltinMask`, over one text: what they share, and the masks of personal
/// data (addresses, cards); the secrets' scanners are in `MaskScanner+Secrets.swift`.
struct MaskScanner {
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
    /// The bytes of UTF-8 beyond ASCII.
    static let beyondASCII: UInt8 = 64

    /// The classes of `byte`, by comparison (no table to load in the loops).
    @inline(__always)
    static func classes(of byte: UInt8) -> UInt8 {
        if byte &- 48 < 10 { return digit | word | base64 | url }
        if (byte | 0x20) &- 97 < 26 { return letter | word | base64 | url }
        if byte >= 0x80 { return beyondASCII }
        switch byte {
        case UInt8(ascii: "."), UInt8(ascii: "%"), UInt8(ascii: "'"): return local
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

    /// The first digit at or after `index`, or `count`: eight bytes at a time while none of them
    /// is one (most of a log line is letters and punctuation, which the card and address scans
    /// would otherwise look at one by one).
    func nextDigit(from index: Int) -> Int {
        var position = max(index, 0)
        if let base = text.baseAddress {
            while position + 8 <= count,
                !Self.hasDigit(UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self))
            {
                position += 8
            }
        }
        while position < count, text[position] &- 48 >= 10 { position += 1 }
        return position
    }

    /// Where `byte` next is at or after `start` (`memchr`), or `count`.
    func next(_ byte: UInt8, from start: Int) -> Int {
        guard start >= 0, start < count, let base = text.baseAddress,
            let hit = memchr(base + start, Int32(byte), count - start)
        else { return count }
        return base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
    }

    /// Whether one of the eight bytes of `word` is an ASCII digit. `word ^ 0x30…` turns exactly the
    /// digits into the bytes below 10, and a byte `x` is below 10 just when `(x - 10) & ~x` has its
    /// high bit (exact for whether any byte is; a borrow only spreads above one that is).
    @inline(__always)
    static func hasDigit(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let shifted = word ^ (ones &* 0x30)
        return (shifted &- ones &* 10) & ~shifted & 0x8080_8080_8080_8080 != 0
    }

    func isByte(_ index: Int, _ byte: UInt8) -> Bool { index >= 0 && index < count && text[index] == byte }

    /// Whether `word` (lowercase ASCII) is at `index`, its letters in any case.
    func hasWord(_ word: StaticString, at index: Int) -> Bool {
        let length = word.utf8CodeUnitCount
        guard index >= 0, index + length <= count else { return false }
        let letters = word.utf8Start
        for offset in 0..<length {
            let byte = text[index + offset]
            let wanted = letters[offset]
            if byte != wanted, byte | 0x20 != wanted || wanted &- 97 >= 26 { return false }
        }
        return true
    }

    /// Whether what is at `index` continues a word of `kind` bytes before it. A text that holds
    /// escaped text (JSON printed as a string) has `\n` where a line broke: the escape's letter
    /// ends a word as the line break does, so `\n4111…` starts a number.
    func continues(_ index: Int, _ kind: UInt8) -> Bool {
        has(index - 1, kind) && !endsEscape(index - 1)
    }

    /// Whether the byte at `index` is the last of a backslash escape: `\n`, `\t`, `\u003c`.
    func endsEscape(_ index: Int) -> Bool {
        if escaped(index) { return true }
        guard index >= 5, text[index - 4] == UInt8(ascii: "u"), escaped(index - 4) else { return false }
        for position in (index - 3)...index {
            let byte = text[position]
            guard byte &- 48 < 10 || (byte | 0x20) &- 97 < 6 else { return false }
        }
        return true
    }

    /// Whether the byte at `index` follows a backslash that is not itself escaped.
    func escaped(_ index: Int) -> Bool {
        var backslashes = 0
        var position = index - 1
        while position >= 0, text[position] == UInt8(ascii: "\\") {
            backslashes += 1
            position -= 1
        }
        return backslashes % 2 == 1
    }

    /// The length of the punctuation or space beyond ASCII at `index` (a no-break space, `«`,
    /// curly quotes, `…`, an ideographic comma), which ends an address as ASCII punctuation
    /// does; 0 for anything else.
    func punctuationLength(at index: Int) -> Int {
        guard index < count else { return 0 }
        switch text[index] {
        case 0xC2: return index + 1 < count && text[index + 1] &- 0x80 < 0x40 ? 2 : 0
        case 0xE2: return index + 2 < count && (text[index + 1] == 0x80 || text[index + 1] == 0x81) ? 3 : 0
        case 0xE3: return index + 2 < count && text[index + 1] == 0x80 ? 3 : 0
        default: return 0
        }
    }

    // MARK: Personal data

    /// `local@domain.tld`: found at each `@`, grown both ways. Letters beyond ASCII count as
    /// letters (`jürgen@bücher.de`), punctuation beyond ASCII does not.
    mutating func emails(_ found: inout [Range<Int>]) {
        var index = 0
        var taken = 0
        while index < count {
            guard text[index] == UInt8(ascii: "@") else {
                index += 1
                continue
            }
            var start = index
            while start > taken, has(start - 1, Self.word | Self.local | Self.beyondASCII) { start -= 1 }
            // Not from inside an escape: `\u003calice@…` is `<alice@…`, `\nalice@…` a new line's.
            if start < index, escaped(start) {
                let hex = text[start] == UInt8(ascii: "u") && start + 4 < index && endsEscape(start + 4)
                start += hex ? 5 : 1
            }
            var position = start
            while position < index {
                let punctuation = punctuationLength(at: position)
                if punctuation > 0 { start = position + punctuation }
                position += max(punctuation, 1)
            }
            // A local part does not begin with a dot or a quote, nor end with a dot.
            while start < index, text[start] == UInt8(ascii: ".") || text[start] == UInt8(ascii: "'") { start += 1 }
            var end = index + 1
            while end < count,
                has(end, Self.word | Self.beyondASCII) || text[end] == UInt8(ascii: "-")
                    || text[end] == UInt8(ascii: ".")
            {
                // A dot first, or two dots, end a domain.
                if text[end] == UInt8(ascii: "."), end == index + 1 || text[end - 1] == UInt8(ascii: ".") { break }
                if punctuationLength(at: end) > 0 { break }
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
                for position in (lastDot + 1)..<end where !has(position, Self.letter | Self.beyondASCII) { tld = 0 }
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

    /// Four dotted numbers of 0 to 255, not part of a longer dotted run (a version `1.2.3.4.5`),
    /// nor a version after a product's name (`Chrome/120.0.0.0`) or after `version`
    /// (`Version=8.0.0.0`, `v10.0.0.1`).
    mutating func ipv4s(_ found: inout [Range<Int>]) {
        var index = 0
        while true {
            index = nextDottedRun(from: index)
            guard index < count else { break }
            guard !isDigit(index - 1), !continues(index, Self.letter),
                !(index >= 2 && text[index - 1] == UInt8(ascii: ".") && isDigit(index - 2)), !followsVersion(index)
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

    /// The start of the next run of digits at or after `index` that a dot follows, or `count`:
    /// the only places an address can begin. Found from the dots (`memchr`), which a log line
    /// has far fewer of than digits (a request id, a timestamp); a run that begins before `index`
    /// has no start at or after it.
    func nextDottedRun(from index: Int) -> Int {
        var dot = index + 1
        while dot < count {
            dot = next(UInt8(ascii: "."), from: dot)
            guard dot < count else { break }
            var start = dot
            while start > index, text[start - 1] &- 48 < 10 { start -= 1 }
            if start < dot, !isDigit(start - 1) { return start }
            dot += 1
        }
        return count
    }

    /// Whether the number at `index` is a version: after `Name/` (a user agent's `Chrome/`; a
    /// URL's `//` is no name), or after `version` and at most two of `=`, `:` and a space.
    func followsVersion(_ index: Int) -> Bool {
        if isByte(index - 1, UInt8(ascii: "/")) { return has(index - 2, Self.word) }
        var position = index
        while position > index - 2, position > 0,
            text[position - 1] == UInt8(ascii: "=") || text[position - 1] == UInt8(ascii: ":")
                || text[position - 1] == UInt8(ascii: " ")
        {
            position -= 1
        }
        return position < index && hasWord("version", at: position - 7)
    }

    /// Card numbers: 13 to 19 digits as cards are written, Luhn-valid. A number is looked for at
    /// each group of digits of a run of groups joined by single spaces (`charging 1999 4111…`);
    /// a run glued to a word (`DE89 3704…`) or a `+` (a phone number) holds none, and a group
    /// after `<word>-` is inside an id (a UUID, `2024-0512-…`).
    mutating func cards(_ found: inout [Range<Int>]) {
        var index = 0
        var glued = false
        while true {
            index = nextDigit(from: index)
            guard index < count else { break }
            guard !isDigit(index - 1) else {
                index += 1
                continue
            }
            let separator = index > 0 ? text[index - 1] : 0
            let inRun = (separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-")) && isDigit(index - 2)
            if !inRun { glued = continues(index, Self.word) || separator == UInt8(ascii: "+") }
            let dashed = separator == UInt8(ascii: "-") && has(index - 2, Self.word)
            if !glued, !dashed, let end = card(at: index) {
                found.append(index..<end)
                index = end
            } else {
                while isDigit(index) { index += 1 }
            }
        }
    }

    /// The end of the card number that starts at `start`, if one does: one group of 13 to 19
    /// digits; groups of four and a last of one to four (`4111 1111 1111 1111`, 19 digits as
    /// 4-4-4-4-3); or 4-6-5 (Amex) and 4-6-4 (Diners), one separator throughout. Of the
    /// groupings the longest that passes Luhn: a CVV or an expiry after the number stays.
    func card(at start: Int) -> Int? {
        var lengths = SIMD8<Int>(repeating: 0)
        var ends = SIMD8<Int>(repeating: 0)
        var groups = 0
        var separator: UInt8 = 0
        var position = start
        while groups < 5 {
            let groupStart = position
            while isDigit(position) { position += 1 }
            lengths[groups] = position - groupStart
            ends[groups] = position
            groups += 1
            guard position + 1 < count, text[position] == UInt8(ascii: " ") || text[position] == UInt8(ascii: "-"),
                separator == 0 || separator == text[position], isDigit(position + 1)
            else { break }
            separator = text[position]
            position += 1
        }
        func accepted(_ last: Int) -> Int? {
            let end = ends[last]
            // Not glued to a word, nor the first part of an id (`…-b1eb-fe27eea55af9`).
            guard !has(end, Self.word), !(isByte(end, UInt8(ascii: "-")) && has(end + 1, Self.word)),
                startsAsCards(start), Self.luhn(text, start..<end)
            else { return nil }
            return end
        }
        if lengths[0] >= 13 { return lengths[0] <= 19 ? accepted(0) : nil }
        guard lengths[0] == 4, groups >= 3 else { return nil }
        if lengths[1] == 6 { return lengths[2] == 5 || lengths[2] == 4 ? accepted(2) : nil }
        guard lengths[1] == 4, lengths[2] == 4, groups >= 4 else { return nil }
        if groups == 5, lengths[3] == 4, (1...3).contains(lengths[4]), let end = accepted(4) { return end }
        return (1...4).contains(lengths[3]) ? accepted(3) : nil
    }

    /// Whether the number at `start` begins as the card networks' do: 3 to 6, or 2200 to 2720
    /// (Mir, Mastercard's 2-series; not a year).
    func startsAsCards(_ start: Int) -> Bool {
        let first = text[start] &- 48
        if first >= 3 && first <= 6 { return true }
        guard first == 2, start + 4 <= count else { return false }
        var prefix = 0
        for position in start..<(start + 4) { prefix = prefix * 10 + Int(text[position] &- 48) }
        return prefix >= 2200 && prefix <= 2720
    }

    /// The Luhn check of the digits in `range` (separators skipped).
    static func luhn(_ text: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Bool {
        var sum = 0
        var doubled = false
        for position in range.reversed() {
            let digit = Int(text[position] &- 48)
            guard digit < 10 else { continue }
            if doubled {
                sum += digit * 2 > 9 ? digit * 2 - 9 : digit * 2
            } else {
                sum += digit
            }
            doubled.toggle()
        }
        return sum % 10 == 0
    }
}
