import SluiceJSON

/// What ingest does to log lines before they touch the spool: the user's masking, drop and keep
/// rules (`SLUICE_RULES`, in Datadog's shape, then the built-ins `SLUICE_MASK` names), the minimum
/// level of function lines (`SLUICE_MIN_LEVEL`) and which platform events are indexed
/// (`SLUICE_PLATFORM_EVENTS`). Platform events are never changed, and the invocation view sees
/// every event whatever is dropped.
///
/// Parsing fails open: each rule that cannot be used is one `RuleError` (naming the rule and the
/// position), and the rules that can be are kept.
public struct IngestRules: Sendable {
    /// What a rule does when its pattern matches.
    public enum Action: Sendable, Equatable {
        /// Replace each match by `placeholder` (`mask_sequences`).
        case mask(placeholder: [UInt8])
        /// Drop the line (`exclude_at_match`).
        case exclude
        /// Keep only lines that match (`include_at_match`).
        case include
    }

    /// How a rule finds its matches.
    public enum Matcher: Sendable {
        case builtin(BuiltinMask)
        case pattern(RulePattern)
    }

    /// One rule, with the name its counters go by.
    public struct Rule: Sendable {
        public let name: String
        public let action: Action
        public let matcher: Matcher
        /// A mask's placeholder when it refers to the match's groups (`$1`, `${2}`), as Datadog's
        /// (Go's) replacement does; nil when it is plain text.
        let template: [PlaceholderPart]?

        public init(name: String, action: Action, matcher: Matcher) {
            self.name = name
            self.action = action
            self.matcher = matcher
            if case .mask(let placeholder) = action, placeholder.contains(UInt8(ascii: "$")) {
                template = PlaceholderPart.parse(placeholder)
            } else {
                template = nil
            }
        }

        /// The built-in mask `mask`, as a rule named after it.
        public init(_ mask: BuiltinMask) {
            self.init(name: mask.rawValue, action: .mask(placeholder: mask.placeholder), matcher: .builtin(mask))
        }
    }

    /// The counter names of what no user-named rule drops.
    public static let minimumLevelRule = "min-level"
    public static let platformEventsRule = "platform-events"

    /// Line rules, in the order they run.
    public var rules: [Rule]
    /// Function lines below this level are dropped; a line with no level is kept.
    public var minimumLevel: LogLevel?
    /// The `platform.*` types indexed; nil: every one.
    public var platformEvents: Set<String>?

    public init(rules: [Rule] = [], minimumLevel: LogLevel? = nil, platformEvents: Set<String>? = nil) {
        self.rules = rules
        self.minimumLevel = minimumLevel
        self.platformEvents = platformEvents
    }

    /// No rule at all: ingest takes its path of old, at no cost.
    public var isEmpty: Bool { rules.isEmpty && minimumLevel == nil && platformEvents == nil }

    /// The rules in one line for the startup log: `ssn,email,min-level=WARN` or `none`.
    public var summary: String {
        var parts = rules.map(\.name)
        if let minimumLevel { parts.append("\(Self.minimumLevelRule)=\(minimumLevel.name)") }
        if let platformEvents { parts.append("\(Self.platformEventsRule)=\(platformEvents.count)") }
        return parts.isEmpty ? "none" : parts.joined(separator: ",")
    }

    /// Whether a platform event of `type` is indexed.
    public func indexes(platform type: String) -> Bool { platformEvents?.contains(type) ?? true }

    /// The platform event types Lambda sends (LAMBDA_REFERENCE.md); `SLUICE_PLATFORM_EVENTS` names these.
    public static let platformEventTypes = [
        "platform.initStart", "platform.initRuntimeDone", "platform.initReport", "platform.start",
        "platform.runtimeDone", "platform.report", "platform.restoreStart", "platform.restoreRuntimeDone",
        "platform.restoreReport", "platform.extension", "platform.telemetrySubscription", "platform.logsDropped",
    ]

    // MARK: Reading the variables

