#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A custom rule's pattern, compiled once with glibc's POSIX regular expressions (`regex.h`,
/// extended syntax), which measured 10 to 40 times faster than Swift's `Regex` on log lines
/// (BENCHMARKS.md, "Ingest rules"). Patterns are written as for Datadog's rules (RE2's syntax) and
/// translated to what means the same to glibc (`RulePattern+RE2.swift`); what POSIX cannot do in
/// bounded time (back-references) or at all (lazy quantifiers, `\p{…}`) is refused with its position.
///
/// POSIX search is quadratic at worst on one text (`(a|aa)*c` over 64 KiB of `a` takes seconds),
/// so a long text is searched in windows of `window` bytes, overlapping by `overlap`, and the
/// search stops when the line's time budget is spent (`RuleBudget`); the caller then treats the
/// rest as unscanned.
public final class RulePattern: @unchecked Sendable {
    // @unchecked: the compiled expression is never changed after init, and glibc's regexec may be
    // called on one from several threads (ingest calls it from one at a time anyway).
    private var compiled = regex_t()
    public let source: String
    /// Bytes every match holds (the longest such run of literal characters): a text without them is
    /// not searched at all. Empty when there is none, or the pattern ignores case.
    public let requiredLiteral: [UInt8]
    /// The whole pattern is that literal: matches are found by a byte search alone.
    public let isLiteral: Bool
    /// The pattern is a fixed sequence of byte sets (`\d{3}-\d{2}-\d{4}`): matches are found by a
    /// scan of the bytes instead of glibc's search. Nil for any other pattern.
    package let shape: Shape?

    /// For each capturing group of the pattern as written (`$1` is the first), its number in the
    /// POSIX pattern, where `(?:…)` groups count too.
    package let capturingGroups: [Int]
    /// Groups in the POSIX pattern.
    let posixGroups: Int

    static let window = 2048
    static let overlap = 512

    /// Compiles `source`; the error names the position (a character offset) and the fix.
    public convenience init(_ source: String) throws(RuleError) {
        try self.init(source, scanningShapes: true)
    }

