#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// UTC time in milliseconds since the epoch, and its text forms, without a calendar library.
public enum UTCTime {
    /// The real-time clock, in milliseconds since the Unix epoch.
    public static func nowMilliseconds() -> Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// `2026-11-25T13:15:18.123Z`.
    public static func iso8601(milliseconds: Int64) -> String {
        let (date, time, millis) = split(milliseconds)
        return "\(date.y)-\(pad(date.m))-\(pad(date.d))T\(pad(time.h)):\(pad(time.m)):\(pad(time.s)).\(pad(millis, 3))Z"
    }

    /// `20261125T131518Z`: sortable and safe in a file name.
    public static func compact(milliseconds: Int64) -> String {
        let (date, time, _) = split(milliseconds)
        return "\(date.y)\(pad(date.m))\(pad(date.d))T\(pad(time.h))\(pad(time.m))\(pad(time.s))Z"
    }

    /// The calendar fields of a time, in UTC.
    public struct Components: Sendable, Equatable {
        public let year: Int64
        public let month: Int64
        public let day: Int64
        public let hour: Int64
        public let minute: Int64
        public let second: Int64
        public let millisecond: Int64
    }

    public static func components(milliseconds: Int64) -> Components {
        let (date, time, millis) = split(milliseconds)
        return Components(
            year: date.y, month: date.m, day: date.d, hour: time.h, minute: time.m, second: time.s,
            millisecond: millis)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM)`, the form Lambda's telemetry uses, into
    /// milliseconds since the epoch; nil for anything else.
    public static func parseISO8601(_ text: String) -> Int64? {
        var text = text
        return text.withUTF8 { parseISO8601(utf8: $0) }
    }

    /// `parseISO8601(_:)` of UTF-8 bytes: a delivery's `time` token is read where it lies, with no
    /// `String` made of it (that and comparing `Character`s took 3,300 instructions a timestamp).
    public static func parseISO8601(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        func number(_ from: Int, _ count: Int) -> Int64? {
            guard from + count <= bytes.count else { return nil }
            var value: Int64 = 0
            for index in from..<from + count {
                let byte = bytes[index]
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        func at(_ index: Int, _ character: Unicode.Scalar) -> Bool {
            index < bytes.count && bytes[index] == UInt8(ascii: character)
        }
        guard let year = number(0, 4), at(4, "-"), let month = number(5, 2), at(7, "-"), let day = number(8, 2),
            at(10, "T") || at(10, " "), let hour = number(11, 2), at(13, ":"), let minute = number(14, 2),
            at(16, ":"), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var millis: Int64 = 0
        if at(index, ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 3 { millis = millis * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 3 { for _ in digits..<3 { millis *= 10 } }
        }
        var offset: Int64 = 0
        if at(index, "Z") || at(index, "z") {
            index += 1
        } else if at(index, "+") || at(index, "-"), let hours = number(index + 1, 2), at(index + 3, ":"),
            let minutes = number(index + 4, 2)
        {
            offset = (hours * 60 + minutes) * 60_000 * (at(index, "+") ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return ((days * 86_400 + hour * 3600 + minute * 60 + second) * 1000 + millis) - offset
    }

    /// A proleptic Gregorian date to days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    private static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    private static func split(
        _ milliseconds: Int64
    ) -> (date: (y: Int64, m: Int64, d: Int64), time: (h: Int64, m: Int64, s: Int64), millis: Int64) {
        let millis = ((milliseconds % 1000) + 1000) % 1000
        let seconds = (milliseconds - millis) / 1000
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        return (civil(days: days), (secondOfDay / 3600, secondOfDay % 3600 / 60, secondOfDay % 60), millis)
    }

    /// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's `civil_from_days`).
    private static func civil(days: Int64) -> (y: Int64, m: Int64, d: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func pad(_ value: Int64, _ width: Int = 2) -> String {
        let text = String(value)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