    /// `SLUICE_MASK`: built-in names separated by commas, `all` for every one. Unknown names are
    /// problems; the known ones are kept.
    public static func builtins(_ text: String) -> ([Rule], [RuleError]) {
        var masks: [BuiltinMask] = []
        var problems: [RuleError] = []
        for (position, item) in items(text).enumerated() {
            if item.lowercased() == "all" {
                masks += BuiltinMask.allCases
            } else if let mask = BuiltinMask(rawValue: item.lowercased()) {
                masks.append(mask)
            } else {
                let known = (BuiltinMask.allCases.map(\.rawValue) + ["all"]).joined(separator: ", ")
                problems.append(
                    RuleError("item \(position + 1), \"\(item)\", is not a built-in: use \(known)", position: nil))
            }
        }
        var seen = Set<BuiltinMask>()
        return (masks.filter { seen.insert($0).inserted }.map(Rule.init), problems)
    }

    /// `SLUICE_RULES`: a JSON array of `{"type", "name", "pattern"[, "replace_placeholder"]}`
    /// objects. A rule that cannot be used is a problem naming it; the others are kept, in order.
    public static func custom(_ text: String) -> ([Rule], [RuleError]) {
        let bytes = Array(text.utf8)
        let scanned = bytes.withUnsafeBufferPointer {
            buffer -> Result<(kind: JSONScanner.Kind, range: Range<Int>), JSONSyntaxError> in
            var scanner = JSONScanner(buffer)
            do throws(JSONSyntaxError) {
                scanner.skipWhitespace()
                let value = try scanner.value()
                scanner.skipWhitespace()
                guard scanner.atEnd else { throw scanner.failure("text after the array") }
                return .success((value.kind, value.range))
            } catch {
                return .failure(error)
            }
        }
        let top: (kind: JSONScanner.Kind, range: Range<Int>)
        switch scanned {
        case .success(let value): top = value
        case .failure(let error): return ([], [RuleError("not valid JSON: \(error.message)", position: error.offset)])
        }
        let reader = JSONReader(bytes)
        guard top.kind == .array else {
            return (
                [], [RuleError("must be a JSON array of rules, [{\"type\":…,\"name\":…,\"pattern\":…}]", position: 0)]
            )
        }
        var rules: [Rule] = []
        var problems: [RuleError] = []
        for (index, element) in reader.elements(of: top.range).enumerated() {
            let number = index + 1
            guard element.kind == .object else {
                problems.append(RuleError("rule \(number) is not an object", position: element.range.lowerBound))
                continue
            }
            let name = reader.string(reader.member("name", of: element.range)) ?? ""
            let label = name.isEmpty ? "rule \(number)" : "rule \(number) (\"\(name)\")"
            func problem(_ message: String, _ position: Int?) {
                problems.append(RuleError("\(label): \(message)", position: position))
            }
            guard !name.isEmpty else {
                problem("has no \"name\"; its counters go by it", element.range.lowerBound)
                continue
            }
            let type = reader.string(reader.member("type", of: element.range)) ?? ""
            guard let patternValue = reader.member("pattern", of: element.range),
                let source = reader.string(patternValue),
                !source.isEmpty
            else {
                problem("has no \"pattern\"", element.range.lowerBound)
                continue
            }
            let action: Action
            switch type {
            case "mask_sequences":
                guard let placeholder = reader.string(reader.member("replace_placeholder", of: element.range)) else {
                    problem("a mask_sequences rule needs \"replace_placeholder\"", element.range.lowerBound)
                    continue
                }
                action = .mask(placeholder: Array(placeholder.utf8))
            case "exclude_at_match": action = .exclude
            case "include_at_match": action = .include
            default:
                problem(
                    "\"type\" must be mask_sequences, exclude_at_match or include_at_match, not \"\(type)\"",
                    element.range.lowerBound)
                continue
            }
            do {
                rules.append(Rule(name: name, action: action, matcher: .pattern(try RulePattern(source))))
            } catch {
                // The position in the variable: the pattern's string starts one byte after its quote.
                let at = error.position.map { patternValue.range.lowerBound + 1 + $0 } ?? patternValue.range.lowerBound
                problem("pattern \(JSONText.quoted(source)): \(error.message)", at)
            }
        }
        return (rules, problems)
    }

