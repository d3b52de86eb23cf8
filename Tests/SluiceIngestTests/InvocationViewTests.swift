import Foundation
import Logging
import SluiceLambda
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

@testable import SluiceIngest

/// Every log line tied to its invocation, one summary per invocation: across deliveries, across a
/// restart of the process on the same spool, once for a re-delivered batch.
struct InvocationViewTests {
    let folder: TemporaryFolder
    let spool: Spool
    let function = TelemetryDocument.Function(name: "orders", version: "7", region: "eu-west-1")

    init() throws {
        folder = try TemporaryFolder()
        spool = try openSpool(folder)
    }

    /// The trace's root is read from an X-Ray header as its parts split: at each `;`, then at the
    /// first `=`, spaces before a name ignored, a part without a value skipped.
    @Test func theTraceRootIsReadFromEveryShapeOfHeader() {
        let cases: [(header: String, root: String?)] = [
            ("Root=1-abc;Parent=53995c3f42cd8ad8;Sampled=1", "1-abc"), ("Parent=53995c3f42cd8ad8; Root=1-abc", "1-abc"),
            ("Root=", nil), ("Root=;Root=2", "2"), ("NotRoot=1", nil), ("Root=a=b", "a=b"), ("", nil),
            (";;Root=x;", "x"), ("root=x", nil), ("Root =x", nil), ("Rootx=1;Root=é", "é"), ("Root", nil),
        ]
        for (header, root) in cases { #expect(InvocationTracker.traceRoot(header) == root, "\(header)") }
    }

    /// A fresh ingestor on the spool, as a restarted process makes one.
    func ingestor(invocations: String? = "inv", on spool: Spool? = nil) throws -> Ingestor {
        let spool = spool ?? self.spool
        return Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: try spool.environmentID(),
            indices: IndexRouting(
                platform: IndexPattern("plat"), function: IndexPattern("fn"), extension: IndexPattern("ext"),
                invocation: invocations.map { IndexPattern($0) }),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    static let base: Int64 = 1_795_612_518_000
    static func time(_ offset: Int64) -> String { UTCTime.iso8601(milliseconds: base + offset) }
    static func event(_ offset: Int64, _ type: String, _ record: String) -> String {
        #"{"time":"\#(time(offset))","type":"\#(type)","record":\#(record)}"#
    }
    static func body(_ events: String...) -> [UInt8] { Array(("[" + events.joined(separator: ",") + "]").utf8) }

    static let trace =
        #""tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-6752b0e2-aaaabbbbccccdddd00001111;Parent=1a2b3c4d5e6f7a8b;Sampled=1"}"#
    static func start(_ offset: Int64, _ id: String) -> String {
        event(offset, "platform.start", #"{"requestId":"\#(id)","version":"7",\#(trace)}"#)
    }
    static func line(_ offset: Int64, _ text: String) -> String { event(offset, "function", "\"\(text)\"") }

    /// Every document in the spool by id, parsed.
    func documents() throws -> [[String: Any]] {
        try spool.peek(limit: 10_000).compactMap {
            try JSONSerialization.jsonObject(with: Data($0.document)) as? [String: Any]
        }
    }

    func lines(containing marker: String) throws -> [[String: Any]] {
        try documents().filter { ($0["message"] as? String)?.contains(marker) == true }
    }

    /// The one summary in the spool, which replaced `incomplete` (same id, a new row), and its document.
    func replacement(of incomplete: StoredRecord) throws -> (StoredRecord, [String: Any]) {
        let summaries = try spool.peek(limit: 100).filter { $0.index == "inv" }
        #expect(summaries.count == 1)
        let summary = try #require(summaries.first)
        #expect(summary.id == incomplete.id && summary.replaces && summary.seq != incomplete.seq)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(summary.document)) as? [String: Any])
        return (summary, document)
    }

    func summaries() throws -> [[String: Any]] {
        try documents().filter { $0["type"] as? String == "sluice.invocation" }
    }

    @Test func aLineBelongsToTheNewestStartBeforeItEvenInALaterDelivery() throws {
        let ingestor = try ingestor()
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.event(0, "platform.initStart", #"{"initializationType":"on-demand","phase":"init"}"#),
                    Self.line(5, "init-line"))) == .accepted)
        #expect(ingestor.ingest(Self.body(Self.start(100, "req-a"))) == .accepted)
        // print() style: no request id in the text, in the next delivery.
        #expect(ingestor.ingest(Self.body(Self.line(120, "plain print a"))) == .accepted)
        // After runtimeDone, before the next start: still the first invocation's.
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.event(150, "platform.runtimeDone", #"{"requestId":"req-a","status":"success"}"#),
                    Self.line(160, "background a"), Self.start(200, "req-b"), Self.line(210, "plain print b"),
                    // A JSON record's own request id wins.
                    Self.event(220, "function", #"{"level":"INFO","requestId":"req-a","message":"late a","orderId":7}"#)
                )) == .accepted)

        let initLine = try #require(try lines(containing: "init-line").first)
        #expect(initLine["requestId"] == nil)
        #expect(initLine["phase"] as? String == "init")
        for (marker, request) in [("plain print a", "req-a"), ("background a", "req-a"), ("plain print b", "req-b")] {
            let line = try #require(try lines(containing: marker).first, "\(marker)")
            #expect(line["requestId"] as? String == request, "\(marker)")
            #expect(line["traceId"] as? String == "1-6752b0e2-aaaabbbbccccdddd00001111", "\(marker)")
            #expect(line["phase"] as? String == "invoke", "\(marker)")
        }
        let late = try #require(try lines(containing: "late a").first)
        #expect(late["requestId"] as? String == "req-a")
        #expect((late["fields"] as? [String: Any])?["orderId"] as? Int == 7, "JSON fields indexed again as fields")
        #expect((late["record"] as? [String: Any])?["orderId"] as? Int == 7, "record as sent")
    }

