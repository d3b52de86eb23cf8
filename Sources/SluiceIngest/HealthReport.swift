import SluiceJSON
public import SluiceSpool
import SluiceTime

/// The extension's own health as a document (`type: "sluice.health"`) in the extension index: a
/// spool in a function's `/tmp` cannot be opened from outside, so what it holds is shipped. One is
/// written at most once a minute while deliveries come, with the delivery that makes it due (in
/// its transaction), and one at SHUTDOWN. Ids are deterministic: the environment and the minute
/// (or the SHUTDOWN's time), so a process killed and started again in the same minute writes the
/// same document, which the spool and OpenSearch keep once.
public struct HealthReport: Sendable {
    /// How often, at most, while deliveries come.
    public static let intervalMilliseconds: Int64 = 60_000

    /// `,"sluice":{"version":…},"configuration":{…}`: what does not change while the process runs.
    let fixedFields: [UInt8]

    /// `version`: Sluice's; `settings`: the configuration's non-secret settings, by variable.
    public init(version: String, settings: [(name: String, value: String)]) {
        var fields = Array(#","sluice":{"version":"#.utf8)
        JSONText.appendString(version, to: &fields)
        fields += Array(#"},"configuration":{"#.utf8)
        for (position, setting) in settings.enumerated() {
            if position > 0 { fields.append(UInt8(ascii: ",")) }
            JSONText.appendString(setting.name, to: &fields)
            fields.append(UInt8(ascii: ":"))
            JSONText.appendString(setting.value, to: &fields)
        }
        fields.append(UInt8(ascii: "}"))
        fixedFields = fields
    }

    /// The id of the report of `minute` (ms since the epoch / 60,000), or of the SHUTDOWN at `time`.
    public static func id(environment: String, minute: Int64) -> String { "health-\(environment)-\(minute)" }
    public static func shutdownID(environment: String, at time: Int64) -> String {
        "health-\(environment)-shutdown-\(time)"
    }

    /// The document: the spool's statistics and counters (rules' among them), the last request to
    /// OpenSearch that failed as a whole, the time the platform says the extension added to
    /// invocations since the last report, the process's CPU time by stage, and why it was written.
    func document(
        at time: Int64, reason: String, statistics: SpoolStatistics, overheads: [Double], cpu: StageCPU.Snapshot,
        functionFields: [UInt8]
    ) -> [UInt8] {
        var out = Array(#"{"@timestamp":"#.utf8)
        let stamp = JSONText.stringToken(UTCTime.iso8601(milliseconds: time))
        out += stamp
        out += Array(#","time":"#.utf8) + stamp
        out += Array(#","type":"sluice.health","reason":"#.utf8)
        JSONText.appendString(reason, to: &out)
        out += functionFields
        out += fixedFields
        let counters = statistics.counters
        let spool: [(String, Int)] = [
            ("waiting", statistics.rows), ("waitingBytes", statistics.bytes),
            ("oldestAgeMs", Int(statistics.oldestAgeMilliseconds ?? 0)), ("deadLetters", statistics.deadLetters),
            ("deadLetterBytes", statistics.deadLetterBytes), ("fileBytes", statistics.fileBytes),
            ("capBytes", statistics.capBytes), ("openInvocations", statistics.openInvocations),
            ("received", counters.received), ("stored", counters.stored), ("duplicate", counters.duplicate),
            ("shipped", counters.shipped), ("retried", counters.retried), ("deadLettered", counters.deadLettered),
            ("dropped", counters.dropped), ("leftAtShutdown", counters.leftAtShutdown),
            ("quarantined", counters.quarantined), ("salvaged", counters.salvaged),
            ("salvagedDeadLetters", counters.salvagedDeadLetters), ("requeued", counters.requeued),
            ("malformed", counters.malformed),
            ("failedRequests", counters.failedRequests), ("droppedByLambda", counters.droppedByLambda),
            ("droppedByLambdaBytes", counters.droppedByLambdaBytes),
        ]
        out += Array(#","spool":{"#.utf8)
        out += Array(spool.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",").utf8)
        out += Array("}".utf8)
        // The last `_bulk` request that failed as a whole: when, and why (the kind, then OpenSearch's
        // or the network's words), so an outage shows once its documents arrive.
        if let failed = statistics.lastFailedRequest {
            out += Array(#","lastFailedRequest":{"at":"#.utf8)
            out += JSONText.stringToken(UTCTime.iso8601(milliseconds: failed.at))
            out += Array(#","reason":"#.utf8)
            JSONText.appendString(failed.reason, to: &out)
            out += Array("}".utf8)
        }
        out += Array(#","rules":{"#.utf8)
        for (position, rule) in counters.rules.sorted(by: { $0.key < $1.key }).enumerated() {
            if position > 0 { out.append(UInt8(ascii: ",")) }
            JSONText.appendString(rule.key, to: &out)
            out += Array(":\(rule.value)".utf8)
        }
        out += Array(#"},"addedMs":{"invocations":\#(overheads.count)"#.utf8)
        let sorted = overheads.sorted()
        if !sorted.isEmpty {
            func rank(_ share: Double) -> Double { sorted[min(sorted.count - 1, Int((Double(sorted.count) * share)))] }
            out += Array(#","p50":\#(rank(0.5)),"p99":\#(rank(0.99)),"max":\#(sorted.last!)"#.utf8)
        }
        // The process's CPU time since it started, by stage: what the extension costs the function.
        out += Array(#"},"cpuMs":{"#.utf8)
        out += Array(cpu.fields.map { "\"\($0.name)\":\($0.milliseconds)" }.joined(separator: ",").utf8)
        out += Array("}}".utf8)
        return out
    }
}
