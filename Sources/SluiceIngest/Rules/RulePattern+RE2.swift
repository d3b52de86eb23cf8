/// Custom rules are written in RE2's syntax (Go's `regexp/syntax`, which Datadog's agent compiles
/// them with) and run by glibc's POSIX extended expressions. Everything RE2 reads is either
/// translated to what means the same to glibc or refused with its position and the fix: a pattern
/// is never silently read another way (a rule that masks less than it says leaks what it was for).
///
/// The process runs in the C locale, so glibc matches bytes: a bracket expression is written out as
/// the ASCII bytes it holds, and a bracket with a character outside ASCII is refused.
extension RulePattern {
    /// What `translate` made of a pattern.
    struct Translation {
        /// The POSIX extended pattern.
        var pattern: String
        /// `(?i)`: glibc's REG_ICASE.
        var caseInsensitive: Bool
        /// `(?m)`: glibc's REG_NEWLINE (`^` and `$` at each line's start and end).
        var multiline: Bool
        /// The POSIX number of each capturing group, in RE2's order.
        var capturing: [Int]
        /// How many groups the POSIX pattern has.
        var groups: Int
    }

    /// RE2's spelling to POSIX extended syntax.
    static func translate(_ source: String) throws(RuleError) -> Translation {
        var characters = Array(source)
        // Leading flags: `(?i)` ignores case, `(?s)` lets `.` match a newline, `(?m)` makes `^` and
        // `$` match at each line's start and end.
        var caseInsensitive = false
        var dotMatchesNewline = false
        var multiline = false
        var offset = 0
        if characters.starts(with: ["(", "?"]), let close = characters.firstIndex(of: ")"), close > 2,
            characters[2..<close].allSatisfy({ $0 == "i" || $0 == "s" || $0 == "m" })
        {
            caseInsensitive = characters[2..<close].contains("i")
            dotMatchesNewline = characters[2..<close].contains("s")
            multiline = characters[2..<close].contains("m")
            offset = close + 1
            characters.removeFirst(offset)
        }
        try checkRepetition(characters, offset: offset)
        var out = ""
        var groups = 0
        var capturing: [Int] = []
        var index = 0
        /// A set as glibc reads it. Under `(?m)` glibc (REG_NEWLINE) keeps a newline out of every
        /// `[^…]` and `.`, where RE2 keeps it out only of a set that holds it: such a set is written
        /// with a newline beside it.
        func set(_ set: ASCIISet, negated: Bool) {
            let written = set.posix(negated: negated)
            if multiline && negated && !set.contains(UInt8(ascii: "\n")) {
                out += "(\(written)|\n)"
                groups += 1
            } else {
                out += written
            }
        }
        /// One character as itself. A character of several bytes is grouped when a quantifier
        /// follows it: glibc would repeat its last byte alone.
        func literal(_ character: Character, position: Int, next: Int) throws(RuleError) {
            if character == "\0" {
                throw RuleError.nul(at: position)
            }
            if character.isASCII {
                out += Self.posixSpecials.contains(character) ? "\\\(character)" : String(character)
            } else if next < characters.count, "*+?{".contains(characters[next]) {
                out += "(\(character))"
                groups += 1
            } else {
                out.append(character)
            }
        }
        while index < characters.count {
            let character = characters[index]
            let position = index + offset
            switch character {
            case "\\":
                guard index + 1 < characters.count else {
                    throw RuleError("the pattern ends in a lone \\; write \\\\ for a backslash", position: position)
                }
                let next = characters[index + 1]
                switch next {
                case "d", "s", "w", "D", "S", "W":
                    set(ASCIISet.perl(next), negated: next.isUppercase)
                    index += 2
                case "b", "B":
                    // ASCII word boundaries in both.
                    out += "\\\(next)"
                    index += 2
                case "A" where multiline, "z" where multiline:
                    throw RuleError(
                        "\\\(next) (the text's \(next == "A" ? "start" : "end")) cannot be told from a line's "
                            + "\(next == "A" ? "start (^)" : "end ($)") under (?m); leave out (?m) or write "
                            + "\(next == "A" ? "^" : "$")",
                        position: position)
                case "A":
                    out += "^"
                    index += 2
                case "z":
                    out += "$"
                    index += 2
                case "Q":
                    // `\Q…\E`: the text between is literal (to the end when there is no `\E`).
                    index += 2
                    while index < characters.count,
                        !(characters[index] == "\\" && index + 1 < characters.count && characters[index + 1] == "E")
                    {
                        index += 1
                        try literal(characters[index - 1], position: index - 1 + offset, next: index)
                    }
                    index += 2
                case "p", "P":
                    throw RuleError("Unicode classes (\\\(next){...}) are not supported", position: position)
                default:
                    let (scalar, end) = try escapedCharacter(characters, at: index, offset: offset)
                    index = end
                    try literal(Character(scalar), position: position, next: index)
                }
            case "[":
                let (members, negated, end) = try bracket(characters, from: index, offset: offset)
                set(members, negated: negated)
                index = end
            case ".":
                // RE2's `.` matches any character but a newline unless `(?s)`; glibc's any (but a
                // newline under REG_NEWLINE).
                if !dotMatchesNewline {
                    out += "[^\n]"
                } else if multiline {
                    out += "(.|\n)"
                    groups += 1
                } else {
                    out += "."
                }
                index += 1
            case "(":
                index += 1
                groups += 1
                guard index < characters.count, characters[index] == "?" else {
                    capturing.append(groups)
                    out += "("
                    continue
                }
                if index + 1 < characters.count, characters[index + 1] == ":" {
                    out += "("
                    index += 2
                    continue
                }
                // `(?P<name>…)` and `(?<name>…)`: capturing groups, numbered as the others.
                var name = index + 1
                if name < characters.count, characters[name] == "P" { name += 1 }
                if name < characters.count, characters[name] == "<" {
                    var end = name + 1
                    while end < characters.count, characters[end].isASCII,
                        characters[end].isLetter || characters[end].isNumber || characters[end] == "_"
                    {
                        end += 1
                    }
                    if end > name + 1, end < characters.count, characters[end] == ">" {
                        capturing.append(groups)
                        out += "("
                        index = end + 1
                        continue
                    }
                }
                let what = index + 1 < characters.count ? String(characters[index + 1]) : ""
                throw RuleError(
                    "(?\(what) is not supported; only (?:...), named groups (?P<name>...) and leading flags (?i), "
                        + "(?s) and (?m) are",
                    position: position)
            case "*", "+", "?", "}":
                if index + 1 < characters.count, characters[index + 1] == "?" {
                    throw RuleError(
                        "lazy quantifiers (\(character)?) are not supported; write the pattern greedy",
                        position: position)
                }
                out.append(character)
                index += 1
            case "{":
                // A count only as `{n}`, `{n,}` or `{n,m}`; any other `{` is itself in RE2 (glibc
                // reads `{,m}` as a count and refuses `{x`).
                out += isCount(characters, at: index) ? "{" : "\\{"
                index += 1
            case ")", "|", "^", "$", "]":
                out.append(character)
                index += 1
            default:
                index += 1
                try literal(character, position: position, next: index)
            }
        }
        return Translation(
            pattern: out, caseInsensitive: caseInsensitive, multiline: multiline, capturing: capturing, groups: groups)
    }

