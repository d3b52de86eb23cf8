import SluiceHTTP
import SluiceIngest

/// Reads typed values from the environment, collecting one line per problem instead of stopping
/// at the first: a user fixes them all in one deploy. Each method reads one kind of
/// `ConfigurationVariable`, with the default and range or choices the variable holds.
struct EnvironmentReader {
    let environment: [String: String]
    private(set) var problems: [ForwarderError] = []
    /// Problems Sluice can work around: a rule or label that cannot be used (left out), a lone
    /// `SLUICE_PASSWORD` (not used), conflicting settings (one wins). They fail open (the extension
    /// ships with the rest) unless `SLUICE_FAIL_MODE=closed`. Each keeps what `open` does about it
    /// apart, since the fail mode is read last.
    private(set) var warnings: [(variable: ConfigurationVariable, problem: String, whenOpen: String)] = []

    /// One problem Sluice works around; `whenOpen` says how.
    mutating func warn(_ variable: ConfigurationVariable, _ problem: String, whenOpen: String) {
        warnings.append((variable, problem, whenOpen))
    }

    /// The warnings as lines, each saying what happens under `failMode`.
    func warningErrors(_ failMode: ForwarderConfiguration.FailMode) -> [ForwarderError] {
        warnings.map { item in
            let consequence =
                failMode == .open
                ? item.whenOpen
                : "\(ConfigurationVariable.failMode.name)=closed: sluice does not start until it is fixed"
            return ForwarderError(
                .configuration, "\(item.problem); \(consequence)", variable: item.variable.name)
        }
    }

    init(environment: [String: String]) { self.environment = environment }

    /// One line about `variable`, naming the value and the fix.
    mutating func problem(_ variable: ConfigurationVariable, _ line: String) {
        problems.append(ForwarderError(.configuration, line, variable: variable.name))
    }

    /// The value, trimmed; nil when unset or blank.
    func string(_ variable: ConfigurationVariable) -> String? {
        // A variable read but missing from `all` would be missing from the README and the template check.
        assert(ConfigurationVariable.all.contains { $0.name == variable.name }, "\(variable.name) is not in `all`")
        guard let raw = environment[variable.name] else { return nil }
        let value = String(raw.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        return value.isEmpty ? nil : value
    }

    /// `NAME=value` for a problem line; a secret's value is never shown.
    private func setting(_ variable: ConfigurationVariable, _ text: String) -> String {
        variable.isSecret ? "\(variable.name) (value hidden)" : "\(variable.name)=\(text)"
    }

    mutating func url(_ variable: ConfigurationVariable) -> String? {
        guard case .requiredURL(let purpose, let example) = variable.kind else { wrongKind(variable, "a URL") }
        guard let url = string(variable) else {
            problem(variable, "\(variable.name) is not set: set it to \(purpose), e.g. \(example)")
            return nil
        }
        // The client's own parser, so that what passes here is what requests go to; the value is
        // shown redacted, since a password in it is where the URL is most often mistyped.
        switch HTTPTarget.parse(url, endpoint: true) {
        case .success: break
        case .failure(.notHTTP):
            problem(
                variable,
                "\(variable.name)=\(HTTPTarget.redacted(url)) is not an http(s) URL: set it to e.g. \(example)")
        case .failure(let reason):
            problem(variable, "\(variable.name)=\(HTTPTarget.redacted(url)) cannot be used: \(reason)")
        }
        return url
    }

    /// Text with a default.
    func text(_ variable: ConfigurationVariable) -> String {
        guard case .text(let fallback) = variable.kind else { wrongKind(variable, "text with a default") }
        return string(variable) ?? fallback
    }

    /// Text that may be unset; for a derived default the caller supplies it.
    func optionalText(_ variable: ConfigurationVariable) -> String? {
        switch variable.kind {
        case .optionalText, .derivedText: return string(variable)
        default: wrongKind(variable, "optional text")
        }
    }

    mutating func integer(_ variable: ConfigurationVariable) -> Int {
        guard case .integer(let fallback, let range) = variable.kind else { wrongKind(variable, "an integer") }
        guard let text = string(variable) else { return fallback }
        guard let value = Int(text.replacingUnderscores), range.contains(value) else {
            problem(
                variable,
                "\(setting(variable, text)) must be a whole number from \(range.lowerBound) to \(range.upperBound); unset it for the default \(fallback)"
            )
            return fallback
        }
        return value
    }

    mutating func boolean(_ variable: ConfigurationVariable) -> Bool {
        guard case .boolean(let fallback) = variable.kind else { wrongKind(variable, "a boolean") }
        guard let text = string(variable) else { return fallback }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            problem(variable, "\(setting(variable, text)) must be true or false; unset it for the default \(fallback)")
            return fallback
        }
    }