    /// `scanningShapes: false` leaves a fixed shape to glibc too (for measuring the two).
    package init(_ source: String, scanningShapes: Bool) throws(RuleError) {
        self.source = source
        let translation = try Self.translate(source)
        let (translated, caseInsensitive) = (translation.pattern, translation.caseInsensitive)
        capturingGroups = translation.capturing
        posixGroups = translation.groups
        (requiredLiteral, isLiteral) = caseInsensitive ? ([], false) : Self.requiredLiteral(translated)
        // The byte scan knows nothing of lines: a `(?m)` pattern is glibc's.
        shape = caseInsensitive || isLiteral || !scanningShapes || translation.multiline ? nil : Shape(translated)
        let flags = REG_EXTENDED | (caseInsensitive ? REG_ICASE : 0) | (translation.multiline ? REG_NEWLINE : 0)
        let status = regcomp(&compiled, translated, flags)
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, &compiled, &message, message.count)
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw RuleError("the pattern does not compile: \(text)", position: nil)
        }
    }

    deinit { regfree(&compiled) }

    /// The longest run of literal bytes that every match of the POSIX pattern `pattern` holds, and
    /// whether the pattern is nothing but that run. Conservative: an alternation at the top level,
    /// or anything not understood, gives none.
    static func requiredLiteral(_ pattern: String) -> ([UInt8], Bool) {
        let characters = Array(pattern)
        var runs: [[UInt8]] = []
        var current: [UInt8] = []
        var whole = true
        var index = 0
        func endRun() {
            if !current.isEmpty { runs.append(current) }
            current = []
        }
        while index < characters.count {
            var literal: [UInt8]?
            let character = characters[index]
            switch character {
            case "|": return ([], false)
            case "\\":
                guard index + 1 < characters.count else { return ([], false) }
                let next = characters[index + 1]
                // `\w`, `\b` and the other letters are classes or anchors; punctuation is itself.
                if !next.isLetter && !next.isNumber { literal = Array(String(next).utf8) }
                index += 2
            case "[":
                index = bracketEnd(characters, from: index, escapes: false)
            case "(":
                var depth = 0
                while index < characters.count {
                    if characters[index] == "\\" {
                        index += 2
                        continue
                    }
                    if characters[index] == "(" { depth += 1 }
                    if characters[index] == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    index += 1
                }
                index += 1
            case ".", "^", "$": index += 1
            case "*", "+", "?", "{", ")": return ([], false)
            default:
                literal = Array(String(character).utf8)
                index += 1
            }
            // What follows the atom: optional (`?`, `*`, `{0`), repeated (`+`, `{n`), or once.
            var optional = false
            var repeated = false
            if index < characters.count {
                switch characters[index] {
                case "?", "*":
                    optional = true
                    index += 1
                case "+":
                    repeated = true
                    index += 1
                case "{":
                    let next = index + 1 < characters.count ? characters[index + 1] : "0"
                    optional = next == "0" || next == ","
                    repeated = !optional
                    while index < characters.count, characters[index] != "}" { index += 1 }
                    index += 1
                default: break
                }
            }
            guard let literal, !optional, literal.count == 1 || !repeated else {
                endRun()
                whole = false
                continue
            }
            current += literal
            if repeated {
                endRun()
                whole = false
            }
        }
        endRun()
        let longest = runs.max { $0.count < $1.count } ?? []
        return (longest, whole && runs.count == 1)
    }

    /// A pattern that is a sequence of byte sets, each repeated a fixed number of times: every
    /// match has the same length, so POSIX's leftmost-longest match is the first place where each
    /// byte is in its set. Users' masking patterns are often of this shape (an SSN, a card number,
    /// a phone number), and glibc's search costs about 1.5 µs on a line of 250 bytes that holds
    /// the literal they need; Node.js lines all hold `-` and digits, in their timestamp and their
    /// request id.
    ///
    /// Only sets that mean the same bytes in every locale are taken: ASCII characters, `\`-escaped
    /// punctuation, and brackets of ASCII characters and ranges within digits or within letters of
    /// one case (`translate` writes `\d`, `\w` and `[:xdigit:]` so). Anything else (groups,
    /// alternation, `.`, anchors, open repetition, negated brackets, a bracket with a backslash or
    /// a `[`) is left to glibc.
    package struct Shape {
        /// 256 entries per byte of a match: whether that byte value may stand there.
        let allowed: [Bool]
        package let length: Int

        /// The longest match taken (bytes).
        static let longest = 256

        init?(_ pattern: String) {
            let characters = Array(pattern.utf8)
            var sets: [[Bool]] = []
            var index = 0
            while index < characters.count {
                var set = [Bool](repeating: false, count: 256)
                let character = characters[index]
                switch character {
                case UInt8(ascii: "\\"):
                    guard index + 1 < characters.count, Self.isPunctuation(characters[index + 1]) else { return nil }
                    set[Int(characters[index + 1])] = true
                    index += 2
                case UInt8(ascii: "["):
                    guard let end = Self.bracket(characters, from: index + 1, into: &set) else { return nil }
                    index = end
                case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "|"), UInt8(ascii: "."), UInt8(ascii: "^"),
                    UInt8(ascii: "$"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"),
                    UInt8(ascii: "}"), UInt8(ascii: "]"):
                    return nil
                default:
                    guard character >= 0x20, character < 0x7F else { return nil }
                    set[Int(character)] = true
                    index += 1
                }
                var count = 1
                if index < characters.count, characters[index] == UInt8(ascii: "{") {
                    // Only an exact count: `{n}`.
                    var digits = 0
                    index += 1
                    count = 0
                    while index < characters.count, characters[index] &- 48 < 10, digits < 3 {
                        count = count * 10 + Int(characters[index] &- 48)
                        digits += 1
                        index += 1
                    }
                    guard digits > 0, count > 0, index < characters.count, characters[index] == UInt8(ascii: "}")
                    else { return nil }
                    index += 1
                }
                guard sets.count + count <= Self.longest else { return nil }
                sets += repeatElement(set, count: count)
            }
            guard !sets.isEmpty else { return nil }
            allowed = sets.flatMap { $0 }
            length = sets.count
        }

        /// Where the first match that begins in `start..<end` begins (`end` at most one past the
        /// last place a match fits).
        func firstMatch(in text: UnsafeBufferPointer<UInt8>, from start: Int, before end: Int) -> Int? {
            precondition(end <= text.count - length + 1)
            return allowed.withUnsafeBufferPointer { allowed in
                var at = start
                while at < end {
                    var offset = 0
                    while offset < length, allowed[offset &* 256 &+ Int(text[at &+ offset])] { offset += 1 }
                    if offset == length { return at }
                    at += 1
                }
                return nil
            }
        }

        /// Reads a bracket expression's members after its `[`; the index past its `]`, or nil when it
        /// is not one the shape takes.
        private static func bracket(_ characters: [UInt8], from start: Int, into set: inout [Bool]) -> Int? {
            var index = start
            var first = true
            while index < characters.count {
                let character = characters[index]
                if character == UInt8(ascii: "]") && !first { return index + 1 }
                first = false
                // `translate` writes brackets as the bytes they hold (classes as ranges); a `[` among
                // them is left to glibc, as are `^`, a backslash and bytes outside printable ASCII.
                if character == UInt8(ascii: "^") || character == UInt8(ascii: "\\") || character == UInt8(ascii: "[")
                    || character >= 0x7F || character < 0x20
                {
                    return nil
                }
                if index + 2 < characters.count, characters[index + 1] == UInt8(ascii: "-"),
                    characters[index + 2] != UInt8(ascii: "]")
                {
                    // A range, within one of 0-9, a-z or A-Z.
                    let low = character
                    let high = characters[index + 2]
                    guard low <= high, Self.sameKind(low, high) else { return nil }
                    for byte in low...high { set[Int(byte)] = true }
                    index += 3
                    continue
                }
                set[Int(character)] = true
                index += 1
            }
            return nil
        }

        private static func sameKind(_ low: UInt8, _ high: UInt8) -> Bool {
            for range in [
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "A")...UInt8(ascii: "Z"),
            ]
            where range.contains(low) && range.contains(high) {
                return true
            }
            return false
        }

        /// Punctuation that a backslash makes a literal in glibc. Not `<`, `>`, `` ` `` or `'`:
        /// glibc reads those escaped as anchors (`translate` writes them unescaped).
        private static func isPunctuation(_ byte: UInt8) -> Bool {
            byte > 0x20 && byte < 0x7F && !(byte &- 48 < 10) && !((byte | 0x20) &- 97 < 26)
                && !Array("<>`'".utf8).contains(byte)
        }
    }

    /// One search from `start` within `start..<end` of `text`; the match's range.
    private func search(
        _ text: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, groups: inout [Range<Int>?]
    ) -> Range<Int>? {
        guard let base = text.baseAddress else { return nil }
        let wanted = groups.isEmpty ? 0 : posixGroups
        var match = [regmatch_t](repeating: regmatch_t(rm_so: -1, rm_eo: -1), count: wanted + 1)
        match[0] = regmatch_t(rm_so: regoff_t(start), rm_eo: regoff_t(end))
        var flags = REG_STARTEND
        if start > 0 { flags |= REG_NOTBOL }
        if end < text.count { flags |= REG_NOTEOL }
        let status = base.withMemoryRebound(to: CChar.self, capacity: text.count) { pointer in
            regexec(&compiled, pointer, wanted + 1, &match, flags)
        }
        guard status == 0 else { return nil }
        for (number, posix) in capturingGroups.enumerated() where number < groups.count {
            let group = match[posix]
            groups[number] = group.rm_so < 0 ? nil : Int(group.rm_so)..<Int(group.rm_eo)
        }
        return Int(match[0].rm_so)..<Int(match[0].rm_eo)
    }

    /// What one pass over a text found.
    public struct Matches {
        public var ranges: [Range<Int>] = []
        /// With `groups: true`: for each match, where each capturing group matched (nil: not at all).
        public var groups: [[Range<Int>?]] = []

        public init(ranges: [Range<Int>] = []) { self.ranges = ranges }
        /// Where the budget ran out: the text from here on was not searched.
        public var unscannedFrom: Int?
    }

    /// Every match in `text`, in order, not overlapping, within `budget`; `first`: stop at one;
    /// `groups`: where the capturing groups of each match are, too.
    public func matches(
        in text: UnsafeBufferPointer<UInt8>, budget: inout RuleBudget, first: Bool = false, groups: Bool = false
    ) -> Matches {
        var captured = [Range<Int>?](repeating: nil, count: groups ? capturingGroups.count : 0)
        var result = Matches()
        let count = text.count
        if !requiredLiteral.isEmpty {
            let found = requiredLiteral.withUnsafeBufferPointer { needle -> Bool in
                guard var at = ByteSearch.find(needle, in: text) else { return false }
                guard isLiteral else { return true }
                // The pattern is the literal: its occurrences are the matches.
                while true {
                    result.ranges.append(at..<(at + needle.count))
                    if groups { result.groups.append([]) }
                    guard !first, let next = ByteSearch.find(needle, in: text, from: at + needle.count) else { break }
                    at = next
                }
                return true
            }
            if !found || isLiteral { return result }
        }
        if let shape {
            // Linear, but up to `Shape.longest` bytes compared per place: the budget is asked
            // every 4 KiB of places, as glibc's search asks it every window.
            var start = 0
            let last = count - shape.length
            while start <= last {
                if budget.isSpent() {
                    result.unscannedFrom = start
                    break
                }
                let end = min(last + 1, start + 4096)
                guard let found = shape.firstMatch(in: text, from: start, before: end) else {
                    start = end
                    continue
                }
                result.ranges.append(found..<(found + shape.length))
                if groups { result.groups.append(captured) }
                if first { break }
                start = found + shape.length
            }
            return result
        }
        // regexec gets a NUL-terminated copy of the line. glibc reads only rm_so..<rm_eo under
        // REG_STARTEND, but AddressSanitizer's regexec interceptor runs strlen over the subject
        // first: on a line cut out of a larger buffer that reads past it (a report, and, with the
        // report suppressed, a search slow enough to spend the budget). One copy a line, on the
        // stack when it is small, next to a search that costs microseconds.
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: count + 1) { copy in
            _ = copy.initialize(fromContentsOf: text)
            copy[count] = 0
            return search(
                UnsafeBufferPointer(rebasing: copy[0..<count]), budget: &budget, first: first,
                groups: groups, captured: &captured, into: result)
        }
    }

    /// The windowed search of `text` (NUL-terminated just past its end) by regexec.
    private func search(
        _ text: UnsafeBufferPointer<UInt8>, budget: inout RuleBudget, first: Bool, groups: Bool,
        captured: inout [Range<Int>?], into result: Matches
    ) -> Matches {
        var result = result
        let count = text.count
        var position = 0
        while position <= count {
            if budget.isSpent() {
                result.unscannedFrom = position
                return result
            }
            var end = min(count, position + Self.window)
            guard var found = search(text, position, end, groups: &captured) else {
                guard end < count else { break }
                position = max(position + 1, end - Self.overlap)
                continue
            }
            // A match that reaches the window's end may go on: search again from its start, wider.
            while found.upperBound == end, end < count {
                if budget.isSpent() {
                    result.unscannedFrom = found.lowerBound
                    return result
                }
                end = min(count, found.lowerBound + 2 * (end - found.lowerBound))
                found = search(text, found.lowerBound, end, groups: &captured) ?? found
            }
            if !found.isEmpty {
                result.ranges.append(found)
                if groups { result.groups.append(captured) }
            }
            if first && !found.isEmpty { break }
            position = found.isEmpty ? found.upperBound + 1 : found.upperBound
        }
        return result
    }
}