    /// Whether the `{` at `index` begins a count as RE2 reads one: `{n}`, `{n,}` or `{n,m}`.
    static func isCount(_ characters: [Character], at index: Int) -> Bool {
        func digits(from start: Int) -> Int {
            var end = start
            while end < characters.count, characters[end].isASCII, characters[end].isNumber { end += 1 }
            return end
        }
        var end = digits(from: index + 1)
        guard end > index + 1, end < characters.count else { return false }
        if characters[end] == "," { end = digits(from: end + 1) }
        return end < characters.count && characters[end] == "}"
    }

    /// What glibc's extended syntax reads as an operator outside brackets (written escaped when RE2
    /// meant the character). `<`, `>`, `` ` `` and `'` are not among them: escaped, glibc would
    /// read them as anchors.
    static let posixSpecials: Set<Character> = [".", "[", "]", "\\", "(", ")", "*", "+", "?", "{", "}", "|", "^", "$"]

    /// The character of the escape whose backslash is at `index`, and the index after it: a C
    /// escape (`\t`, `\n`, `\r`, `\f`, `\v`, `\a`), hex (`\x2D`, `\x{1F600}`), octal (`\0`, `\012`;
    /// a lone `\1`…`\9` would be a back-reference) or punctuation standing for itself, as Go reads
    /// them. Anything else is refused, as Go refuses it.
    static func escapedCharacter(
        _ characters: [Character], at index: Int, offset: Int
    ) throws(RuleError) -> (
        Unicode.Scalar, Int
    ) {
        let position = index + offset
        let next = characters[index + 1]
        var end = index + 2
        func hex(_ character: Character) -> UInt32? {
            character.isASCII ? character.hexDigitValue.map(UInt32.init) : nil
        }
        switch next {
        case "a": return ("\u{07}", end)
        case "f": return ("\u{0C}", end)
        case "t": return ("\t", end)
        case "n": return ("\n", end)
        case "r": return ("\r", end)
        case "v": return ("\u{0B}", end)
        case "x":
            var value: UInt32 = 0
            if end < characters.count, characters[end] == "{" {
                var digits = 0
                end += 1
                while end < characters.count, let digit = hex(characters[end]), value <= 0x10FFFF {
                    value = value * 16 + digit
                    digits += 1
                    end += 1
                }
                guard digits > 0, end < characters.count, characters[end] == "}", let scalar = Unicode.Scalar(value)
                else {
                    throw RuleError(
                        "\\x{...} takes the hex code of one character (\\x{2D}, \\x{1F600})", position: position)
                }
                return (scalar, end + 1)
            }
            guard end + 1 < characters.count, let high = hex(characters[end]), let low = hex(characters[end + 1]) else {
                throw RuleError("\\x takes two hex digits (\\x2D) or braces (\\x{2D})", position: position)
            }
            return (Unicode.Scalar(UInt8(high * 16 + low)), end + 2)
        case "0"..."9":
            let octal: (Character) -> UInt32? = {
                $0.isASCII && ("0"..."7").contains($0) ? $0.hexDigitValue.map(UInt32.init) : nil
            }
            // `\0`, or `\1`…`\7` with another octal digit; a lone `\1` would be a back-reference.
            guard let leading = octal(next), next == "0" || (end < characters.count && octal(characters[end]) != nil)
            else {
                throw RuleError(
                    "back-references (\\\(next)) are not supported: their matching can take exponential time",
                    position: position)
            }
            var value = leading
            while end < characters.count, end < index + 4, let digit = octal(characters[end]) {
                value = value * 8 + digit
                end += 1
            }
            // At most 0o777: always a scalar.
            return (Unicode.Scalar(value) ?? "\0", end)
        default:
            if next.isASCII, !next.isLetter, !next.isNumber, let scalar = next.unicodeScalars.first {
                return (scalar, end)
            }
            if "dswDSWbBAzpPQE".contains(next) {
                throw RuleError(
                    "\\\(next) does not stand for one character, so it cannot be used here (inside [...] or as a "
                        + "range's end)",
                    position: position)
            }
            throw RuleError("\\\(next) is not an escape RE2 knows; write \\\\ for a backslash", position: position)
        }
    }