    /// One of the variable's choices, as the choice is spelled: the value is read in any case.
    mutating func choice(_ variable: ConfigurationVariable) -> String {
        guard case .choice(let choices, let fallback) = variable.kind else { wrongKind(variable, "a choice") }
        return choice(variable, choices, default: fallback)
    }

    /// One of the variable's choices as `Value`, whose raw values the choices are.
    mutating func choice<Value: RawRepresentable>(_ variable: ConfigurationVariable, as _: Value.Type) -> Value
    where Value.RawValue == String {
        let text = choice(variable)
        guard let value = Value(rawValue: text) else {
            preconditionFailure("\(variable.name): \(text) is not a \(Value.self)")
        }
        return value
    }

    /// One of the variable's choices; unset means `automatic`, chosen from the other variables.
    mutating func choice(_ variable: ConfigurationVariable, automatic: String) -> String {
        guard case .automaticChoice(let choices) = variable.kind else { wrongKind(variable, "an automatic choice") }
        return choice(variable, choices, default: automatic)
    }

    private mutating func choice(
        _ variable: ConfigurationVariable, _ choices: [String], default fallback: String
    )
        -> String
    {
        guard let text = string(variable) else { return fallback }
        // Any case, as booleans and levels are read: `Closed`, `END` and `GZIP` mean what they say.
        guard let match = choices.first(where: { $0.lowercased() == text.lowercased() }) else {
            problem(
                variable,
                "\(setting(variable, text)) must be one of \(choices.joined(separator: ", ")); unset it for the default \(fallback)"
            )
            return fallback
        }
        return match
    }

    /// The ingest rules: `SLUICE_RULES` in order, then the built-ins of `SLUICE_MASK`, the minimum
    /// level and the platform events indexed. Each rule that cannot be used is a warning.
    mutating func ingestRules() -> IngestRules {
        var rules = IngestRules()
        func note(_ variable: ConfigurationVariable, _ errors: [RuleError]) {
            for error in errors {
                warn(variable, "\(variable.name): \(error)", whenOpen: "it is left out, the other rules apply")
            }
        }
        if let text = string(.rules) {
            let (custom, errors) = IngestRules.custom(text)
            rules.rules += custom
            note(.rules, errors)
        }
        if let text = string(.mask) {
            let (builtins, errors) = IngestRules.builtins(text)
            rules.rules += builtins
            note(.mask, errors)
        }
        if let text = string(.minLevel) {
            if let level = LogLevel(name: text.utf8) {
                rules.minimumLevel = level == .trace ? nil : level
            } else {
                warn(
                    .minLevel,
                    "\(Variable.minLevel.name)=\(text) is not a level: use one of \(LogLevel.allCases.map(\.name).joined(separator: ", "))",
                    whenOpen: "every line is kept")
            }
        }
        if let text = string(.platformEvents) {
            let (types, errors) = IngestRules.platformEvents(text)
            rules.platformEvents = types
            note(.platformEvents, errors)
        }
        return rules
    }

    /// `SLUICE_LABELS`; an item that is not `key=value` is a warning, the others are used.
    mutating func labels() -> [TelemetryDocument.Label] {
        guard let text = string(.labels) else { return [] }
        let (labels, errors) = TelemetryDocument.Label.parse(text)
        for error in errors {
            warn(.labels, "\(Variable.labels.name): \(error)", whenOpen: "it is left out")
        }
        return labels
    }

