import Foundation
import InMemoryLogging
import Logging
import SluiceIngest
import SluiceLambda
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

/// From a delivery's bytes to committed spool records: documents, ids, refusals.
struct IngestorTests {
    let folder: TemporaryFolder
    let spool: Spool
    let logs = InMemoryLogHandler()
    let ingestor: Ingestor
    let function = TelemetryDocument.Function(name: "orders", version: "$LATEST", region: "eu-west-1")

    init() throws {
        folder = try TemporaryFolder()
        spool = try openSpool(folder)
        let handler = logs
        ingestor = Ingestor(
            spool: spool, document: TelemetryDocument(function: function), environmentID: try spool.environmentID(),
            indices: .init(
                platform: IndexPattern("plat"), function: IndexPattern("fn-%Y.%m.%d"), extension: IndexPattern("ext")),
            logger: Logger(label: "test") { _ in handler })
    }

    @Test func everyEventTypeBecomesTheDocumentTheDecodedPathMakes() throws {
        let delivery = try TelemetryDelivery(validating: TelemetryFixtures.delivery(TelemetryFixtures.eventJSON))
        let records = ingestor.records(delivery)
        #expect(records.count == TelemetryFixtures.events.count)
        let encoder = TelemetryDocument(function: function)
        // Every fixture has one time; the restore that comes after the start in the delivery is the
        // newest mark: lines of their own are an init's, a JSON line's own request id wins, and so
        // does the one a runtime writes into a text line.
        let trace = "1-62e900b2-710d76f009d6e7785905449a"
        for (record, fixture) in zip(records, TelemetryFixtures.events) {
            let value = try JSONDecoder().decode(JSONValue.self, from: Data(fixture.record.utf8))
            var context: LineContext?
            if TelemetryDocument.isLog(fixture.type) {
                let own =
                    value["requestId"]?.string
                    ?? value.string.flatMap { text in
                        LogLevel.requestIdInTextToken(
                            ArraySlice(Array(("\"" + text.replacingOccurrences(of: "\t", with: "\\t") + "\"").utf8)))
                    }
                context =
                    own.map { LineContext(requestId: $0, traceId: trace, phase: .invoke) }
                    ?? LineContext(phase: .initialization)
            }
            let expected = encoder.encode(
                time: TelemetryFixtures.time, type: fixture.type, record: value, context: context)
            #expect(try parsed(record.wholeDocument) == parsed(expected), "\(fixture.type): \(fixture.record)")
            #expect(!record.wholeDocument.contains(UInt8(ascii: "\n")))
            switch fixture.type {
            case "function": #expect(record.index == "fn-2026.11.25")
            case "extension": #expect(record.index == "ext")
            default: #expect(record.index == "plat")
            }
            #expect(record.eventTime == UTCTime.parseISO8601(TelemetryFixtures.time))
        }
    }

    @Test func aRedeliveredBatchMapsToTheSameIdsAndIsStoredOnce() throws {
        let body = TelemetryFixtures.logLines(50, marker: "again")
        #expect(ingestor.ingest(body) == .accepted)
        #expect(ingestor.ingest(body) == .accepted)
        #expect(spool.waitingCount == 50)
        #expect(try spool.statistics().counters.duplicate == 50)
        #expect(ingestor.tallies.duplicates == 50)
    }