    /// The bracket expression whose `[` is at `start`, as RE2 reads it: its ASCII bytes, whether it
    /// is negated, the index after its `]`. A `-` that cannot make a range (after a class or a
    /// range, first or last) is itself, escapes mean what they mean outside, `[:alpha:]` and
    /// `[:word:]` are classes.
    static func bracket(
        _ characters: [Character], from start: Int, offset: Int
    ) throws(RuleError) -> (
        ASCIISet, Bool, Int
    ) {
        var index = start + 1
        var negated = false
        if index < characters.count, characters[index] == "^" {
            negated = true
            index += 1
        }
        var set = ASCIISet()
        var first = true
        while index < characters.count {
            let character = characters[index]
            let position = index + offset
            if character == "]" && !first {
                if set.isEmpty && !negated {
                    throw RuleError("this [...] holds no character a line can have", position: start + offset)
                }
                return (set, negated, index + 1)
            }
            first = false
            if character == "[", let close = classClose(characters, at: index) {
                let name = String(characters[(index + 2)..<close])
                guard let named = ASCIISet.named(name) else {
                    throw RuleError(
                        name.hasPrefix("^")
                            ? "negated classes ([:\(name):]) are not supported inside [...]"
                            : "[:\(name):] is not a class RE2 knows", position: position)
                }
                set.formUnion(named)
                index = close + 2
                continue
            }
            if character == "\\", index + 1 < characters.count {
                let next = characters[index + 1]
                switch next {
                case "d", "s", "w":
                    set.formUnion(.perl(next))
                    index += 2
                    continue
                case "D", "S", "W":
                    throw RuleError("\\\(next) inside [...] is not supported", position: position)
                case "p", "P":
                    throw RuleError("Unicode classes (\\\(next){...}) are not supported", position: position)
                default: break
                }
            }
            // One character, or a range: `-` then anything but the closing `]`.
            var (low, end) = try bracketCharacters(characters, at: index, offset: offset)
            var high = low
            if low.count == 1, end + 1 < characters.count, characters[end] == "-", characters[end + 1] != "]" {
                (high, end) = try bracketCharacters(characters, at: end + 1, offset: offset)
                guard high.count == 1, low[0].value <= high[0].value else {
                    throw RuleError("the range \(String(characters[index..<end])) is out of order", position: position)
                }
            }
            guard high.allSatisfy(\.isASCII) else {
                throw RuleError(
                    "characters beyond ASCII are not supported inside [...] (lines are matched byte by byte); write "
                        + "the choice as a group, (é|è)",
                    position: position)
            }
            for scalar in low.count == 1 ? Array(low[0].value...high[0].value) : low.map(\.value) where scalar > 0 {
                set.insert(UInt8(scalar))
            }
            if low.count == 1 && high[0].value == 0 {
                throw RuleError.nul(at: position)
            }
            index = end
        }
        throw RuleError("a [ is not closed", position: characters.count + offset)
    }