    /// `SLUICE_PLATFORM_EVENTS`: `platform.*` types (or their names without the prefix) separated
    /// by commas; `none` for no platform event at all. nil when every type is indexed.
    public static func platformEvents(_ text: String) -> (Set<String>?, [RuleError]) {
        var types = Set<String>()
        var problems: [RuleError] = []
        for (position, item) in items(text).enumerated() {
            if item.lowercased() == "all" { return (nil, problems) }
            if item.lowercased() == "none" { continue }
            let type = item.hasPrefix("platform.") ? item : "platform.\(item)"
            if platformEventTypes.contains(type) {
                types.insert(type)
            } else {
                problems.append(
                    RuleError(
                        "item \(position + 1), \"\(item)\", is not a platform event type: use e.g. platform.report, platform.start, or none",
                        position: nil))
            }
        }
        return (types, problems)
    }

    /// Comma-separated items, trimmed, empty ones left out.
    static func items(_ text: String) -> [String] {
        text.split(separator: ",").map(\.trimmedOfSpaces).filter { !$0.isEmpty }
    }
}

extension StringProtocol {
    /// Without spaces at either end.
    var trimmedOfSpaces: String {
        String(drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// A piece of a mask's placeholder: text, or what a capturing group of the match matched.
enum PlaceholderPart: Sendable, Equatable {
    case text([UInt8])
    /// `$1`, `${1}`: group 1 (`$0`: the whole match).
    case group(Int)

    /// Go's `Regexp.Expand` syntax: `$$` is a `$`; `$name` takes the longest run of letters,
    /// digits and `_` (a name that is not a number is a group this engine does not have: empty);
    /// `${name}` is braced.
    static func parse(_ placeholder: [UInt8]) -> [PlaceholderPart] {
        var parts: [PlaceholderPart] = []
        var text: [UInt8] = []
        var index = 0
        func isNameByte(_ byte: UInt8) -> Bool {
            byte == UInt8(ascii: "_") || byte &- 48 < 10 || (byte | 0x20) &- 97 < 26
        }
        while index < placeholder.count {
            let byte = placeholder[index]
            guard byte == UInt8(ascii: "$"), index + 1 < placeholder.count else {
                text.append(byte)
                index += 1
                continue
            }
            if placeholder[index + 1] == UInt8(ascii: "$") {
                text.append(byte)
                index += 2
                continue
            }
            var name: ArraySlice<UInt8>
            if placeholder[index + 1] == UInt8(ascii: "{"),
                let close = placeholder[(index + 2)...].firstIndex(of: UInt8(ascii: "}"))
            {
                name = placeholder[(index + 2)..<close]
                index = close + 1
            } else {
                var end = index + 1
                while end < placeholder.count, isNameByte(placeholder[end]) { end += 1 }
                guard end > index + 1 else {
                    text.append(byte)
                    index += 1
                    continue
                }
                name = placeholder[(index + 1)..<end]
                index = end
            }
            if !text.isEmpty { parts.append(.text(text)) }
            text = []
            if let number = Int(String(decoding: name, as: UTF8.self)) { parts.append(.group(number)) }
        }
        if !text.isEmpty { parts.append(.text(text)) }
        return parts
    }

    /// The placeholder's text alone (for text no match is known of: what a pattern had no time for).
    static func text(of parts: [PlaceholderPart]) -> [UInt8] {
        parts.flatMap { part -> [UInt8] in
            if case .text(let bytes) = part { return bytes }
            return []
        }
    }

    /// The placeholder for one match of `text`: `match` and its groups' ranges.
    static func expand(
        _ parts: [PlaceholderPart], text: UnsafeBufferPointer<UInt8>, match: Range<Int>, groups: [Range<Int>?]
    ) -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            switch part {
            case .text(let bytes): out += bytes
            case .group(0): out += UnsafeBufferPointer(rebasing: text[match])
            case .group(let number):
                if number <= groups.count, let range = groups[number - 1] {
                    out += UnsafeBufferPointer(rebasing: text[range])
                }
            }
        }
        return out
    }
}

/// What the rules did, by rule name: `<rule>.dropped` (lines), `<rule>.masked` (matches),
/// `<rule>.unscanned` (texts a pattern ran out of time on).
public struct RuleCounts: Sendable, Equatable {
    public var values: [String: Int] = [:]

    public init() {}

    public var isEmpty: Bool { values.isEmpty }

    mutating func add(_ rule: String, _ what: String, _ amount: Int = 1) {
        guard amount > 0 else { return }
        values["\(rule).\(what)", default: 0] += amount
    }
}
