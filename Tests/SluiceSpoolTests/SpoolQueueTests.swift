import SluiceTestSupport
import Testing

@testable import SluiceSpool

@Suite struct SpoolQueueTests {
    /// A keyed id (a summary's, a health document's) is stored once while a record of it waits.
    @Test func aKeyedIdIsStoredOnceWhileItWaits() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder)
        let batch = makeRecords(50, keyed: true)
        let first = try spool.append(batch)
        let again = try spool.append(batch)
        #expect(first.stored == 50 && first.duplicates == 0)
        #expect(again.stored == 0 && again.duplicates == 50)
        let overlapping = try spool.append(Array(batch.suffix(10)) + makeRecords(5, prefix: "b1", keyed: true))
        #expect(overlapping.stored == 5 && overlapping.duplicates == 10)

        let stats = try spool.statistics()
        #expect(stats.rows == 55)
        #expect(stats.counters.received == 115)
        #expect(stats.counters.stored == 55)
        #expect(stats.counters.duplicate == 60)

        // Once shipped, the id may be stored again (OpenSearch refuses a second `create` of it).
        let leased = try spool.lease(maxCount: 100, maxBytes: 1 << 20)
        try spool.settle(leased.map { ($0.seq, .shipped) })
        #expect(try spool.append(Array(batch.prefix(3))).stored == 3)
    }

    /// Records that are not keyed (telemetry events, whose re-delivered batch ingest knows by its
    /// digest) are stored as given, with no index of their ids to keep.
    @Test func recordsThatAreNotKeyedAreStoredAsGiven() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder)
        let batch = makeRecords(20)
        #expect(try spool.append(batch).stored == 20)
        #expect(try spool.append(batch).stored == 20)
        #expect(try spool.statistics().rows == 40)
        #expect(try spool.peek(limit: 100).map(\.id) == (batch + batch).map(\.id))
        // The duplicates a caller knows of are counted, not stored.
        let counted = try spool.append(
            makeRecords(2, prefix: "c"), invocations: InvocationChanges(), duplicates: 5)
        #expect(counted.stored == 2 && counted.duplicates == 5 && counted.received == 7)
        let counters = try spool.statistics().counters
        #expect(counters.received == 47 && counters.stored == 42 && counters.duplicate == 5)
    }

    @Test func aRepeatedMemberIsStoredOnceAndEveryReaderGetsTheWholeDocument() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        // A text line (record repeats message) and a JSON line (fields repeats record).
        let text = Array(#"{"type":"function","message":"hello \"there\""}"#.utf8)
        let json = Array(#"{"type":"function","record":{"a":[1,2]}}"#.utf8)
        let textEcho = SpoolRecord.Echo(key: "record", valueStart: text.count - 18)
        let jsonEcho = SpoolRecord.Echo(key: "fields", valueStart: json.count - 12)
        let records = [
            SpoolRecord(id: "1-text", index: "logs", eventTime: 1, document: text, echo: textEcho),
            SpoolRecord(id: "2-json", index: "logs", eventTime: 2, document: json, echo: jsonEcho),
            SpoolRecord(id: "3-plain", index: "logs", eventTime: 3, document: Array(#"{"n":3}"#.utf8)),
        ]
        let whole = [
            #"{"type":"function","message":"hello \"there\"","record":"hello \"there\""}"#,
            #"{"type":"function","record":{"a":[1,2]},"fields":{"a":[1,2]}}"#, #"{"n":3}"#,
        ]
        #expect(records.map { String(decoding: $0.wholeDocument, as: UTF8.self) } == whole)
        try spool.append(records)
        // The spool counts what it stores: the repeated values once.
        #expect(try spool.statistics().bytes == records.map(\.document.count).reduce(0, +))

        func texts(_ documents: [[UInt8]]) -> [String] { documents.map { String(decoding: $0, as: UTF8.self) } }
        #expect(texts(try spool.peek(limit: 10).map(\.document)) == whole)
        var exported: [[UInt8]] = []
        try spool.forEachRecord { record in
            exported.append(record.document)
            return true
        }
        #expect(texts(exported) == whole)
        let leased = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        #expect(texts(leased.map(\.document)) == whole)

        // Dead letters keep the stored form and give the whole one; requeued, they are whole again.
        try spool.settle([
            (leased[0].seq, .deadLetter(reason: "refused", errorType: "mapper_parsing_exception")),
            (leased[1].seq, .deadLetter(reason: "refused", errorType: "mapper_parsing_exception")),
            (leased[2].seq, .shipped),
        ])
        let stats = try spool.statistics()
        #expect(stats.rows == 0 && stats.bytes == 0, "settling takes away the stored bytes, not the whole ones")
        #expect(stats.deadLetterBytes == text.count + json.count)
        #expect(texts(try spool.deadLetters().map(\.document)) == Array(whole.prefix(2)))
        #expect(try spool.requeueDeadLetters() == 2)
        #expect(texts(try spool.lease(maxCount: 10, maxBytes: 1 << 20).map(\.document)) == Array(whole.prefix(2)))
        #expect(try spool.statistics().bytes == text.count + json.count)
    }

    @Test func anEchoThatDoesNotFitItsDocumentGivesTheStoredBytes() {
        let document = Array(#"{"a":"b"}"#.utf8)
        for start in [-1, 0, document.count - 1, document.count, 1_000] {
            let echo = SpoolRecord.Echo(key: "c", valueStart: start)
            #expect(SpoolRecord.Echo.whole(document, echo) == document, "\(start)")
        }
        #expect(
            SpoolRecord.Echo.whole(Array("not json".utf8), .init(key: "c", valueStart: 2)) == Array("not json".utf8))
        #expect(
            String(decoding: SpoolRecord.Echo.whole(document, .init(key: "c", valueStart: 5)), as: UTF8.self)
                == #"{"a":"b","c":"b"}"#)
    }

    @Test func leaseSettleRetryAndDeadLetterCycle() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        try spool.append(makeRecords(6))

        let leased = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        #expect(leased.map(\.id) == makeRecords(6).map(\.id), "oldest first")
        #expect(try spool.lease(maxCount: 10, maxBytes: 1 << 20).isEmpty, "leased records are not handed out twice")

        let result = try spool.settle([
            (leased[0].seq, .shipped),
            (leased[1].seq, .shipped),
            (leased[2].seq, .retry(at: clock.now + 5_000, error: "HTTP 503")),
            (
                leased[3].seq,
                .deadLetter(reason: "failed to parse field [record]", errorType: "mapper_parsing_exception")
            ),
        ])
        #expect(result == SettleResult(shipped: 2, retried: 1, deadLettered: 1, missing: 0))
        #expect(
            try spool.lease(maxCount: 10, maxBytes: 1 << 20).isEmpty, "the retry is not due yet; two are still leased")

        clock.advance(by: 5_000)
        let retried = try #require(try spool.lease(maxCount: 10, maxBytes: 1 << 20).first)
        #expect(retried.id == leased[2].id)
        #expect(retried.attempts == 1)
        #expect(retried.lastError == "HTTP 503")
        try spool.settle([(retried.seq, .shipped)])

        let dead = try spool.deadLetters()
        #expect(dead.count == 1)
        #expect(dead[0].documentID == leased[3].id)
        #expect(dead[0].reason == "failed to parse field [record]")
        #expect(dead[0].errorType == "mapper_parsing_exception")
        #expect(dead[0].attempts == 1)
        #expect(dead[0].document == leased[3].document)

        let stats = try spool.statistics()
        #expect(stats.rows == 2)
        #expect(stats.leased == 2)
        #expect(stats.deadLetters == 1)
        #expect(stats.counters.shipped == 3)
        #expect(stats.counters.retried == 1)
        #expect(stats.counters.deadLettered == 1)

        #expect(try spool.requeueDeadLetters(id: dead[0].id) == 1)
        #expect(try spool.deadLetters().isEmpty)
        let requeued = try #require(try spool.lease(maxCount: 10, maxBytes: 1 << 20).first)
        #expect(requeued.id == leased[3].id)
        #expect(requeued.attempts == 0)
    }

    @Test func leaseRespectsCountAndByteBudgetsButAlwaysHandsOutOne() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder)
        try spool.append(makeRecords(10, bytes: 1_000))
        #expect(try spool.lease(maxCount: 3, maxBytes: 1 << 20).count == 3)
        #expect(try spool.lease(maxCount: 10, maxBytes: 2_500).count == 2)
        #expect(try spool.lease(maxCount: 10, maxBytes: 10).count == 1, "a record larger than the budget still ships")
    }

    @Test func expiredLeaseIsHandedOutAgain() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        try spool.append(makeRecords(3))
        let first = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        #expect(first.count == 3)
        clock.advance(by: 29_999)
        #expect(try spool.lease(maxCount: 10, maxBytes: 1 << 20).isEmpty)
        clock.advance(by: 1)
        let again = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        #expect(again.map(\.seq) == first.map(\.seq))
    }

    @Test func recordsAppendedAfterEverythingShippedAreLeased() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder)
        try spool.append(makeRecords(3, prefix: "first"))
        let first = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        try spool.settle(first.map { ($0.seq, .shipped) })
        // The table is empty now; a new record must not reuse a seq the lease cursor has passed.
        try spool.append(makeRecords(2, prefix: "second"))
        let second = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        #expect(second.map(\.id) == makeRecords(2, prefix: "second").map(\.id))
        #expect(second.allSatisfy { $0.seq > first.map(\.seq).max()! })
    }

    @Test func dueRetriesGoBeforeFreshRecords() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        try spool.append(makeRecords(2, prefix: "old"))
        let old = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        try spool.settle(old.map { ($0.seq, .retry(at: clock.now + 1_000, error: "HTTP 429")) })
        try spool.append(makeRecords(2, prefix: "new"))
        #expect(try spool.lease(maxCount: 1, maxBytes: 1 << 20).map(\.id) == ["new-0"], "retries not due yet")
        clock.advance(by: 1_000)
        #expect(try spool.lease(maxCount: 10, maxBytes: 1 << 20).map(\.id) == ["old-0", "old-1", "new-1"])
    }

    @Test func deadLettersRequeuedByAnotherProcessAreLeasedByTheOwner() throws {
        let folder = try TemporaryFolder()
        let owner = try openSpool(folder)
        try owner.append(makeRecords(4))
        let leased = try owner.lease(maxCount: 10, maxBytes: 1 << 20)
        try owner.settle(leased.map { ($0.seq, .deadLetter(reason: "mapping", errorType: nil)) })
        #expect(try owner.lease(maxCount: 10, maxBytes: 1 << 20).isEmpty)

        let cli = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .maintenance)
        #expect(try cli.requeueDeadLetters() == 4)
        #expect(try owner.lease(maxCount: 10, maxBytes: 1 << 20).map(\.id) == leased.map(\.id))
        try owner.append(makeRecords(1, prefix: "after"))
        #expect(try owner.statistics().rows == 5)
        #expect(try owner.statistics().deadLetters == 0)
    }

    @Test func ownerKeepsItsCapAccountingAfterAnotherProcessPurges() throws {
        let folder = try TemporaryFolder()
        let owner = try openSpool(folder, capBytes: 5_000)
        try owner.append(makeRecords(4, prefix: "a", bytes: 1_000))
        let leased = try owner.lease(maxCount: 4, maxBytes: 1 << 20)
        try owner.settle(leased.map { ($0.seq, .deadLetter(reason: "mapping", errorType: nil)) })
        let cli = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .maintenance)
        #expect(try cli.purgeDeadLetters() == 4)
        // With the purge seen, 4 kB of new records fit under the 5 kB cap: nothing is evicted.
        #expect(try owner.append(makeRecords(4, prefix: "b", bytes: 1_000)).evicted == 0)
    }

    @Test func releasedRecordsAreDueAgainWithoutAnAttempt() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder)
        try spool.append(makeRecords(3))
        let leased = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        spool.release([leased[1].seq])
        let again = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        #expect(again.map(\.id) == [leased[1].id])
        #expect(again[0].attempts == 0)
    }

    @Test func reopeningTakesBackLeasesOfADeadProcess() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        do {
            let spool = try openSpool(folder, clock: clock)
            try spool.append(makeRecords(4))
            #expect(try spool.lease(maxCount: 10, maxBytes: 1 << 20).count == 4)
        }
        let reopened = try openSpool(folder, clock: clock)
        #expect(try reopened.lease(maxCount: 10, maxBytes: 1 << 20).count == 4)
    }

    @Test func dropOldestCapMakesRoomAndCountsEveryDrop() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock, capBytes: 10_000, policy: .dropOldest)
        try spool.append(makeRecords(8, prefix: "old", bytes: 1_000))
        let leased = try spool.lease(maxCount: 1, maxBytes: 1 << 20)
        try spool.settle([(leased[0].seq, .deadLetter(reason: "rejected", errorType: nil))])
        let result = try spool.append(makeRecords(5, prefix: "new", bytes: 1_000))
        // 8 kB + 5 kB = 13 kB: the dead letter goes first, then the two oldest records.
        #expect(result.stored == 5)
        #expect(result.evicted == 3)
        let stats = try spool.statistics()
        #expect(stats.bytes + stats.deadLetterBytes <= 10_000)
        #expect(stats.deadLetters == 0)
        #expect(stats.counters.dropped == 3)
        let remaining = try spool.peek(limit: 100).map(\.id)
        #expect(
            remaining == makeRecords(8, prefix: "old").map(\.id).suffix(5) + makeRecords(5, prefix: "new").map(\.id))
    }

    @Test func rejectNewCapKeepsWhatIsStored() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder, capBytes: 10_000, policy: .rejectNew)
        try spool.append(makeRecords(8, prefix: "old", bytes: 1_000))
        let result = try spool.append(makeRecords(5, prefix: "new", bytes: 1_000))
        #expect(result.stored == 2)
        #expect(result.rejected == 3)
        let ids = try spool.peek(limit: 100).map(\.id)
        #expect(ids == makeRecords(8, prefix: "old").map(\.id) + makeRecords(2, prefix: "new").map(\.id))
        #expect(try spool.statistics().counters.dropped == 3)
    }

    @Test func countersSurviveARestart() throws {
        let folder = try TemporaryFolder()
        do {
            let spool = try openSpool(folder)
            try spool.append(makeRecords(7, keyed: true))
            try spool.append(makeRecords(7, keyed: true))
            let leased = try spool.lease(maxCount: 2, maxBytes: 1 << 20)
            try spool.settle(leased.map { ($0.seq, .shipped) })
            #expect(try spool.recordShutdown() == 5)
        }
        let stats = try openSpool(folder).statistics()
        #expect(stats.rows == 5)
        #expect(stats.counters.received == 14)
        #expect(stats.counters.duplicate == 7)
        #expect(stats.counters.shipped == 2)
        #expect(stats.counters.leftAtShutdown == 5)
    }

    @Test func failedRequestsAreCountedAndTheLastOneIsKeptAcrossARestart() throws {
        let folder = try TemporaryFolder()
        do {
            let spool = try openSpool(folder)
            #expect(try spool.statistics().lastFailedRequest == nil)
            try spool.recordFailedRequest(at: 1_000, reason: "transport: connection refused by 10.0.0.1:443")
            try spool.recordFailedRequest(
                at: 2_000, reason: "throttled: HTTP 429: " + String(repeating: "x", count: 900))
        }
        let stats = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .readOnly)
            .statistics()
        #expect(stats.counters.failedRequests == 2)
        #expect(stats.lastFailedRequest?.at == 2_000)
        #expect(stats.lastFailedRequest?.reason.hasPrefix("throttled: HTTP 429: xxx") == true)
        #expect(stats.lastFailedRequest?.reason.count == 500, "a long reason is cut")
    }

    @Test func statisticsReadTheStoredTotalsAndCountDueRecordsOnlyWhenAsked() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let owner = try openSpool(folder, clock: clock)
        try owner.append(makeRecords(6, bytes: 100))
        let leased = try owner.lease(maxCount: 2, maxBytes: 1 << 20)
        try owner.settle(leased.map { ($0.seq, .retry(at: clock.now + 60_000, error: "later")) })
        var stats = try owner.statistics()
        #expect(stats.rows == 6 && stats.bytes == 600)
        #expect(stats.dueNow == 4, "the two retries are due in a minute")
        stats = try owner.statistics(countingDue: false)
        #expect(stats.rows == 6 && stats.bytes == 600)
        #expect(stats.dueNow == nil)
        // Another process's change is in the stored totals the owner reads.
        try owner.settle(
            try owner.lease(maxCount: 1, maxBytes: 1 << 20).map { ($0.seq, .deadLetter(reason: "x", errorType: nil)) })
        let cli = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .maintenance)
        #expect(try cli.purgeDeadLetters() == 1)
        stats = try owner.statistics(countingDue: false)
        #expect(stats.rows == 5 && stats.deadLetters == 0 && stats.deadLetterBytes == 0)
    }

    @Test func settlingARecordDroppedWhileLeasedCountsItMissing() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder, capBytes: 3_000)
        try spool.append(makeRecords(3, prefix: "a", bytes: 1_000))
        let leased = try spool.lease(maxCount: 1, maxBytes: 1 << 20)
        try spool.append(makeRecords(3, prefix: "b", bytes: 1_000))
        let result = try spool.settle([(leased[0].seq, .shipped)])
        #expect(result.missing == 1 && result.shipped == 0)
        #expect(try spool.statistics().counters.shipped == 0)
    }

    @Test func readOnlySpoolRefusesWrites() throws {
        let folder = try TemporaryFolder()
        _ = try openSpool(folder)
        let readOnly = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .readOnly)
        #expect(throws: SpoolError.self) { try readOnly.append(makeRecords(1)) }
        do {
            try readOnly.append(makeRecords(1))
        } catch let error as SpoolError {
            #expect(error.code == .readOnly)
        }
    }

    /// The connection a read-only copy in a folder this user cannot write falls back to (SQLite's
    /// `immutable` URI parameter): the path goes into a `file:` URI, so `%`, `?`, `#` and spaces
    /// in it must be escaped, or SQLite would open another file.
    @Test func anImmutableOpenReadsTheFileAtAnyPath() throws {
        let folder = try TemporaryFolder()
        do {
            // Closed: its WAL goes into the file, which is all an immutable open reads.
            let spool = try openSpool(folder, name: "odd %41 ?x=1 #frag é.sqlite")
            try spool.append(makeRecords(3))
        }
        let connection = try SQLiteConnection(path: folder.file("odd %41 ?x=1 #frag é.sqlite"), mode: .immutable)
        #expect(try connection.scalar("SELECT count(*) FROM records") == 3)
        #expect(SQLiteConnection.uriEscaped("/a b/%?#é") == "/a%20b/%25%3F%23%C3%A9")
    }

    @Test func aRunOfShippedRecordsWithOneDroppedWhileLeasedSettlesTheRestAndKeepsTheTotals() throws {
        let folder = try TemporaryFolder()
        let spool = try openSpool(folder, capBytes: 4_000)
        try spool.append(makeRecords(4, prefix: "a", bytes: 1_000))
        let leased = try spool.lease(maxCount: 4, maxBytes: 1 << 20)
        #expect(leased.count == 4)
        // The cap drops the oldest record while it is leased: the run a0...a3 now has a hole.
        try spool.append(makeRecords(1, prefix: "b", bytes: 1_000))
        let result = try spool.settle(leased.map { ($0.seq, .shipped) } + [(leased[1].seq, .shipped)])
        #expect(result == SettleResult(shipped: 3, retried: 0, deadLettered: 0, missing: 2))
        #expect(try spool.statistics().counters.shipped == 3)
        #expect(spool.waitingCount == 1, "only b0 is left, and the totals say so")
        // The totals' bytes are right too: three more records fit under the cap with nothing dropped.
        try spool.append(makeRecords(3, prefix: "c", bytes: 1_000))
        let stats = try spool.statistics()
        #expect(stats.rows == 4 && stats.counters.dropped == 1)
        #expect(try openSpool(folder).waitingCount == 4, "the totals kept in the file agree")
    }

    @Test func shippedRecordsAroundARetryAndADeadLetterAreEachSettledOnce() throws {
        let folder = try TemporaryFolder()
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        try spool.append(makeRecords(8))
        let leased = try spool.lease(maxCount: 8, maxBytes: 1 << 20)
        let outcomes: [(seq: Int64, settlement: Settlement)] = leased.enumerated().map { position, record in
            switch position {
            case 2: (record.seq, .retry(at: clock.now + 1_000, error: "HTTP 503"))
            case 5: (record.seq, .deadLetter(reason: "failed to parse", errorType: "mapper_parsing_exception"))
            default: (record.seq, .shipped)
            }
        }
        // Out of order, as outcomes may come: runs are found by seq.
        let result = try spool.settle(outcomes.reversed())
        #expect(result == SettleResult(shipped: 6, retried: 1, deadLettered: 1, missing: 0))
        let stats = try spool.statistics()
        #expect(stats.rows == 1 && stats.deadLetters == 1)
        clock.advance(by: 1_000)
        #expect(try spool.lease(maxCount: 10, maxBytes: 1 << 20).map(\.seq) == [leased[2].seq])
    }

    @Test func missingSpoolIsNotFoundForInspection() throws {
        let folder = try TemporaryFolder()
        do {
            _ = try Spool.open(SpoolConfiguration(path: folder.file("absent.sqlite")), access: .readOnly)
            Issue.record("opened a spool that does not exist")
        } catch let error as SpoolError {
            #expect(error.code == .notFound)
            #expect(error.message.contains("absent.sqlite"))
        }
    }
}
