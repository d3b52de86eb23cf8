import SluiceIngest
import SluiceTime
import Testing

@Suite struct IndexPatternTests {
    @Test func datePatternsFillFromTheEventTimeInUTC() throws {
        let time = try #require(UTCTime.parseISO8601("2026-11-25T23:59:59.999Z"))
        #expect(IndexPattern("lambda-function-%Y.%m.%d").name(eventTime: time) == "lambda-function-2026.11.25")
        #expect(IndexPattern("logs-%Y-%m-%d-%H").name(eventTime: time + 1) == "logs-2026-11-26-00")
        #expect(IndexPattern("plain").name(eventTime: time) == "plain")
        #expect(IndexPattern("odd-%q-%%").name(eventTime: time) == "odd-%q-%")
        #expect(IndexPattern("Upper").problem != nil)
        #expect(IndexPattern("_hidden").problem != nil)
        #expect(IndexPattern("a b").problem != nil)
        #expect(IndexPattern("lambda-%Y").problem == nil)
    }

    /// The pattern read once gives every name that reading it character by character for each
    /// name gave (the code before, kept here as the reference), for every kind of piece.
    @Test func namesAreThoseOfThePatternReadCharacterByCharacter() {
        func reference(_ pattern: String, _ eventTime: Int64) -> String {
            guard pattern.contains("%") else { return pattern }
            let time = UTCTime.components(milliseconds: eventTime)
            func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
            var out = ""
            var escape = false
            for character in pattern {
                if escape {
                    switch character {
                    case "Y": out += String(time.year)
                    case "m": out += two(time.month)
                    case "d": out += two(time.day)
                    case "H": out += two(time.hour)
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
        let patterns = [
            "lambda-function-%Y.%m.%d", "%Y%m%d%H", "logs-%H", "trailing-%", "%%-%%", "odd-%q-%é-ü", "%Y.%Y",
            "no-fields", "%", "",
        ]
        let times: [Int64] = [0, 1_764_115_199_999, 1_764_115_200_000, 4_102_444_800_000, 253_402_300_799_999]
        // The names of a run of events, made once an hour, are the same too: times back and forth
        // across hours and patterns, before 1970 among them.
        var names = IndexPattern.Names()
        for pattern in patterns {
            for time in times + [-1, -3_600_000, -3_600_001, 3_599_999, 3_600_000] {
                let expected = reference(pattern, time)
                #expect(IndexPattern(pattern).name(eventTime: time) == expected, "\(pattern) at \(time)")
                #expect(names.name(IndexPattern(pattern), eventTime: time) == expected, "\(pattern) at \(time)")
                #expect(names.name(IndexPattern("%Y%m%d%H"), eventTime: time) == reference("%Y%m%d%H", time))
            }
        }
    }
}
