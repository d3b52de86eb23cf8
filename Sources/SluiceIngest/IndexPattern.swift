import SluiceTime

/// An index name that may hold date fields, filled from the event's time in UTC:
/// `%Y` year, `%m` month, `%d` day, `%H` hour, `%%` a percent sign.
/// `lambda-function-%Y.%m.%d` puts an event of 2026-11-25 into `lambda-function-2026.11.25`.
public struct IndexPattern: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    /// Whether the pattern holds a date field at all (most do not, and skip the formatting).
    public let isDated: Bool

    public init(_ pattern: String) {
        self.pattern = pattern
        self.isDated = pattern.contains("%")
    }

    /// The index for an event at `eventTime` (milliseconds since the epoch).
    public func name(eventTime: Int64) -> String {
        guard isDated else { return pattern }
        let time = UTCTime.components(milliseconds: eventTime)
        var out = ""
        var escape = false
        for character in pattern {
            if escape {
                switch character {
                case "Y": out += String(time.year)
                case "m": out += Self.two(time.month)
                case "d": out += Self.two(time.day)
                case "H": out += Self.two(time.hour)
                case "%": out += "%"
                default: out += "%" + String(character)
                }
                escape = false
            } else if character == "%" {
                escape = true
            } else {
                out.append(character)
            }
        }
        return escape ? out + "%" : out
    }

    /// Whether `name` is an index this pattern makes (date fields matched as digits).
    public func matches(_ name: String) -> Bool {
        guard isDated else { return name == pattern }
        let text = Array(name.utf8)
        var at = 0
        var escape = false
        for byte in pattern.utf8 {
            if escape {
                escape = false
                let digits: Int
                switch byte {
                case UInt8(ascii: "Y"): digits = 4
                case UInt8(ascii: "m"), UInt8(ascii: "d"), UInt8(ascii: "H"): digits = 2
                case UInt8(ascii: "%"):
                    guard at < text.count, text[at] == byte else { return false }
                    at += 1
                    continue
                default:
                    guard at + 1 < text.count, text[at] == UInt8(ascii: "%"), text[at + 1] == byte else { return false }
                    at += 2
                    continue
                }
                guard at + digits <= text.count,
                    text[at..<at + digits].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                else { return false }
                at += digits
            } else if byte == UInt8(ascii: "%") {
                escape = true
            } else {
                guard at < text.count, text[at] == byte else { return false }
                at += 1
            }
        }
        return at == text.count
    }

    /// Why `pattern` cannot name an OpenSearch index, or nil when it can.
    public var problem: String? {
        let sample = name(eventTime: 0)
        if sample.isEmpty { return "an index name cannot be empty" }
        if sample != sample.lowercased() { return "index names must be lowercase" }
        if sample.hasPrefix("_") || sample.hasPrefix("-") || sample.hasPrefix("+") {
            return "index names cannot start with _, - or +"
        }
        if let bad = sample.first(where: { " \\/*?\"<>|,#:".contains($0) }) {
            return "index names cannot contain '\(bad)'"
        }
        if sample.utf8.count > 255 { return "index names are at most 255 bytes" }
        return nil
    }

    /// The `index_patterns` of an index template that covers every name this pattern makes, and
    /// the names a rollover or another writer gives beside them: `lambda-function-%Y.%m.%d` is
    /// `lambda-function-*`; a plain `lambda-function` is itself and `lambda-function-*`.
    public var templatePatterns: [String] {
        guard let percent = pattern.firstIndex(of: "%") else { return [pattern, pattern + "-*"] }
        return [String(pattern[..<percent]) + "*"]
    }

    public var description: String { pattern }

    private static func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
}