    /// The spool keeps no index of event ids: a re-delivery is known by its digest, which the
    /// spool keeps with the invocation state. So a batch sent again after its records shipped, or
    /// to the next process on the spool, is not stored (or shipped) again either.
    @Test func aBatchRedeliveredAfterItShippedOrToTheNextProcessIsNotStoredAgain() throws {
        let body = TelemetryFixtures.logLines(30, marker: "later")
        #expect(ingestor.ingest(body) == .accepted)
        let leased = try spool.lease(maxCount: 100, maxBytes: 1 << 20)
        #expect(leased.count == 30)
        try spool.settle(leased.map { ($0.seq, .shipped) })
        #expect(ingestor.ingest(body) == .accepted)
        #expect(spool.waitingCount == 0)

        let reopened = try openSpool(folder)
        let next = Ingestor(
            spool: reopened, document: TelemetryDocument(function: function),
            environmentID: try spool.environmentID(),
            indices: .init(platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test"))
        #expect(next.ingest(body) == .accepted)
        #expect(try reopened.statistics().rows == 0)
        let counters = try reopened.statistics().counters
        #expect(counters.received == 90 && counters.stored == 30 && counters.duplicate == 60)
        // A new batch is stored.
        #expect(next.ingest(TelemetryFixtures.logLines(5, marker: "new")) == .accepted)
        #expect(try reopened.statistics().rows == 5)
    }

    @Test func identicalLinesInOneDeliveryAreDistinctEvents() throws {
        let line = #"{"time":"2026-11-25T12:00:00.123Z","type":"function","record":"same line"}"#
        let records = ingestor.records(
            try TelemetryDelivery(validating: TelemetryFixtures.delivery([line, line, line])))
        #expect(Set(records.map(\.id)).count == 3)
        #expect(ingestor.ingest(TelemetryFixtures.delivery([line, line, line])) == .accepted)
        #expect(spool.waitingCount == 3)
    }

    @Test func twoEnvironmentsNeverShareAnId() throws {
        let other = try openSpool(folder, name: "other.sqlite")
        #expect(try other.environmentID() != spool.environmentID())
        let second = Ingestor(
            spool: other, document: TelemetryDocument(function: function), environmentID: try other.environmentID(),
            indices: .init(platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test"))
        let delivery = try TelemetryDelivery(validating: TelemetryFixtures.logLines(20, marker: "both"))
        let first = Set(ingestor.records(delivery).map(\.id))
        #expect(first.isDisjoint(with: second.records(delivery).map(\.id)))
        #expect(
            try openSpool(folder, name: "other.sqlite").environmentID() == other.environmentID(), "kept in the file")
    }

    @Test func theSameEventsBatchedDifferentlyAreStoredAgainRatherThanLost() throws {
        let lines = (0..<4).map { #"{"time":"2026-11-25T12:00:00.123Z","type":"function","record":"line \#($0)"}"# }
        #expect(ingestor.ingest(TelemetryFixtures.delivery(lines)) == .accepted)
        #expect(ingestor.ingest(TelemetryFixtures.delivery(Array(lines[2...]))) == .accepted)
        #expect(spool.waitingCount == 6, "a duplicate in OpenSearch at worst, never a loss")
    }

    @Test func idsBeginWithTheEventTimeSoTheySortByIt() throws {
        let times = [
            "2026-11-25T12:00:00.001Z", "2026-11-25T12:00:00.010Z", "2026-11-25T13:00:00Z", "2027-01-01T00:00:00Z",
        ]
        let lines = times.map { #"{"time":"\#($0)","type":"function","record":"x"}"# }
        let ids = ingestor.records(try TelemetryDelivery(validating: TelemetryFixtures.delivery(lines))).map(\.id)
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.utf8.count <= 64 })
    }

    @Test func idsHaveTheirFixedShape() {
        let ids = DocumentID(environment: "e1f2")
        let cases: [(time: Int64, position: Int, id: String)] = [
            (0, 0, "00000000000-e1f2-00aa11bb22cc33dd-0000"),
            (1_764_072_000_001, 10, "19abae28a01-e1f2-00aa11bb22cc33dd-000a"),
            (-5, 0xFFFF, "00000000000-e1f2-00aa11bb22cc33dd-ffff"),
            (0xF_FFFF_FFFF_FFFF, 0x1_0000, "fffffffffffff-e1f2-00aa11bb22cc33dd-10000"),
        ]
        for (time, position, id) in cases {
            #expect(ids.make(eventTime: time, digest: "00aa11bb22cc33dd", position: position) == id)
        }
        let delivery = ids.delivery(digest: "00aa11bb22cc33dd")
        #expect(delivery.id(eventTime: 1_764_072_000_001, position: 10) == "19abae28a01-e1f2-00aa11bb22cc33dd-000a")
    }

    @Test func aMalformedDeliveryIsRefusedCountedAndStoresNothing() throws {
        #expect(ingestor.ingest(TelemetryFixtures.logLines(3, marker: "ok")) == .accepted)
        for body in ["{", "[1,2]", #"[{"time":"2026-11-25T12:00:00Z","type":"function"}]"#] {
            let answer = ingestor.ingest(Array(body.utf8))
            #expect(answer.status == 400)
            #expect(!answer.reason.isEmpty)
        }
        #expect(spool.waitingCount == 3)
        #expect(try spool.statistics().counters.malformed == 3)
        #expect(ingestor.tallies.malformed == 3)
    }

    @Test func aSpoolThatCannotWriteAnswers503AndKeepsWhatItHad() throws {
        let full = try openSpool(folder, maxFileBytes: 1 << 20, name: "full.sqlite")
        let small = Ingestor(
            spool: full, document: TelemetryDocument(function: function), environmentID: try full.environmentID(),
            indices: .init(platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e")),
            logger: Logger(label: "test"))
        var accepted = 0
        var answer = DeliveryAnswer.accepted
        for round in 0..<200 where answer == .accepted {
            answer = small.ingest(
                TelemetryFixtures.logLines(100, marker: "fill-\(round)-" + String(repeating: "z", count: 200)))
            if answer == .accepted { accepted += 100 }
        }
        #expect(answer.status == 503)
        #expect(answer.reason.contains("spool"))
        #expect(full.waitingCount == accepted)
        #expect(try full.check().problems.isEmpty)
    }

    @Test func ingestingLogsNothingPerDeliverySoItsOwnLinesCannotFeedIt() throws {
        // The extension's own log lines come back as `extension` events: a line per delivery would
        // make every delivery cause another one.
        for round in 0..<100 {
            let line = #"{"time":"2026-11-25T12:00:00.123Z","type":"extension","record":"sluice: line \#(round)"}"#
            #expect(ingestor.ingest(TelemetryFixtures.delivery([line])) == .accepted)
        }
        #expect(logs.entries.isEmpty)
        for _ in 0..<100 { _ = ingestor.ingest(Array("nope".utf8)) }
        #expect(logs.entries.count == 1, "refusals are logged once a minute, not once each")
    }

    /// The document as a dictionary; a message that holds a JSON object (written from a JSON-format
    /// log line whose message is an object) is compared parsed, since key order may differ.
    private func parsed(_ document: [UInt8]) throws -> NSDictionary {
        let object = try #require(JSONSerialization.jsonObject(with: Data(document)) as? [String: Any])
        var normalized = object
        if let message = object["message"] as? String, message.hasPrefix("{") {
            normalized["message"] = try JSONSerialization.jsonObject(with: Data(message.utf8))
        }
        return normalized as NSDictionary
    }
}
