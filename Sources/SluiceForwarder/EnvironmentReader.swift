/// Reads typed values from the environment, collecting one line per problem instead of stopping
/// at the first: a user fixes them all in one deploy.
struct EnvironmentReader {
    let environment: [String: String]
    private(set) var problems: [String] = []

    init(environment: [String: String]) { self.environment = environment }

    mutating func problem(_ line: String) { problems.append(line) }

    /// The value, trimmed; nil when unset or blank.
    func string(_ name: String) -> String? {
        guard let raw = environment[name] else { return nil }
        let value = String(raw.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
        return value.isEmpty ? nil : value
    }

    mutating func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text.replacingUnderscores), range.contains(value) else {
            problem(
                "\(name)=\(text) must be a whole number from \(range.lowerBound) to \(range.upperBound); unset it for the default \(fallback)"
            )
            return fallback
        }
        return value
    }

    mutating func boolean(_ name: String, default fallback: Bool) -> Bool {
        guard let text = string(name) else { return fallback }
        switch text.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default:
            problem("\(name)=\(text) must be true or false; unset it for the default \(fallback)")
            return fallback
        }
    }

    mutating func choice(_ name: String, _ choices: [String], default fallback: String) -> String {
        guard let text = string(name) else { return fallback }
        guard let match = choices.first(where: { $0 == text.lowercased() }) else {
            problem(
                "\(name)=\(text) must be one of \(choices.joined(separator: ", ")); unset it for the default \(fallback)"
            )
            return fallback
        }
        return match
    }

    /// A size: a whole number of bytes, or with a unit KiB, MiB, GiB (also KB, MB, GB, K, M, G as binary).
    mutating func bytes(_ name: String, default fallback: Int, in range: ClosedRange<Int>) -> Int {
        optionalBytes(name, in: range) ?? fallback
    }

    mutating func optionalBytes(_ name: String, in range: ClosedRange<Int>) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Self.parseBytes(text), range.contains(value) else {
            problem("\(name)=\(text) must be a size from \(range.lowerBound) to \(range.upperBound) bytes, e.g. 64MiB")
            return nil
        }
        return value
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
}

extension String {
    fileprivate var replacingUnderscores: String { filter { $0 != "_" } }
}
