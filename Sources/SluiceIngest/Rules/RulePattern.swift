#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// A custom rule's pattern, compiled once with glibc's POSIX regular expressions (`regex.h`,
/// extended syntax), which measured 10 to 40 times faster than Swift's `Regex` on log lines
/// (BENCHMARKS.md, "Ingest rules"). Patterns are written as for Datadog's rules (RE2's syntax):
/// `\d`, `\D`, `(?:…)`, a leading `(?i)`, `\t` and `\n` are turned into their POSIX forms; what
/// POSIX cannot do in bounded time (back-references) or at all (lazy quantifiers, `\p{…}`) is refused
/// with its position.
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

    /// For each capturing group of the pattern as written (`$1` is the first), its number in the
    /// POSIX pattern, where `(?:…)` groups count too.
    let capturingGroups: [Int]
    /// Groups in the POSIX pattern.
    let posixGroups: Int

    static let window = 2048
    static let overlap = 512

    /// Compiles `source`; the error names the position (a character offset) and the fix.
    public init(_ source: String) throws(RuleError) {
        self.source = source
        let (translated, caseInsensitive, capturing, groups) = try Self.translate(source)
        capturingGroups = capturing
        posixGroups = groups
        (requiredLiteral, isLiteral) = caseInsensitive ? ([], false) : Self.requiredLiteral(translated)
        let flags = REG_EXTENDED | (caseInsensitive ? REG_ICASE : 0)
        let status = regcomp(&compiled, translated, flags)
        guard status == 0 else {
            var message = [CChar](repeating: 0, count: 256)
            regerror(status, &compiled, &message, message.count)
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw RuleError("the pattern does not compile: \(text)", position: nil)
        }
    }

    deinit { regfree(&compiled) }

    /// RE2's spelling to POSIX extended syntax; whether the pattern asked for `(?i)`; the POSIX
    /// number of each capturing group; how many groups the POSIX pattern has.
    static func translate(_ source: String) throws(RuleError) -> (String, Bool, [Int], Int) {
        var groups = 0
        var capturing: [Int] = []
        var characters = Array(source)
        var caseInsensitive = false
        if characters.starts(with: Array("(?i)")) {
            caseInsensitive = true
            characters.removeFirst(4)
        }
        let offset = caseInsensitive ? 4 : 0
        var out = ""
        var index = 0
        var inBracket = false
        while index < characters.count {
            let character = characters[index]
            let position = index + offset
            if character == "\\", index + 1 < characters.count {
                let next = characters[index + 1]
                index += 2
                switch next {
                case "d": out += inBracket ? "0-9" : "[0-9]"
                case "D":
                    guard !inBracket else { throw RuleError("\\D inside [...] is not supported", position: position) }
                    out += "[^0-9]"
                case "s": out += inBracket ? "[:space:]" : "[[:space:]]"
                case "w": out += inBracket ? "_[:alnum:]" : "[_[:alnum:]]"
                case "S", "W", "b", "B":
                    guard !inBracket else {
                        throw RuleError("\\\(next) inside [...] is not supported", position: position)
                    }
                    out += "\\\(next)"
                case "t": out += "\t"
                case "n": out += "\n"
                case "r": out += "\r"
                case "A": out += "^"
                case "z": out += "$"
                case "1"..."9":
                    throw RuleError(
                        "back-references (\\\(next)) are not supported: their matching can take exponential time",
                        position: position)
                case "p", "P":
                    throw RuleError("Unicode classes (\\\(next){...}) are not supported", position: position)
                default:
                    // An escaped character stands for itself; inside brackets a backslash is literal in POSIX.
                    if inBracket {
                        out += next == "]" || next == "\\" || next == "-" || next == "^" ? "\\\(next)" : String(next)
                    } else {
                        out += "\\\(next)"
                    }
                }
                continue
            }
            if inBracket {
                if character == "]" { inBracket = false }
                out.append(character)
                index += 1
                continue
            }
            switch character {
            case "[":
                inBracket = true
                out.append(character)
                index += 1
                // A `]` or `^]` right after the opening bracket is a member, not the end.
                if index < characters.count, characters[index] == "^" {
                    out.append("^")
                    index += 1
                }
                if index < characters.count, characters[index] == "]" {
                    out.append("]")
                    index += 1
                }
                continue
            case "(":
                if index + 2 < characters.count, characters[index + 1] == "?" {
                    if characters[index + 2] == ":" {
                        out += "("
                        groups += 1
                        index += 3
                        continue
                    }
                    throw RuleError(
                        "(?\(characters[index + 2]) is not supported; only (?:...) and a leading (?i) are",
                        position: position)
                }
                groups += 1
                capturing.append(groups)
            case "*", "+", "?", "}":
                if index + 1 < characters.count, characters[index + 1] == "?" {
                    throw RuleError(
                        "lazy quantifiers (\(character)?) are not supported; write the pattern greedy",
                        position: position)
                }
            default: break
            }
            out.append(character)
            index += 1
        }
        if inBracket { throw RuleError("a [ is not closed", position: source.count) }
        return (out, caseInsensitive, capturing, groups)
    }

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
                // To the closing bracket: a `]` first (or after `^`) is a member, `[:alpha:]` a class.
                index += 1
                if index < characters.count, characters[index] == "^" { index += 1 }
                if index < characters.count, characters[index] == "]" { index += 1 }
                while index < characters.count, characters[index] != "]" {
                    if characters[index] == "[", index + 1 < characters.count, characters[index + 1] == ":" {
                        while index + 1 < characters.count, !(characters[index] == ":" && characters[index + 1] == "]")
                        {
                            index += 1
                        }
                        index += 1
                    }
                    index += 1
                }
                index += 1
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
