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

    /// A table row with the rate against a baseline.
    static func row(_ name: String, _ value: Double, _ baseline: Double, _ target: String) -> String {
        "| \(name) | \(format(value)) | \((value / baseline * 100).rounded() / 100) | \(target) |"
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

    /// Deletes an SQLite file with its WAL and shared-memory files.
    static func removeDatabase(_ path: String) {
        for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) }
    }
}
