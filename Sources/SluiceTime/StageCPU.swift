#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The CPU time the extension spends, by stage of its pipeline: what it costs the function it
/// shares a CPU share with, shown in its health documents and its shutdown line.
///
/// A stage is timed on the thread that runs it (`CLOCK_THREAD_CPUTIME_ID`, read before and after a
/// piece of work that does not suspend), so that work of other threads in between is not counted
/// in it. What no stage names (HTTP in and out on the event loops, the lifecycle loop, the
/// runtime) is the process's total less the stages.
public final class StageCPU: Sendable {
    public enum Stage: Int, CaseIterable, Sendable {
        /// Telemetry in: validation of a delivery, rules, invocation context and documents.
        case ingest
        /// Writing a delivery's records (and the invocation view's state) in one transaction.
        case spoolAppend
        /// Leasing a batch and settling it.
        case leaseSettle
        /// Encoding a `_bulk` body and compressing it.
        case encode
        /// Reading a `_bulk` answer.
        case answer

        /// The name in documents and log lines.
        public var name: String {
            switch self {
            case .ingest: "ingest"
            case .spoolAppend: "spoolAppend"
            case .leaseSettle: "leaseSettle"
            case .encode: "encode"
            case .answer: "answer"
            }
        }
    }

    private let nanoseconds = Locked([Int64](repeating: 0, count: Stage.allCases.count))

    public init() {}

    /// Runs `body`, which must not suspend, and adds the CPU time the calling thread spent in it
    /// to `stage`.
    public func measure<Result, Failure: Error>(
        _ stage: Stage, _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let start = Self.threadNanoseconds()
        defer {
            let spent = Self.threadNanoseconds() - start
            nanoseconds.withLock { $0[stage.rawValue] += spent }
        }
        return try body()
    }

    /// CPU time so far, by stage, in milliseconds; `other` is the process's total less the stages.
    public func snapshot() -> Snapshot {
        let total = Self.processNanoseconds()
        let stages = nanoseconds.withLock { $0 }
        return Snapshot(
            totalMilliseconds: Double(total) / 1e6,
            stages: Stage.allCases.map { ($0, Double(stages[$0.rawValue]) / 1e6) })
    }

    public struct Snapshot: Sendable {
        /// The whole process's user + system time since it started.
        public var totalMilliseconds: Double
        public var stages: [(stage: Stage, milliseconds: Double)]
        /// What the stages do not name: HTTP in and out, the lifecycle loop, the runtime.
        public var otherMilliseconds: Double { max(0, totalMilliseconds - stages.reduce(0) { $0 + $1.milliseconds }) }

        /// `name=milliseconds` pairs, whole milliseconds: `total`, each stage, then `other`.
        public var fields: [(name: String, milliseconds: Int)] {
            [("total", Int(totalMilliseconds.rounded()))]
                + stages.map { ($0.stage.name, Int($0.milliseconds.rounded())) }
                + [("other", Int(otherMilliseconds.rounded()))]
        }
    }

    /// The calling thread's CPU time so far.
    public static func threadNanoseconds() -> Int64 { read(CLOCK_THREAD_CPUTIME_ID) }

    /// The process's user + system time so far, every thread (ended ones included).
    public static func processNanoseconds() -> Int64 { read(CLOCK_PROCESS_CPUTIME_ID) }

    private static func read(_ clock: clockid_t) -> Int64 {
        var time = timespec()
        guard clock_gettime(clock, &time) == 0 else { return 0 }
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
