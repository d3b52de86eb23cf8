import SluiceIngest

/// `rule-pattern`: a custom rule's pattern (the first line) and a log line's text (the rest).
///
/// A pattern the byte scan takes (`RulePattern.Shape`) must find exactly what glibc finds: the same
/// pattern in a `(?:…)` group, which has neither a literal nor a shape, is searched by glibc
/// alone. Texts are valid UTF-8, as every log line's text is once its delivery has been read.
enum RulePatternOracle {
    static func check(_ bytes: [UInt8]) -> [String] {
        let split = bytes.firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
        let source = String(decoding: bytes[..<split], as: UTF8.self)
        let text = Array(bytes[min(bytes.endIndex, split + 1)...])
        guard String(validating: text, as: UTF8.self) != nil,
            let scanned = try? RulePattern(source), scanned.shape != nil,
            let searched = try? RulePattern("(?:\(source))")
        else { return [] }
        var problems: [String] = []
        for first in [false, true] {
            var budget = RuleBudget(nanoseconds: 10_000_000_000)
            var glibcBudget = RuleBudget(nanoseconds: 10_000_000_000)
            let (found, expected) = text.withUnsafeBufferPointer {
                (
                    scanned.matches(in: $0, budget: &budget, first: first),
                    searched.matches(in: $0, budget: &glibcBudget, first: first)
                )
            }
            guard found.unscannedFrom == nil, expected.unscannedFrom == nil else { continue }
            if found.ranges != expected.ranges {
                problems.append(
                    "\(source.debugDescription)\(first ? " (first)" : ""): the scan found \(found.ranges), "
                        + "glibc \(expected.ranges)")
            }
        }
        return problems
    }
}
