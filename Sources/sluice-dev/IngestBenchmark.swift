import ArgumentParser
import AsyncHTTPClient
import Logging
import NIOCore
import SluiceIngest
import SluiceLambda
import SluiceOpenSearch
import SluiceSpool
import SluiceTime

#if canImport(Glibc)
    import Glibc
#endif

/// Ingest throughput: Telemetry API deliveries POSTed to the real listener, validated, turned into
/// documents and committed to the spool before the 200, against raw SQLite inserts of the same rows.
struct IngestBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-ingest",
        abstract: "Events/s from telemetry POST to committed spool and 200, against raw SQLite inserts.")

    @Option(help: "Folder for the benchmark files (on the disk /tmp is on).") var folder = "/tmp"
    @Option(help: "Deliveries per run.") var deliveries = 200
    @Option(help: "Events per delivery.") var events = 1000
    @Option(help: "Bytes of each log line.") var lineBytes = 250
    @Option(help: "Runs per figure; the median is reported.") var runs = 3

    /// The rules of the rows with rules: every built-in, and two custom rules as users write them.
    static let customRules = #"""
        [{"type":"mask_sequences","name":"ssn","pattern":"\\d{3}-\\d{2}-\\d{4}","replace_placeholder":"[SSN]"},
         {"type":"exclude_at_match","name":"health","pattern":"GET /health"}]
        """#

    func run() async throws {
        let bodies = (0..<deliveries).map { delivery in
            Self.body(delivery: delivery, events: events, lineBytes: lineBytes)
        }
        let total = deliveries * events
        let all = IngestRules(rules: IngestRules.builtins("all").0)
        let allAndCustom = IngestRules(rules: IngestRules.custom(Self.customRules).0 + all.rules)
        let configurations: [(name: String, rules: IngestRules)] = [
            ("no rules", IngestRules()), ("SLUICE_MASK=all", all), ("SLUICE_MASK=all + 2 custom rules", allAndCustom),
        ]
        var ingest = Array(repeating: [Double](), count: configurations.count)
        var raw: [Double] = []
        var cpu = Array(repeating: [Double](), count: configurations.count)
        var append: [Double] = []
        for run in 0..<runs {
            let base = "\(folder)/sluice-bench-ingest-\(getpid())-\(run)"
            defer {
                for suffix in ["raw", "alone"] + configurations.indices.map({ "spool\($0)" }) {
                    Measure.removeDatabase("\(base)-\(suffix).sqlite")
                }
            }
            var rows: [[SpoolRecord]] = []
            for (position, configuration) in configurations.enumerated() {
                let spool = try Spool.open(
                    SpoolConfiguration(path: base + "-spool\(position).sqlite", capBytes: 1 << 40))
                let ingestor = try Self.ingestor(spool, rules: configuration.rules)
                // Parse, rules and encode alone, no SQLite and no HTTP: the CPU share of ingest.
                var records: [[SpoolRecord]] = []
                cpu[position].append(
                    try Measure.rate(total) {
                        records = try bodies.map { try ingestor.records(TelemetryDelivery(validating: $0)) }
                    })
                if position == 0 { rows = records }
                ingest[position].append(try await Self.post(bodies, to: ingestor, events: total))
                // Every event but those a rule drops, and one summary per delivery (an invocation each).
                let dropped = ingestor.tallies.rules.filter { $0.key.hasSuffix(".dropped") }.values.reduce(0, +)
                guard spool.waitingCount == total + deliveries - dropped else {
                    throw ValidationError("stored \(spool.waitingCount) of \(total + deliveries - dropped) documents")
                }
            }

            let database = try RawSQLite(path: base + "-raw.sqlite")
            raw.append(try Measure.rate(total) { try database.insert(rows) })

            // The same records through Spool.append alone: the spool's share of ingest.
            let alone = try Spool.open(SpoolConfiguration(path: base + "-alone.sqlite", capBytes: 1 << 40))
            append.append(try Measure.rate(total) { for delivery in rows { try alone.append(delivery) } })
        }

        let rawRate = Measure.median(raw)
        print(
            "ingest benchmark: \(deliveries) deliveries of \(events) events, \(lineBytes)-byte lines, median of \(runs)"
        )
        print("| figure | events/s | vs raw | target |")
        print("|---|---:|---:|---|")
        print(
            "| raw SQLite insert of the same rows (integer key, no other index) | \(Measure.format(rawRate)) | 1.00 | |"
        )
        let targets = ["≥ 0.50", "for comparison", "≥ 0.40"]
        for (position, configuration) in configurations.enumerated() {
            print(
                Measure.row(
                    "ingest, \(configuration.name): POST → validate → rules → documents → committed spool → 200",
                    Measure.median(ingest[position]), rawRate, targets[position]))
        }
        for (position, configuration) in configurations.enumerated() {
            print(
                Measure.row(
                    "validate + rules + documents only, \(configuration.name) (no HTTP, no SQLite)",
                    Measure.median(cpu[position]), rawRate, "for comparison"))
        }
        print(
            Measure.row(
                "Spool.append of the same records only (no HTTP, no validation)", Measure.median(append), rawRate,
                "for comparison"))
        let plain = Measure.median(ingest[0])
        Measure.summarize(
            "ingest: telemetry POST → committed spool → 200, against raw SQLite inserts",
            Measure.against(plain, rawRate, of: "raw", unit: "events/s"),
            target: "≥ 0.50 of raw", met: Measure.ratio(plain, rawRate) >= 0.50)
        let ruled = Measure.median(ingest[2])
        Measure.summarize(
            "ingest with SLUICE_MASK=all and two custom rules, against raw SQLite inserts",
            Measure.against(ruled, rawRate, of: "raw", unit: "events/s"),
            target: "≥ 0.40 of raw", met: Measure.ratio(ruled, rawRate) >= 0.40)
        MatchingEngines.compare(bodies.prefix(20))
    }

    static func ingestor(_ spool: Spool, rules: IngestRules) throws -> Ingestor {
        Ingestor(
            spool: spool,
            document: TelemetryDocument(function: .init(name: "bench", version: "$LATEST", region: "eu-west-1")),
            environmentID: try spool.environmentID(),
            indices: .init(
                platform: IndexPattern("lambda-platform"), function: IndexPattern("lambda-function"),
                extension: IndexPattern("lambda-extension"), invocation: IndexPattern("lambda-invocations")),
            logger: Logger(label: "bench"), rules: rules)
    }

    /// POSTs every body to a real listener in front of `ingestor`, one after the other; events/s.
    static func post(_ bodies: [[UInt8]], to ingestor: Ingestor, events: Int) async throws -> Double {
        let listener = try await TelemetryListener.bind(host: "127.0.0.1", maxBodyBytes: 64 << 20) { body in
            ingestor.ingest(body)
        }
        let serving = Task { await listener.run() }
        let url = "http://127.0.0.1:\(listener.port)/telemetry"
        let start = monotonicSeconds()
        for body in bodies {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            _ = try await response.body.collect(upTo: 1 << 16)
            guard response.status == .ok else { throw ValidationError("ingest answered \(response.status)") }
        }
        let rate = Double(events) / (monotonicSeconds() - start)
        listener.close()
        await serving.value
        return rate
    }

    /// One invocation per delivery, as the platform sends them: its `platform.start`, `events` - 3
    /// function log lines of about `lineBytes` bytes (text lines as Node.js writes them, every
    /// tenth a JSON record; one in twenty holds an email address and an IP, one in fifty is a
    /// health check), its `platform.runtimeDone` and `platform.report`; distinct per delivery.
    /// Ingest ties every line to the invocation and writes the summary.
    static func body(delivery: Int, events: Int, lineBytes: Int) -> [UInt8] {
        var out = Array("[".utf8)
        let start: Int64 = 1_764_000_000_000 + Int64(delivery) * 10_000
        let requestId = "c0ffee00-0000-4000-8000-\(String(delivery, radix: 16).leftPadded(12))"
        func event(_ offset: Int, _ type: String, _ record: String) {
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            let time = UTCTime.iso8601(milliseconds: start + Int64(offset))
            out += Array(#"{"time":"\#(time)","type":"\#(type)","record":\#(record)}"#.utf8)
        }
        let lines = max(0, events - 3)
        event(
            0, "platform.start",
            #"{"requestId":"\#(requestId)","version":"$LATEST","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-6752b0e2-\#(requestId.suffix(24));Parent=1a2b3c4d5e6f7a8b;Sampled=1"}}"#
        )
        for number in 0..<lines {
            let time = UTCTime.iso8601(milliseconds: start + 1 + Int64(number))
            if number % 10 == 9 {
                let head =
                    #"{"timestamp":"\#(time)","level":"INFO","requestId":"\#(requestId)","orderId":\#(number),"message":""#
                let fill = String(repeating: "x", count: max(0, lineBytes - head.utf8.count - 2))
                event(1 + number, "function", head + fill + #""}"#)
            } else {
                // Some lines hold what the rules look for: an address and a client IP, a health check.
                let extra =
                    number % 20 == 3
                    ? "user jane.doe@example.com from 203.0.113.\(number % 250) "
                    : number % 50 == 7 ? "GET /health 200 " : ""
                let head = "\(time)\\t\(requestId)\\tINFO\\tline \(number) \(extra)"
                let fill = String(repeating: "x", count: max(0, lineBytes - head.utf8.count))
                event(1 + number, "function", "\"" + head + fill + "\"")
            }
        }
        event(
            lines + 1, "platform.runtimeDone",
            #"{"requestId":"\#(requestId)","status":"success","metrics":{"durationMs":\#(lines).25,"producedBytes":42},"spans":[{"name":"responseLatency","start":"2026-11-25T12:00:00.000Z","durationMs":1.5},{"name":"responseDuration","start":"2026-11-25T12:00:00.001Z","durationMs":0.1}]}"#
        )
        event(
            lines + 2, "platform.report",
            #"{"requestId":"\#(requestId)","status":"success","metrics":{"durationMs":\#(lines + 1).5,"billedDurationMs":\#(lines + 2),"memorySizeMB":128,"maxMemoryUsedMB":61}}"#
        )
        out.append(UInt8(ascii: "]"))
        return out
    }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
