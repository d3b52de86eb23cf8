import SluiceIngest
import SluiceLambda

/// The measurement behind the rules' engines: the same shapes found in the same log lines by a
/// purpose-built scanner (the built-ins), glibc's POSIX regex.h (custom rules), the byte scan of a
/// custom rule that is a fixed sequence of byte sets (`RulePattern.Shape`) and Swift's `Regex`.
enum MatchingEngines {
    static let shapes: [(name: String, builtin: BuiltinMask?, pattern: String)] = [
        ("email", .email, "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+[.][A-Za-z][A-Za-z]+"),
        ("ipv4", .ipv4, "[0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}[.][0-9]{1,3}"),
        ("ssn (a custom rule)", nil, "[0-9]{3}-[0-9]{2}-[0-9]{4}"),
    ]

    /// Prints ns per line for each shape and engine over the function lines of `bodies`.
    static func compare(_ bodies: some Collection<[UInt8]>) {
        var lines: [[UInt8]] = []
        for body in bodies {
            guard let delivery = try? TelemetryDelivery(validating: body) else { continue }
            for event in delivery.events where event.type == "function" {
                lines.append(Array(body[(event.record.lowerBound + 1)..<(event.record.upperBound - 1)]))
            }
        }
        let strings = lines.map { String(decoding: $0, as: UTF8.self) }
        print("")
        print("matching engines: \(lines.count) log lines, ns per line (lower is better)")
        print("| shape | purpose-built scanner | POSIX regex.h | fixed-shape scan | Swift Regex |")
        print("|---|---:|---:|---:|---:|")
        for shape in shapes {
            var found = [0, 0, 0, 0]
            var builtinTime = "-"
            if let mask = shape.builtin {
                builtinTime = perLine(lines.count) {
                    for line in lines { found[0] += line.withUnsafeBufferPointer { mask.matches(in: $0).count } }
                }
            }
            func time(_ pattern: RulePattern, _ slot: Int) -> String {
                perLine(lines.count) {
                    for line in lines {
                        var budget = RuleBudget(nanoseconds: 1_000_000_000)
                        found[slot] += line.withUnsafeBufferPointer {
                            pattern.matches(in: $0, budget: &budget).ranges.count
                        }
                    }
                }
            }
            let posixTime = (try? RulePattern(shape.pattern, scanningShapes: false)).map { time($0, 1) } ?? "-"
            let shapeTime = (try? RulePattern(shape.pattern)).flatMap { $0.shape == nil ? nil : time($0, 3) } ?? "-"
            var swiftTime = "-"
            if let regex = try? Regex(shape.pattern) {
                swiftTime = perLine(lines.count) {
                    for line in strings { found[2] += line.ranges(of: regex).count }
                }
            }
            print("| \(shape.name) | \(builtinTime) | \(posixTime) | \(shapeTime) | \(swiftTime) |")
            if shape.builtin != nil && found[0] != found[1] {
                print("  (the scanner found \(found[0]), POSIX \(found[1]), Swift \(found[2]))")
            }
            if shapeTime != "-" && found[3] != found[1] {
                print("  (the fixed-shape scan found \(found[3]), POSIX \(found[1]))")
            }
        }
    }

    private static func perLine(_ count: Int, _ body: () -> Void) -> String {
        let start = monotonicSeconds()
        body()
        return Measure.format((monotonicSeconds() - start) * 1e9 / Double(max(1, count)))
    }
}
