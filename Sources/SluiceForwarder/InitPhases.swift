/// How long each step of init took, from the start of `run()`; logged once when init is done, so a
/// slow cold start says where its time went.
struct InitPhases: CustomStringConvertible, Sendable {
    private let clock = ContinuousClock()
    private var last: ContinuousClock.Instant
    private var steps: [(name: String, milliseconds: Double)] = []

    init() { last = clock.now }

    mutating func end(_ name: String) {
        let now = clock.now
        let elapsed = last.duration(to: now).components
        steps.append((name, Double(elapsed.seconds) * 1000 + Double(elapsed.attoseconds) / 1e15))
        last = now
    }

    var description: String {
        steps.map { step in
            let tenths = Int((step.milliseconds * 10).rounded())
            return "\(step.name):\(tenths / 10).\(tenths % 10)"
        }.joined(separator: ",")
    }
}
