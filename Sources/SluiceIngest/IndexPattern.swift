import SluiceTime

/// An index name that may hold date fields, filled from the event's time in UTC:
/// `%Y` year, `%m` month, `%d` day, `%H` hour, `%%` a percent sign.
/// `lambda-function-%Y.%m.%d` puts an event of 2026-11-25 into `lambda-function-2026.11.25`.
public struct IndexPattern: Sendable, Equatable, CustomStringConvertible {
    public let pattern: String
    /// Whether the pattern holds a date field at all (most do not, and skip the formatting).
    public let isDated: Bool
    /// The pattern read once: its text (UTF-8) and date fields in order. A name is made for every
    /// record: reading the pattern character by character each time cost daily indices 0.7-1.0 ms
    /// of ingest per 1,000 events (BENCHMARKS.md, "2026-12-07 (third)").
    private let pieces: [Piece]

    private enum Piece: Sendable, Equatable {
        case text([UInt8])
        case year, month, day, hour
    }

    public init(_ pattern: String) {
        self.pattern = pattern
        self.isDated = pattern.contains("%")
        var pieces: [Piece] = []
        var text = ""
        func field(_ piece: Piece) {
            if !text.isEmpty { pieces.append(.text(Array(text.utf8))) }
            text = ""
            pieces.append(piece)
        }
        var escape = false
        for character in pattern {
            if escape {
                switch character {
                case "Y": field(.year)
                case "m": field(.month)
                case "d": field(.day)
                case "H": field(.hour)
                case "%": text += "%"
                default: text += "%" + String(character)
                }
                escape = false
            } else if character == "%" {
                escape = true
            } else {
                text.append(character)
            }
        }
        if escape { text += "%" }
        if !text.isEmpty { pieces.append(.text(Array(text.utf8))) }
        self.pieces = pieces
    }

    /// The index for an event at `eventTime` (milliseconds since the epoch).
    public func name(eventTime: Int64) -> String {
        guard isDated else { return pattern }
        let time = UTCTime.components(milliseconds: eventTime)
        var out: [UInt8] = []
        out.reserveCapacity(pattern.utf8.count + 8)
        for piece in pieces {
            switch piece {
            case .text(let bytes): out += bytes
            case .year: out += String(time.year).utf8
            case .month: Self.two(time.month, into: &out)
            case .day: Self.two(time.day, into: &out)
            case .hour: Self.two(time.hour, into: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The names of patterns for a run of events (a delivery's): a dated pattern names one index
    /// for every event of a UTC hour, so the name is made once an hour rather than once an event.
    public struct Names {
        private var recent: [(pattern: String, hour: Int64, name: String)] = []

        public init() {}

        /// `pattern.name(eventTime:)`.
        public mutating func name(_ pattern: IndexPattern, eventTime: Int64) -> String {
            guard pattern.isDated else { return pattern.pattern }
            let hourMilliseconds: Int64 = 3_600_000
            let hour =
                eventTime >= 0 ? eventTime / hourMilliseconds : -((-eventTime - 1) / hourMilliseconds) - 1
            for entry in recent where entry.hour == hour && entry.pattern == pattern.pattern { return entry.name }
            let name = pattern.name(eventTime: eventTime)
            if recent.count == 4 { recent.removeFirst() }
            recent.append((pattern.pattern, hour, name))
            return name
        }
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

    /// `value` in two digits at least (a month, a day, an hour).
    private static func two(_ value: Int64, into out: inout [UInt8]) {
        if (0..<100).contains(value) {
            out.append(UInt8(ascii: "0") + UInt8(value / 10))
            out.append(UInt8(ascii: "0") + UInt8(value % 10))
        } else {
            out += String(value).utf8
        }
    }
}
