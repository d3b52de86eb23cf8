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