    /// The character (or, for a character of several, such as `\r\n`, the characters) at `index`
    /// inside a bracket, and the index after it.
    private static func bracketCharacters(
        _ characters: [Character], at index: Int, offset: Int
    ) throws(RuleError) -> (
        [Unicode.Scalar], Int
    ) {
        if characters[index] == "\\", index + 1 < characters.count {
            let (scalar, end) = try escapedCharacter(characters, at: index, offset: offset)
            return ([scalar], end)
        }
        return (Array(characters[index].unicodeScalars), index + 1)
    }

    /// The index just past the escape whose backslash is at `index`: `\x{…}`, `\x41`, `\p{…}`,
    /// octal digits and `\Q…\E` take more than one character.
    static func escapeEnd(_ characters: [Character], at index: Int) -> Int {
        guard index + 1 < characters.count else { return characters.count }
        var end = index + 2
        switch characters[index + 1] {
        case "x", "p", "P":
            if end < characters.count, characters[end] == "{" {
                while end < characters.count, characters[end] != "}" { end += 1 }
                end += 1
            } else if characters[index + 1] == "x" {
                end += 2
            } else {
                end += 1
            }
        case "0"..."7":
            while end < characters.count, end < index + 4, ("0"..."7").contains(characters[end]) { end += 1 }
        case "Q":
            while end < characters.count,
                !(characters[end] == "\\" && end + 1 < characters.count && characters[end + 1] == "E")
            {
                end += 1
            }
            end += 2
        default: break
        }
        return min(end, characters.count)
    }

    /// The most a repetition may multiply what it repeats, counted over nested repetitions: RE2's
    /// limit (and Go's).
    static let repetitionLimit = 1_000

