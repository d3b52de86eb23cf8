#if canImport(Glibc)
    import Glibc
#endif

/// What the benchmarks share: timing, medians, and the table's number format.
enum Measure {
    /// Items per second of `body`.
    static func rate(_ count: Int, _ body: () throws -> Void) throws -> Double {
        let start = monotonicSeconds()
        try body()
        return Double(count) / (monotonicSeconds() - start)
    }

    static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

    /// The run whose `key` is the median of the runs' (the upper one of an even count).
    static func median<Run>(_ runs: [Run], by key: (Run) -> Double) -> Run {
        runs.sorted { key($0) < key($1) }[runs.count / 2]
    }

    /// A table row with the rate against a baseline.
    static func row(_ name: String, _ value: Double, _ baseline: Double, _ target: String) -> String {
        "| \(name) | \(format(value)) | \(fixed(ratio(value, baseline), places: 2)) | \(target) |"
    }

    /// A whole number with thousands separators.
    static func format(_ value: Double) -> String {
        var text = String(Int(value.rounded()))
        var index = text.count - 3
        while index > 0 {
            text.insert(",", at: text.index(text.startIndex, offsetBy: index))
            index -= 3
        }
        return text
    }

    /// `value` with `places` decimals (`String(format:)` is Foundation's, not FoundationEssentials').
    static func fixed(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let scaled = Int((abs(value) * scale).rounded())
        let whole = scaled / Int(scale)
        var text = (value < 0 && scaled > 0 ? "-" : "") + String(whole)
        if places > 0 {
            let fraction = String(scaled % Int(scale))
            text += "." + String(repeating: "0", count: places - fraction.count) + fraction
        }
        return text
    }

    /// Milliseconds with two decimals: `2.50 ms`.
    static func milliseconds(_ value: Double) -> String { fixed(value, places: 2) + " ms" }

    /// A duration in milliseconds.
    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// The value at `share` (0.5: the median) of ascending `sorted`, nil when there is none.
    static func value(at share: Double, of sorted: [Double]) -> Double? {
        sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))]
    }

    /// The value at `share` of ascending `sorted` milliseconds, as text.
    static func percentile(_ sorted: [Double], _ share: Double) -> String {
        value(at: share, of: sorted).map(milliseconds) ?? "-"
    }

    /// One row of the summary table that `tools/bench` prints and writes into BENCHMARKS.md: appended,
    /// tab-separated (figure, value, target, verdict), to the file named by `SLUICE_BENCH_SUMMARY`
    /// when the command that runs every benchmark set it. `met` nil: a figure with no target.
    static func summarize(_ figure: String, _ value: String, target: String = "", met: Bool? = nil) {
        guard let path = getenv("SLUICE_BENCH_SUMMARY").map({ String(cString: $0) }), !path.isEmpty,
            let file = fopen(path, "a")
        else { return }
        defer { fclose(file) }
        let verdict = met.map { $0 ? "met" : "missed" } ?? ""
        fputs([figure, value, target, verdict].joined(separator: "\t") + "\n", file)
    }

    /// `value / baseline` rounded to two decimals.
    static func ratio(_ value: Double, _ baseline: Double) -> Double { (value / baseline * 100).rounded() / 100 }

    /// A summary's value for a figure against its baseline: `0.94 of direct (9,398 against 9,962 docs/s)`.
    static func against(_ value: Double, _ baseline: Double, of name: String, unit: String) -> String {
        "\(fixed(ratio(value, baseline), places: 2)) of \(name) (\(format(value)) against \(format(baseline)) \(unit))"
    }

    /// Deletes an SQLite file with its WAL and shared-memory files.
    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }
}