    @Test func aLineOfTheSameMillisecondAsAStartIsItsOnlyIfItComesAfterIt() throws {
        let ingestor = try ingestor()
        #expect(ingestor.ingest(Self.body(Self.start(100, "req-a"))) == .accepted)
        // Lambda's times are whole milliseconds: a handler's last line and the next start share one.
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.line(200, "last of a"), Self.line(200, "also a"), Self.start(200, "req-b"),
                    Self.line(200, "first of b"), Self.line(201, "second of b"))) == .accepted)
        #expect(ingestor.ingest(Self.body(Self.line(200, "later delivery, b"))) == .accepted)
        for (marker, request) in [
            ("last of a", "req-a"), ("also a", "req-a"), ("first of b", "req-b"), ("second of b", "req-b"),
            ("later delivery, b", "req-b"),
        ] {
            #expect(try lines(containing: marker).first?["requestId"] as? String == request, "\(marker)")
        }
    }

    @Test func startRuntimeDoneAndReportJoinOnceAcrossARestart() throws {
        var ingestor = try ingestor()
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.event(0, "platform.initStart", #"{"initializationType":"on-demand","phase":"init"}"#),
                    Self.start(100, "req-a"), Self.line(110, "2026-11-25T13:15:18.110Z\\treq-a\\tERROR\\tboom"),
                    Self.event(120, "function", #"{"level":"FATAL","message":"two"}"#))) == .accepted)
        // The process is killed and started again on the same spool.
        ingestor = try self.ingestor()
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.line(130, "[ERROR]\\tthree"),
                    Self.event(
                        140, "platform.runtimeDone",
                        #"{"requestId":"req-a","status":"error","errorType":"Runtime.OutOfMemory","metrics":{"durationMs":40,"producedBytes":12},"spans":[{"name":"responseLatency","start":"x","durationMs":3.5},{"name":"responseDuration","start":"x","durationMs":0.25}]}"#
                    ))) == .accepted)
        ingestor = try self.ingestor()
        let report = Self.body(
            Self.event(
                150, "platform.report",
                #"{"requestId":"req-a","status":"error","errorType":"Runtime.OutOfMemory","metrics":{"durationMs":45.67,"billedDurationMs":46,"memorySizeMB":128,"maxMemoryUsedMB":128,"initDurationMs":210.5},"spans":[{"name":"extensionOverhead","start":"x","durationMs":1}]}"#
            ))
        #expect(ingestor.ingest(report) == .accepted)
        // A lost 200: the same report again changes nothing.
        #expect(ingestor.ingest(report) == .accepted)

        let summaries = try summaries()
        #expect(summaries.count == 1)
        let summary = try #require(summaries.first)
        #expect(summary["requestId"] as? String == "req-a")
        #expect(summary["traceId"] as? String == "1-6752b0e2-aaaabbbbccccdddd00001111")
        #expect(summary["@timestamp"] as? String == Self.time(100))
        #expect(summary["end"] as? String == Self.time(150))
        #expect(summary["functionName"] as? String == "orders")
        #expect(summary["status"] as? String == "error")
        #expect(summary["errorType"] as? String == "Runtime.OutOfMemory")
        #expect(summary["outOfMemory"] as? Bool == true)
        #expect(summary["timedOut"] as? Bool == false)
        #expect(summary["coldStart"] as? Bool == true)
        #expect(summary["initType"] as? String == "on-demand")
        #expect(summary["durationMs"] as? Double == 45.67)
        #expect(summary["billedDurationMs"] as? Double == 46)
        #expect(summary["memoryUsedPercent"] as? Double == 100)
        #expect(summary["initDurationMs"] as? Double == 210.5)
        #expect(summary["runtimeDurationMs"] as? Double == 40)
        #expect(summary["producedBytes"] as? Double == 12)
        #expect(summary["responseLatencyMs"] as? Double == 3.5)
        #expect(summary["responseDurationMs"] as? Double == 0.25)
        #expect(summary["extensionOverheadMs"] as? Double == 1)
        #expect(summary["logLines"] as? Double == 3)
        #expect(summary["errorLines"] as? Double == 3, "Node's and Python's tokens and the JSON level")
        let written = [
            "2026-11-25T13:15:18.110Z\treq-a\tERROR\tboom", #"{"level":"FATAL","message":"two"}"#, "[ERROR]\tthree",
        ]
        #expect(
            summary["logBytes"] as? Double == Double(written.reduce(0) { $0 + $1.utf8.count }),
            "a text line's bytes as written, escapes resolved; a JSON line's as its text")
        #expect(ingestor.openInvocations.isEmpty)
        let records = try spool.peek(limit: 100)
        let record = try #require(records.first { $0.index == "inv" })
        #expect(record.id == DocumentID.invocation(requestId: "req-a", startedAt: Self.base + 100))
    }

    /// Found by the `delivery` fuzz target: a delivery that reports one invocation twice (the platform
    /// re-batched a report it had sent, or the start was never seen) gave two summaries with one id.
    @Test func aDeliveryThatReportsAnInvocationTwiceGivesOneSummary() throws {
        let ingestor = try ingestor()
        let report = Self.event(
            150, "platform.report", #"{"requestId":"req-a","status":"success","metrics":{"durationMs":40}}"#)
        let again = Self.event(
            160, "platform.report", #"{"requestId":"req-a","status":"error","metrics":{"durationMs":50}}"#)
        let orphan = Self.event(
            300, "platform.report", #"{"requestId":"req-b","status":"success","metrics":{"durationMs":20}}"#)
        let bodies = [
            Self.body(Self.start(100, "req-a"), report, again, orphan, orphan),
            Self.body(report, Self.start(100, "req-a"), again, report),
        ]
        for body in bodies {
            let delivery = try TelemetryDelivery(validating: body)
            let ids = ingestor.records(delivery).map(\.id)
            #expect(Set(ids).count == ids.count, "\(ids)")
        }
        let before = try spool.statistics().counters.received
        #expect(ingestor.ingest(bodies[0]) == .accepted)
        #expect(try spool.statistics().counters.received == before + 5 + 2, "every record it gave was stored")
        let byRequest = Dictionary(grouping: try summaries()) { $0["requestId"] as? String ?? "" }
        #expect(byRequest["req-a"]?.count == 1)
        #expect(byRequest["req-a"]?.first?["status"] as? String == "success", "the first report, as across deliveries")
        #expect(byRequest["req-a"]?.first?["@timestamp"] as? String == Self.time(100))
        #expect(byRequest["req-b"]?.count == 1)
        #expect(byRequest["req-b"]?.first?["@timestamp"] as? String == Self.time(280))
        #expect(ingestor.openInvocations.isEmpty)
    }

    @Test func anInvocationWithoutAReportIsSummarisedIncompleteAtShutdown() throws {
        let ingestor = try ingestor()
        #expect(
            ingestor.ingest(Self.body(Self.start(100, "req-a"), Self.line(110, "working"), Self.start(200, "req-b")))
                == .accepted)
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.event(
                        250, "platform.report",
                        #"{"requestId":"req-b","status":"timeout","metrics":{"durationMs":3000,"billedDurationMs":3000,"memorySizeMB":256,"maxMemoryUsedMB":80}}"#
                    ))) == .accepted)
        #expect(ingestor.openInvocations.map(\.requestId) == ["req-a"])
        #expect(ingestor.closeOpenInvocations() == 1)
        #expect(ingestor.closeOpenInvocations() == 0, "once")
        let byRequest = Dictionary(grouping: try summaries()) { $0["requestId"] as? String ?? "" }
        #expect(byRequest["req-a"]?.count == 1)
        #expect(byRequest["req-a"]?.first?["status"] as? String == "incomplete")
        #expect(byRequest["req-a"]?.first?["logLines"] as? Double == 1)
        #expect(byRequest["req-a"]?.first?["coldStart"] as? Bool == false)
        #expect(byRequest["req-b"]?.first?["timedOut"] as? Bool == true)
        #expect(byRequest["req-b"]?.first?["outOfMemory"] as? Bool == false)
        // Kept, marked, for a report that may still come.
        #expect(try spool.invocationState().open.map(\.requestId) == ["req-a"])
    }

    /// A report the platform delivers after SHUTDOWN's incomplete summary (the platform went quiet
    /// for longer than the buffering timeout) completes the invocation: its summary replaces the
    /// incomplete one, whether that one still waits in the spool, is being shipped, or has shipped.
    @Test(arguments: ["waiting", "leased", "shipped"])
    func aReportAfterTheIncompleteSummaryReplacesIt(incompleteWas: String) throws {
        var ingestor = try ingestor()
        #expect(ingestor.ingest(Self.body(Self.start(100, "req-a"), Self.line(110, "working"))) == .accepted)
        #expect(ingestor.closeOpenInvocations() == 1)
        let incomplete = try #require(try spool.peek(limit: 10).first { $0.index == "inv" })
        var leased: [StoredRecord] = []
        if incompleteWas != "waiting" {
            leased = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
            #expect(leased.contains { $0.seq == incomplete.seq && !$0.replaces })
        }
        if incompleteWas == "shipped" { try spool.settle(leased.map { ($0.seq, .shipped) }) }

        let report = Self.event(
            3_000, "platform.report",
            #"{"requestId":"req-a","status":"success","metrics":{"durationMs":2900,"billedDurationMs":2900,"memorySizeMB":128,"maxMemoryUsedMB":60}}"#
        )
        // The process is killed after SHUTDOWN's summaries and started again on the same spool: the
        // mark that the summary was written incomplete is in the spool, with the summary.
        ingestor = try self.ingestor()
        #expect(ingestor.ingest(Self.body(report)) == .accepted)
        if incompleteWas == "leased" {
            // The incomplete one's shipment ends after: its row is gone, and nothing else goes with it.
            let settled = try spool.settle(leased.map { ($0.seq, .shipped) })
            #expect(settled.missing == 1)
        }
        let (summary, document) = try replacement(of: incomplete)
        #expect(document["status"] as? String == "success")
        #expect(document["durationMs"] as? Double == 2900)
        #expect(document["logLines"] as? Double == 1, "what the incomplete one knew is kept")
        #expect(try spool.invocationState().open.isEmpty)
        #expect(try spool.statistics().rows == spool.peek(limit: 100).count, "the totals follow")
        #expect(ingestor.closeOpenInvocations() == 0)

        // The same report again in another delivery (re-batched) does not replace the complete one.
        #expect(ingestor.ingest(Self.body(Self.line(3_001, "after"), report)) == .accepted)
        let after = try spool.peek(limit: 100).filter { $0.index == "inv" }
        #expect(after.map(\.seq) == [summary.seq])
    }

    /// A timeout's runtimeDone flushed after SHUTDOWN's incomplete summary, with no report after
    /// it: the summary is written again with the runtime's status, replacing the incomplete one,
    /// and stays open for a report; the same runtimeDone again writes nothing.
    @Test func aRuntimeDoneAfterTheIncompleteSummaryReplacesIt() throws {
        let ingestor = try ingestor()
        #expect(ingestor.ingest(Self.body(Self.start(100, "req-a"), Self.line(110, "working"))) == .accepted)
        #expect(ingestor.closeOpenInvocations() == 1)
        let incomplete = try #require(try spool.peek(limit: 10).first { $0.index == "inv" })
        let done = Self.event(
            3_100, "platform.runtimeDone", #"{"requestId":"req-a","status":"timeout","metrics":{"durationMs":3000}}"#)
        #expect(ingestor.ingest(Self.body(done)) == .accepted)
        let (summary, document) = try replacement(of: incomplete)
        #expect(document["status"] as? String == "timeout")
        #expect(document["timedOut"] as? Bool == true)
        #expect(document["logLines"] as? Double == 1)
        #expect(try spool.invocationState().open.map(\.requestId) == ["req-a"], "open for a report")
        #expect(ingestor.ingest(Self.body(Self.line(3_200, "x"), done)) == .accepted)
        let summaries = try spool.peek(limit: 100).filter { $0.index == "inv" }
        #expect(summaries.map(\.seq) == [summary.seq], "nothing new to say")
    }

    @Test func linesAfterShutdownBeganAreTheShutdownPhase() throws {
        let clock = ManualClock(Self.base + 1_000)
        let spool = try openSpool(folder, clock: clock, name: "shutdown.sqlite")
        let ingestor = Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: try spool.environmentID(),
            indices: IndexRouting(
                platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }, clock: clock.wallClock)
        #expect(ingestor.ingest(Self.body(Self.start(100, "req-a"))) == .accepted)
        ingestor.shutdownBegan()
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.line(900, "before"), Self.line(1_000, "after"),
                    Self.event(1_001, "function", #"{"level":"INFO","requestId":"req-a","message":"own id, after"}"#)))
                == .accepted)
        let documents = try spool.peek(limit: 10).compactMap {
            try JSONSerialization.jsonObject(with: Data($0.document)) as? [String: Any]
        }
        let before = try #require(documents.first { $0["message"] as? String == "before" })
        let after = try #require(documents.first { $0["message"] as? String == "after" })
        #expect(before["requestId"] as? String == "req-a")
        #expect(after["requestId"] == nil)
        #expect(after["phase"] as? String == "shutdown")
        // A JSON line's own request id still names its invocation; the phase is the time's.
        let own = try #require(documents.first { $0["message"] as? String == "own id, after" })
        #expect(own["requestId"] as? String == "req-a")
        #expect(own["phase"] as? String == "shutdown")
    }

    /// A delivery can hold many short invocations (a 1,000 ms buffer, a batch sent again after a
    /// refusal): every line keeps its own, however many starts the delivery brings, and the marks
    /// kept afterwards are trimmed as before.
    @Test func aDeliveryOfManyInvocationsKeepsEveryLineWithItsOwn() throws {
        let ingestor = try ingestor()
        let count = 3 * InvocationTracker.marksKept
        var events: [String] = []
        for number in 0..<count {
            let at = Int64(number) * 10
            events += [
                Self.start(at, "req-\(number)"), Self.line(at + 2, "line of req-\(number)"),
                Self.event(at + 4, "platform.runtimeDone", #"{"requestId":"req-\#(number)","status":"success"}"#),
                Self.event(
                    at + 5, "platform.report",
                    #"{"requestId":"req-\#(number)","status":"success","metrics":{"durationMs":4}}"#),
            ]
        }
        #expect(ingestor.ingest(Array(("[" + events.joined(separator: ",") + "]").utf8)) == .accepted)
        let documents = try documents()
        for number in 0..<count {
            let line = try #require(documents.first { $0["message"] as? String == "line of req-\(number)" })
            #expect(line["requestId"] as? String == "req-\(number)")
            #expect(line["phase"] as? String == "invoke")
        }
        let summaries = documents.filter { $0["type"] as? String == "sluice.invocation" }
        #expect(summaries.count == count)
        #expect(summaries.allSatisfy { $0["logLines"] as? Double == 1 }, "each summary counts its line")
        #expect(try spool.invocationState().marks.count == InvocationTracker.marksKept)
        // The next delivery's late line still finds the newest invocation.
        #expect(ingestor.ingest(Self.body(Self.line(Int64(count) * 10, "late"))) == .accepted)
        #expect(try lines(containing: "late").first?["requestId"] as? String == "req-\(count - 1)")
    }

    /// A timeout or a crash resets the environment: the platform sends runtimeDone, then SHUTDOWN,
    /// and the report may never reach the extension. The summary says how the runtime ended.
    /// Lambda drops the oldest telemetry when the extension falls behind: an invocation's start can
    /// be lost while its lines and report come. Its text lines carry its request id where the
    /// runtime writes it (Node.js, Python), which wins over the marks (here the previous
    /// invocation's start), and its summary, made from the report, counts them.
    @Test func linesOfAnInvocationWhoseStartWasDroppedKeepTheirOwnRequestId() throws {
        let ingestor = try ingestor()
        let a = "6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"
        let b = "913fdbb1-0044-423e-9cc1-bc93c781f847"
        #expect(
            ingestor.ingest(Self.body(Self.start(100, a), Self.line(110, "\(Self.time(110))\\t\(a)\\tINFO\\ta-1")))
                == .accepted)
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.event(
                        180, "platform.logsDropped",
                        #"{"droppedBytes":900,"droppedRecords":4,"reason":"Consumer seems to have fallen behind"}"#),
                    // b's start was among what Lambda dropped.
                    Self.line(210, "\(Self.time(210))\\t\(b)\\tERROR\\tb-1"),
                    Self.line(211, "[INFO]\\t\(Self.time(211))\\t\(b)\\tb-2 python"),
                    Self.line(212, "b-3 print, no id"),
                    Self.event(250, "platform.runtimeDone", #"{"requestId":"\#(b)","status":"success"}"#),
                    Self.event(
                        260, "platform.report",
                        #"{"requestId":"\#(b)","status":"success","metrics":{"durationMs":50,"billedDurationMs":50,"memorySizeMB":128,"maxMemoryUsedMB":40}}"#
                    ))) == .accepted)
        #expect(try lines(containing: "a-1").first?["requestId"] as? String == a)
        for marker in ["b-1", "b-2"] {
            let line = try #require(try lines(containing: marker).first)
            #expect(line["requestId"] as? String == b, "\(marker)")
            #expect(line["phase"] as? String == "invoke")
        }
        // A print() line has no id of its own: the marks place it, with the only start there is.
        #expect(try lines(containing: "b-3").first?["requestId"] as? String == a)
        let summary = try #require(try summaries().first { $0["requestId"] as? String == b })
        #expect(summary["logLines"] as? Int == 2)
        #expect(summary["errorLines"] as? Int == 1)
        #expect(summary["status"] as? String == "success")
    }

    @Test func aLevelIsKnownByItsNameInAnyCase() {
        let names: [(String, LogLevel?)] = [
            ("TRACE", .trace), ("debug", .debug), ("Info", .info), ("WARN", .warn), ("warning", .warn),
            ("ERROR", .error), ("fatal", .fatal), ("CRITICAL", .fatal), ("INF", nil), ("INFOS", nil),
            ("WARNINGS", nil), ("CRITICALS", nil), ("ERR", nil), ("E RROR", nil), ("ÉRROR", nil), ("", nil),
            ("\u{0}INFO", nil), ("NOTICE", nil),
        ]
        for (name, level) in names {
            #expect(LogLevel(name: Array(name.utf8)) == level, "\(name)")
        }
        for level in LogLevel.allCases {
            #expect(LogLevel(name: Array(level.name.utf8)) == level)
            #expect(LogLevel(name: Array(level.name.lowercased().utf8)) == level)
        }
    }

    @Test func theRequestIdInARuntimesTextLine() {
        let id = "913fdbb1-0044-423e-9cc1-bc93c781f847"
        // The JSON string token as sent: a tab is the two bytes `\t`.
        func token(_ text: String) -> ArraySlice<UInt8> {
            ArraySlice(Array(("\"" + text.replacingOccurrences(of: "\t", with: "\\t") + "\"").utf8))
        }
        #expect(LogLevel.requestIdInTextToken(token("2026-11-25T12:00:00.123Z\t\(id)\tINFO\thello")) == id)
        #expect(LogLevel.requestIdInTextToken(token("[ERROR]\t2026-11-25T12:00:00.123Z\t\(id)\tboom")) == id)
        #expect(LogLevel.requestIdInTextToken(token("[WARNING]\t2026-11-25T12:00:00.123Z\t\(id)\tslow")) == id)
        #expect(LogLevel.requestIdInTextToken(token("2026-11-25T12:00:00.123Z\tundefined\tINFO\tinit")) == nil)
        #expect(
            LogLevel.requestIdInTextToken(token("order \(id)\tpaid\t\(id)\tx")) == nil, "not where a runtime puts it")
        #expect(LogLevel.requestIdInTextToken(token("2026-11-25T12:00:00.123Z\t\(id)")) == nil, "no tab after it")
        #expect(LogLevel.requestIdInTextToken(token("2026-11-25T12:00:00.123Z\t\(id.dropLast())x\tINFO\tx")) == nil)
        #expect(LogLevel.requestIdInTextToken(token("\(id)\t\(id)\t\(id)\t")) == id, "a time is not checked")
        #expect(LogLevel.requestIdInTextToken(token("short")) == nil)
    }

    @Test func withoutAReportTheRuntimeDoneSaysHowTheInvocationEnded() throws {
        let ingestor = try ingestor()
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.start(100, "req-timeout"),
                    Self.event(
                        3_100, "platform.runtimeDone",
                        #"{"requestId":"req-timeout","status":"timeout","metrics":{"durationMs":3000}}"#),
                    Self.start(4_000, "req-oom"),
                    Self.event(
                        4_100, "platform.runtimeDone",
                        #"{"requestId":"req-oom","status":"error","errorType":"Runtime.OutOfMemory"}"#),
                    Self.start(5_000, "req-none"))) == .accepted)
        #expect(ingestor.closeOpenInvocations() == 3)
        let byRequest = Dictionary(uniqueKeysWithValues: try summaries().map { ($0["requestId"] as? String ?? "", $0) })
        #expect(byRequest["req-timeout"]?["status"] as? String == "timeout")
        #expect(byRequest["req-timeout"]?["timedOut"] as? Bool == true)
        #expect(byRequest["req-timeout"]?["runtimeDurationMs"] as? Double == 3000)
        #expect(byRequest["req-timeout"]?["end"] == nil, "no report, so no end")
        #expect(byRequest["req-oom"]?["status"] as? String == "error")
        #expect(byRequest["req-oom"]?["outOfMemory"] as? Bool == true)
        #expect(byRequest["req-oom"]?["errorType"] as? String == "Runtime.OutOfMemory")
        #expect(byRequest["req-none"]?["status"] as? String == "incomplete", "neither came")
    }

    /// A cold start is a request that waited for an init: the report then has the init's (or the
    /// restore's) duration. A provisioned environment, or one Lambda started ahead of demand, was
    /// ready before its first request came.
    @Test(
        arguments: [
            ("provisioned-concurrency", nil, false), ("on-demand", nil, false), ("on-demand", "210.5", true),
            ("snap-start", nil, false),
        ] as [(String, String?, Bool)])
    func aColdStartIsARequestThatWaitedForItsInit(initType: String, initDuration: String?, cold: Bool) throws {
        let ingestor = try ingestor()
        let initStart =
            initType == "snap-start"
            ? Self.event(0, "platform.restoreStart", "{}")
            : Self.event(0, "platform.initStart", #"{"initializationType":"\#(initType)","phase":"init"}"#)
        let metrics = #""durationMs":5"# + (initDuration.map { #","initDurationMs":\#($0)"# } ?? "")
        #expect(
            ingestor.ingest(
                Self.body(
                    initStart, Self.start(60_000, "req-a"),
                    Self.event(
                        60_010, "platform.report", #"{"requestId":"req-a","status":"success","metrics":{\#(metrics)}}"#),
                    Self.start(61_000, "req-b"),
                    Self.event(
                        61_010, "platform.report",
                        #"{"requestId":"req-b","status":"success","metrics":{"durationMs":5}}"#)
                )) == .accepted)
        let byRequest = Dictionary(uniqueKeysWithValues: try summaries().map { ($0["requestId"] as? String ?? "", $0) })
        #expect(byRequest["req-a"]?["coldStart"] as? Bool == cold)
        #expect(byRequest["req-a"]?["initType"] as? String == initType, "the environment's first request")
        #expect(byRequest["req-b"]?["coldStart"] as? Bool == false)
        #expect(byRequest["req-b"]?["initType"] == nil)
    }

    /// With no report, the init before the first request is all there is to go by, but a
    /// provisioned environment's first request is not cold.
    @Test func withoutAReportAProvisionedEnvironmentsFirstRequestIsNotCold() throws {
        let ingestor = try ingestor()
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.event(
                        0, "platform.initStart", #"{"initializationType":"provisioned-concurrency","phase":"init"}"#),
                    Self.start(60_000, "req-pc"))) == .accepted)
        let other = try openSpool(folder, name: "on-demand.sqlite")
        let onDemand = try self.ingestor(on: other)
        #expect(
            onDemand.ingest(
                Self.body(
                    Self.event(0, "platform.initStart", #"{"initializationType":"on-demand","phase":"init"}"#),
                    Self.start(100, "req-od"))) == .accepted)
        #expect(ingestor.closeOpenInvocations() == 1)
        #expect(onDemand.closeOpenInvocations() == 1)
        #expect(try summaries().first?["coldStart"] as? Bool == false)
        let summary = try #require(
            try other.peek(limit: 10).first { $0.index == "inv" }.flatMap {
                try JSONSerialization.jsonObject(with: Data($0.document)) as? [String: Any]
            })
        #expect(summary["coldStart"] as? Bool == true)
    }

    /// A start the platform sends again after its invocation was summarised (in a batch of other
    /// company, so not a re-delivery) opens nothing: no invocation left open for hours, and no
    /// second summary at SHUTDOWN.
    @Test func aStartSeenAgainAfterItsReportOpensNothing() throws {
        let ingestor = try ingestor()
        let start = Self.start(100, "req-a")
        #expect(
            ingestor.ingest(
                Self.body(
                    start,
                    Self.event(
                        150, "platform.report", #"{"requestId":"req-a","status":"success","metrics":{"durationMs":40}}"#
                    )
                )) == .accepted)
        #expect(ingestor.ingest(Self.body(start, Self.line(160, "after it"))) == .accepted)
        #expect(ingestor.openInvocations.isEmpty)
        #expect(ingestor.closeOpenInvocations() == 0)
        #expect(try summaries().count == 1)
        #expect(try lines(containing: "after it").first?["requestId"] as? String == "req-a")
    }

    @Test func summariesAreOffWithoutAnInvocationIndexAndLinesStillGetTheirInvocation() throws {
        let ingestor = try ingestor(invocations: nil)
        #expect(
            ingestor.ingest(
                Self.body(
                    Self.start(100, "req-a"), Self.line(110, "x"),
                    Self.event(150, "platform.report", #"{"requestId":"req-a","status":"success"}"#))) == .accepted)
        #expect(try summaries().isEmpty)
        #expect(try lines(containing: "x").first?["requestId"] as? String == "req-a")
    }

    @Test func aRefusedAppendChangesNoState() throws {
        let small = try openSpool(folder, maxFileBytes: 1 << 20, name: "small.sqlite")
        let ingestor = Ingestor(
            spool: small, document: TelemetryDocument(function: function), environmentID: try small.environmentID(),
            indices: IndexRouting(
                platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let filler = String(repeating: "x", count: 2_000)
        let big = (0..<1_000).map { Self.line(110 + Int64($0), "\(filler) \($0)") }
        let body = Array(("[" + ([Self.start(100, "req-a")] + big).joined(separator: ",") + "]").utf8)
        #expect(ingestor.ingest(body).status == 503)
        #expect(try small.invocationState() == InvocationState(), "nothing of the refused delivery")
        #expect(ingestor.openInvocations.isEmpty)
    }
}