    /// Refuses what RE2 refuses about repetition, which glibc would compile into a tree that
    /// grows with the product of every count: a quantifier on a quantifier (`\d++`; glibc's
    /// `regcomp` doubles the tree for each: twenty `+` take 700 MB) and counts that, nested, repeat
    /// something more than 1,000 times (`((a{100}){100}){10}`: 23 MB).
    static func checkRepetition(_ characters: [Character], offset: Int) throws(RuleError) {
        // For each open group: the largest product of counts inside it.
        var groups: [Int] = [1]
        // What a quantifier now would repeat: nothing, an atom (1) or a group (its product).
        var last: Int?
        var quantified = false
        var index = 0
        while index < characters.count {
            let character = characters[index]
            let position = index + offset
            var count: Int?
            switch character {
            case "\\":
                index = escapeEnd(characters, at: index)
                last = 1
                quantified = false
                continue
            case "[":
                index = bracketEnd(characters, from: index, escapes: true)
                last = 1
                quantified = false
                continue
            case "(":
                groups.append(1)
                last = nil
                quantified = false
                index += characters.dropFirst(index).starts(with: ["(", "?", ":"]) ? 3 : 1
                continue
            case ")":
                let inner = groups.count > 1 ? groups.removeLast() : 1
                groups[groups.count - 1] = max(groups[groups.count - 1], inner)
                last = inner
                quantified = false
                index += 1
                continue
            case "|":
                last = nil
                quantified = false
                index += 1
                continue
            case "*", "+", "?": count = 1
            case "{" where isCount(characters, at: index):
                // `{n}`, `{n,}` or `{n,m}`; anything else is not a count.
                var numbers: [Int] = []
                var digits = ""
                var end = index + 1
                while end < characters.count, characters[end].isASCII,
                    characters[end].isNumber || characters[end] == ","
                {
                    if characters[end] == "," {
                        numbers.append(Int(digits.prefix(9)) ?? 0)
                        digits = ""
                    } else {
                        digits.append(characters[end])
                    }
                    end += 1
                }
                if end < characters.count, characters[end] == "}", numbers.count <= 1,
                    !(numbers.isEmpty && digits.isEmpty)
                {
                    if !digits.isEmpty { numbers.append(Int(digits.prefix(9)) ?? Int.max) }
                    count = numbers.max() ?? 0
                    if count! > repetitionLimit {
                        throw RuleError(
                            "a repetition count above \(repetitionLimit) is not supported (RE2 refuses it too)",
                            position: position)
                    }
                    index = end
                }
            default: break
            }
            guard let count else {
                last = 1
                quantified = false
                index += 1
                continue
            }
            if quantified && character == "?" {
                // A lazy quantifier: `translate` refuses it with its own message.
                index += 1
                continue
            }
            if quantified {
                throw RuleError(
                    "a quantifier on a quantifier (\(character) after another) is not supported (RE2 refuses it "
                        + "too); put the repeated part in (?:...)",
                    position: position)
            }
            if let repeated = last {
                let product = repeated * count
                if product > repetitionLimit {
                    throw RuleError(
                        "repetitions nested inside each other repeat more than \(repetitionLimit) times "
                            + "(RE2 refuses that too)",
                        position: position)
                }
                groups[groups.count - 1] = max(groups[groups.count - 1], product)
            }
            quantified = true
            index += 1
        }
    }

    /// Where the `:]` of a class (`[:alpha:]`) whose `[` is at `index` inside a bracket is; nil when
    /// the `[` begins no class (no `[:`, or no `:]` after it: then `[` is a member).
    static func classClose(_ characters: [Character], at index: Int) -> Int? {
        guard index + 1 < characters.count, characters[index + 1] == ":" else { return nil }
        return (index + 2..<characters.count).first {
            characters[$0] == ":" && $0 + 1 < characters.count && characters[$0 + 1] == "]"
        }
    }

    /// The index just past the bracket expression whose `[` is at `start`: a `]` first (or after
    /// `^`) is a member, `[:alpha:]` a class (a `[:` with no `:]` after it is two members), and
    /// with `escapes` (RE2's syntax; in POSIX's a backslash is a member) an escape is read whole.
    static func bracketEnd(_ characters: [Character], from start: Int, escapes: Bool) -> Int {
        var index = start + 1
        if index < characters.count, characters[index] == "^" { index += 1 }
        if index < characters.count, characters[index] == "]" { index += 1 }
        while index < characters.count, characters[index] != "]" {
            if characters[index] == "[", let close = classClose(characters, at: index) {
                index = close + 2
            } else if escapes && characters[index] == "\\" {
                index = escapeEnd(characters, at: index)
            } else {
                index += 1
            }
        }
        return index + 1
    }
}

extension RuleError {
    /// A NUL in a pattern: lines are handed to glibc as C strings, so it could never match.
    static func nul(at position: Int) -> RuleError {
        RuleError("a NUL character (\\x00) is not supported: lines are matched as C strings", position: position)
    }
}