/// A rule that cannot be used, and where in its text the problem is.
public struct RuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    /// A character offset into the pattern, when the problem has one.
    public let position: Int?

    public init(_ message: String, position: Int?) {
        self.message = message
        self.position = position
    }

    public var description: String { position.map { "\(message) (at character \($0))" } ?? message }
}

/// How long the custom patterns may search, per delivery and per line: a pathological pattern on
/// a long line costs at most this, not minutes. Monotonic time.
public struct RuleBudget: Sendable {
    /// The patterns' time for one delivery.
    public static let deliveryNanoseconds: UInt64 = 100_000_000
    /// The patterns' time for one line.
    public static let lineNanoseconds: UInt64 = 20_000_000

    private let deliveryDeadline: UInt64
    private var lineDeadline: UInt64
    /// Whether the budget ran out at least once.
    public private(set) var wasSpent = false

    public init(nanoseconds: UInt64 = deliveryNanoseconds) {
        deliveryDeadline = Self.now() &+ nanoseconds
        lineDeadline = deliveryDeadline
    }

    /// A new line begins: it gets its share of what the delivery has left.
    public mutating func beginLine() {
        lineDeadline = min(deliveryDeadline, Self.now() &+ Self.lineNanoseconds)
    }

    public mutating func isSpent() -> Bool {
        guard Self.now() >= lineDeadline else { return false }
        wasSpent = true
        return true
    }

    static func now() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
