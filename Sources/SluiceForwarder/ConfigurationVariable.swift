/// One environment variable the extension reads, written once: its name, how its value is parsed
/// (the kind, which holds the default and the range or choices) and what it means. The README's
/// table, the SAM template check and the parser in `ForwarderConfiguration.fromEnvironment` all
/// come from these values (`ConfigurationVariable+Forwarder.swift` lists them).
public struct ConfigurationVariable: Sendable {
    /// How a value is parsed, with its default and what it may be.
    public enum Kind: Sendable {
        /// Must be set to an http(s) URL; the problem lines name `purpose` and `example`.
        case requiredURL(purpose: String, example: String)
        /// Any text; unset means `default`.
        case text(default: String)
        /// Any text; unset means nothing.
        case optionalText
        /// Any text; unset means a value taken from elsewhere, documented as `from` (e.g. `$AWS_REGION`).
        case derivedText(from: String)
        /// A whole number in `range`; underscores allowed (`5_000`).
        case integer(default: Int, in: ClosedRange<Int>)
        /// A size in bytes in `range`, with an optional unit (`64MiB`).
        case bytes(default: Int, in: ClosedRange<Int>)
        /// A size in bytes in `range`; unset means no limit.
        case optionalBytes(in: ClosedRange<Int>)
        /// true or false (also 1/0, yes/no, on/off).
        case boolean(default: Bool)
        /// One of `choices`, in any case.
        case choice(_ choices: [String], default: String)
        /// One of `choices`; unset means one chosen from the other variables when the environment is read.
        case automaticChoice(_ choices: [String])
        /// An index name, optionally dated (`%Y %m %d %H`).
        case indexPattern(default: String)
        /// An index name as above; set to an empty value, the documents it would hold are not written.
        case optionalIndexPattern(default: String)
        /// `background`, `end` or `periodic:N`.
        case flushPolicy(default: ForwarderConfiguration.FlushPolicy)
    }

    /// Help text that may name the values the kind accepts, so a range or a list of choices is
    /// written only in the kind: `"Telemetry API buffering, \(.accepted)"` reads `…, 1000-10000`.
    public struct Meaning: Sendable, ExpressibleByStringInterpolation {
        /// What a meaning can interpolate.
        public enum Placeholder: Sendable {
            /// The kind's range (`25-30000`) or choices (`gzip or none`).
            case accepted
        }

        fileprivate enum Part: Sendable {
            case text(String)
            case accepted
        }

        fileprivate let parts: [Part]

        public init(stringLiteral value: String) { parts = [.text(value)] }

        public init(stringInterpolation: StringInterpolation) { parts = stringInterpolation.parts }

        /// Collects the literal text and placeholders of a meaning.
        public struct StringInterpolation: StringInterpolationProtocol {
            fileprivate var parts: [Part] = []

            public init(literalCapacity: Int, interpolationCount: Int) {}

            public mutating func appendLiteral(_ literal: String) { parts.append(.text(literal)) }

            public mutating func appendInterpolation(_ placeholder: Placeholder) { parts.append(.accepted) }
        }
    }

    public let name: String
    public let kind: Kind
    /// One line for the README's table.
    public let meaning: String
    /// The value is a credential: no problem line or log shows it.
    public let isSecret: Bool

    public init(_ name: String, _ kind: Kind, _ meaning: Meaning, isSecret: Bool = false) {
        self.name = name
        self.kind = kind
        self.isSecret = isSecret
        self.meaning = meaning.parts.map { part in
            switch part {
            case .text(let text): text
            case .accepted: kind.accepted
            }
        }.joined()
    }

    /// The default as the README shows it: a value, or `(required)`, `(none)`, `(auto)`, `$AWS_REGION`.
    public var defaultValue: String {
        switch kind {
        case .requiredURL: "(required)"
        case .optionalText, .optionalBytes: "(none)"
        case .automaticChoice: "(auto)"
        case .derivedText(let from): from
        default: explicitDefault ?? ""
        }
    }

    /// The default as a value the variable can be set to (`5MiB`, `true`); nil when the default is
    /// to leave it unset (required, none, auto or derived), which an empty value also does.
    public var explicitDefault: String? {
        switch kind {
        case .requiredURL, .optionalText, .optionalBytes, .automaticChoice, .derivedText: nil
        case .text(let fallback): fallback
        case .integer(let fallback, _): String(fallback)
        case .bytes(let fallback, _): Self.size(fallback)
        case .boolean(let fallback): String(fallback)
        case .choice(_, let fallback): fallback
        case .indexPattern(let fallback), .optionalIndexPattern(let fallback): fallback
        case .flushPolicy(let fallback): fallback.environmentValue
        }
    }

    /// `5242880` as `5MiB`: the largest binary unit that divides it.
    static func size(_ bytes: Int) -> String {
        for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] where bytes != 0 && bytes % (1 << shift) == 0 {
            return "\(bytes >> shift)\(unit)"
        }
        return String(bytes)
    }

    /// `a`, `a or b`, `a, b or c`.
    static func list(_ words: [String]) -> String {
        guard let last = words.last, words.count > 1 else { return words.first ?? "" }
        return words.dropLast().joined(separator: ", ") + " or " + last
    }
}

extension ConfigurationVariable.Kind {
    /// The range or choices, for `Meaning.Placeholder.accepted`.
    fileprivate var accepted: String {
        switch self {
        case .integer(_, let range): "\(range.lowerBound)-\(range.upperBound)"
        case .bytes(_, let range), .optionalBytes(let range):
            "\(ConfigurationVariable.size(range.lowerBound))-\(ConfigurationVariable.size(range.upperBound))"
        case .boolean: "true or false"
        case .choice(let choices, _), .automaticChoice(let choices): ConfigurationVariable.list(choices)
        case .flushPolicy: "background, end or periodic:N"
        case .requiredURL, .text, .optionalText, .derivedText, .indexPattern, .optionalIndexPattern:
            preconditionFailure("\(self) has no range or choices to name in its meaning")
        }
    }
}

extension ForwarderConfiguration.FlushPolicy {
    /// As `SLUICE_FLUSH` spells it.
    var environmentValue: String {
        switch self {
        case .end: "end"
        case .background: "background"
        case .periodic(let seconds): "periodic:\(seconds)"
        }
    }
}