/// A set of ASCII bytes: a bracket expression as RE2 reads it, written out for glibc as the bytes
/// it holds (the C locale's classes are ASCII too).
struct ASCIISet: Equatable {
    private var bits: (UInt64, UInt64) = (0, 0)

    static func == (a: ASCIISet, b: ASCIISet) -> Bool { a.bits == b.bits }

    var isEmpty: Bool { bits == (0, 0) }

    func contains(_ byte: UInt8) -> Bool {
        byte < 64 ? bits.0 & (1 << byte) != 0 : byte < 128 && bits.1 & (1 << (byte - 64)) != 0
    }

    mutating func insert(_ byte: UInt8) {
        if byte < 64 { bits.0 |= 1 << byte } else if byte < 128 { bits.1 |= 1 << (byte - 64) }
    }

    mutating func formUnion(_ other: ASCIISet) {
        bits.0 |= other.bits.0
        bits.1 |= other.bits.1
    }

    init() {}

    init(_ members: String) {
        for byte in members.utf8 { insert(byte) }
    }

    init(_ ranges: ClosedRange<UInt8>...) {
        for range in ranges { for byte in range { insert(byte) } }
    }

    /// `\d`, `\s`, `\w` as RE2 has them (its `\s` has no vertical tab); uppercase: the same set,
    /// negated by the caller.
    static func perl(_ letter: Character) -> ASCIISet {
        switch letter.lowercased() {
        case "d": ASCIISet(0x30...0x39)
        case "s": ASCIISet("\t\n\u{0C}\r ")
        default: ASCIISet(0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x5F...0x5F)
        }
    }

    /// RE2's ASCII classes, `[:alpha:]` and the others.
    static func named(_ name: String) -> ASCIISet? {
        switch name {
        case "alnum": ASCIISet(0x30...0x39, 0x41...0x5A, 0x61...0x7A)
        case "alpha": ASCIISet(0x41...0x5A, 0x61...0x7A)
        case "ascii": ASCIISet(0x01...0x7F)
        case "blank": ASCIISet("\t ")
        case "cntrl": ASCIISet(0x01...0x1F, 0x7F...0x7F)
        case "digit": ASCIISet(0x30...0x39)
        case "graph": ASCIISet(0x21...0x7E)
        case "lower": ASCIISet(0x61...0x7A)
        case "print": ASCIISet(0x20...0x7E)
        case "punct": ASCIISet(0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E)
        case "space": ASCIISet("\t\n\u{0B}\u{0C}\r ")
        case "upper": ASCIISet(0x41...0x5A)
        case "word": perl("w")
        case "xdigit": ASCIISet(0x30...0x39, 0x41...0x46, 0x61...0x66)
        default: nil
        }
    }

    /// The set as a POSIX bracket expression: `]` first, runs of three or more as ranges, and `[`,
    /// `^` and `-` last, where POSIX reads them as themselves.
    func posix(negated: Bool) -> String {
        if isEmpty { return negated ? "." : "[]" }
        let placed: [UInt8] = Array("[]^-".utf8)
        var members = contains(UInt8(ascii: "]")) ? "]" : ""
        var byte: UInt8 = 1
        while byte < 128 {
            guard contains(byte), !placed.contains(byte) else {
                byte += 1
                continue
            }
            var end = byte
            while end + 1 < 128, contains(end + 1), !placed.contains(end + 1) { end += 1 }
            if end - byte >= 2 {
                members += "\(Character(Unicode.Scalar(byte)))-\(Character(Unicode.Scalar(end)))"
            } else {
                for member in byte...end { members.append(Character(Unicode.Scalar(member))) }
            }
            byte = end + 1
        }
        let open = contains(UInt8(ascii: "["))
        let caret = contains(UInt8(ascii: "^"))
        let dash = contains(UInt8(ascii: "-"))
        if !negated && members.isEmpty && !open && caret {
            // `^` first would negate: alone it is written escaped, with a dash after it.
            return dash ? "[-^]" : "\\^"
        }
        return "[" + (negated ? "^" : "") + members + (open ? "[" : "") + (caret ? "^" : "") + (dash ? "-" : "") + "]"
    }
}