    private typealias Variable = ConfigurationVariable

    /// A size: a whole number of bytes, or with a unit KiB, MiB, GiB (also KB, MB, GB, K, M, G as binary).
    mutating func bytes(_ variable: ConfigurationVariable) -> Int {
        guard case .bytes(let fallback, let range) = variable.kind else { wrongKind(variable, "a size") }
        return bytes(variable, in: range) ?? fallback
    }

    /// A size, or nil when unset.
    mutating func optionalBytes(_ variable: ConfigurationVariable) -> Int? {
        guard case .optionalBytes(let range) = variable.kind else { wrongKind(variable, "an optional size") }
        return bytes(variable, in: range)
    }

    private mutating func bytes(_ variable: ConfigurationVariable, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(variable) else { return nil }
        guard let value = Self.parseBytes(text), range.contains(value) else {
            problem(
                variable,
                "\(setting(variable, text)) must be a size from \(range.lowerBound) to \(range.upperBound) bytes, e.g. 64MiB"
            )
            return nil
        }
        return value
    }

    /// An index name; one OpenSearch cannot take falls back to the default.
    mutating func index(_ variable: ConfigurationVariable) -> IndexPattern {
        guard case .indexPattern(let fallback) = variable.kind else { wrongKind(variable, "an index pattern") }
        return pattern(variable, fallback: fallback)
    }

    /// An index name, or nil when the variable is set to an empty value (that kind of document is
    /// then not written); one OpenSearch cannot take falls back to the default.
    mutating func optionalIndex(_ variable: ConfigurationVariable) -> IndexPattern? {
        guard case .optionalIndexPattern(let fallback) = variable.kind else {
            wrongKind(variable, "an optional index pattern")
        }
        if let raw = environment[variable.name], raw.allSatisfy({ $0 == " " }) { return nil }
        return pattern(variable, fallback: fallback)
    }

    private mutating func pattern(_ variable: ConfigurationVariable, fallback: String) -> IndexPattern {
        let pattern = IndexPattern(string(variable) ?? fallback)
        if let problem = pattern.problem {
            self.problem(variable, "\(setting(variable, pattern.pattern)) cannot name an OpenSearch index: \(problem)")
            return IndexPattern(fallback)
        }
        return pattern
    }

    /// `end`, `background` or `periodic:N` (N whole seconds ≥ 1), in any case as every choice is.
    mutating func flushPolicy(_ variable: ConfigurationVariable) -> ForwarderConfiguration.FlushPolicy {
        guard case .flushPolicy(let fallback) = variable.kind else { wrongKind(variable, "a flush policy") }
        guard let text = string(variable) else { return fallback }
        switch text.lowercased() {
        case "end": return .end
        case "background": return .background
        case let value where value.hasPrefix("periodic:"):
            if let seconds = Int(value.dropFirst("periodic:".count)), seconds >= 1 {
                return .periodic(seconds: seconds)
            }
            problem(
                variable, "\(setting(variable, text)): write periodic:N with N whole seconds ≥ 1, e.g. periodic:60")
        default:
            problem(variable, "\(setting(variable, text)) is not a flush policy: use end, background or periodic:N")
        }
        return fallback
    }

    static func parseBytes(_ text: String) -> Int? {
        let digits = text.prefix { $0.isNumber || $0 == "_" }
        guard let number = Int(String(digits).replacingUnderscores) else { return nil }
        let unit = text.dropFirst(digits.count).drop { $0 == " " }.lowercased()
        let shift: Int
        switch unit {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        default: return nil
        }
        let (value, overflow) = number.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : value
    }

    /// A variable read as a kind it is not: a mistake in `fromEnvironment`, caught by its tests.
    private func wrongKind(_ variable: ConfigurationVariable, _ expected: String) -> Never {
        preconditionFailure("\(variable.name) is \(variable.kind), not \(expected)")
    }
}

extension String {
    fileprivate var replacingUnderscores: String { filter { $0 != "_" } }
}
