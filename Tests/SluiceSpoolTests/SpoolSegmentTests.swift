import SluiceTestSupport
import Testing

@testable import SluiceSpool

/// Documents live in segment tables that are emptied whole once every record of theirs is settled
/// (migration 0008): what that must keep true.
@Suite struct SpoolSegmentTests {
    /// Documents held by each segment table, and the segments as stored.
    private func layout(_ path: String) throws -> (documents: [Int], segments: [Int64]) {
        let connection = try SQLiteConnection(path: path, mode: .readOnly)
        let documents = try (0..<Spool.documentSlots).map {
            Int(try connection.scalar("SELECT coalesce(sum(count), 0) FROM documents_\($0)") ?? -1)
        }
        let segments = try Spool.loadSegments(connection).map(\.first)
        return (documents, segments)
    }

    /// Appends `records` as deliveries of `size`, the way the listener does.
    private func appendInDeliveries(_ spool: Spool, _ records: [SpoolRecord], size: Int = 100) throws -> Int {
        var evicted = 0
        for start in stride(from: 0, to: records.count, by: size) {
            evicted += try spool.append(Array(records[start..<min(records.count, start + size)])).evicted
        }
        return evicted
    }

    private func shipAll(_ spool: Spool) throws -> [StoredRecord] {
        var shipped: [StoredRecord] = []
        while true {
            let batch = try spool.lease(maxCount: 700, maxBytes: 1 << 30)
            if batch.isEmpty { return shipped }
            try spool.settle(batch.map { ($0.seq, .shipped) })
            shipped += batch
        }
    }

    @Test func shippedSegmentsAreEmptiedWholeAndTheFileStopsGrowing() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let spool = try openSpool(folder)
        var sizes: [Int] = []
        var wal: [Int] = []
        for round in 0..<6 {
            let records = makeRecords(3_000, prefix: "r\(round)", bytes: 1_000)
            _ = try appendInDeliveries(spool, records)
            let before = try layout(path)
            #expect(before.segments.count == 3, "3,000 seqs in deliveries of 100 take three segments")
            #expect(before.documents.reduce(0, +) == 3_000)
            let shipped = try shipAll(spool)
            #expect(shipped.map(\.document) == records.map(\.document), "every document, whole and in order")
            let after = try layout(path)
            #expect(after.documents.allSatisfy { $0 == 0 }, "every table emptied: \(after.documents)")
            #expect(after.segments.count == 1, "the newest starts again from the next seq")
            #expect(try spool.statistics().rows == 0)
            sizes.append(FileSystem.size(path)!)
            wal.append(FileSystem.size(path + "-wal") ?? 0)
        }
        // The emptied tables' pages are reused: after the first rounds the file holds its size. The
        // WAL is reused from its start at each checkpoint (every 4 MiB): it ends a transaction past.
        #expect(sizes[5] <= sizes[2], "file sizes by round: \(sizes)")
        #expect(wal.allSatisfy { $0 <= 5 << 20 }, "WAL sizes by round: \(wal)")
        #expect(try spool.check().problems.isEmpty)
    }

    @Test func aRecordWaitingForARetryKeepsOnlyItsOwnSegment() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let clock = ManualClock()
        let spool = try openSpool(folder, clock: clock)
        let records = makeRecords(3_000, prefix: "r", bytes: 300)
        _ = try appendInDeliveries(spool, records)
        let firstSegment = try layout(path).documents.first { $0 > 0 }
        let leased = try spool.lease(maxCount: 3_000, maxBytes: 1 << 30)
        #expect(leased.count == 3_000)
        // One record of the first segment fails, one of the second goes to the dead letters.
        try spool.settle(
            leased.map { record in
                switch record.seq {
                case leased[10].seq: (record.seq, .retry(at: clock.now + 1_000, error: "429"))
                case leased[1_500].seq:
                    (record.seq, .deadLetter(reason: "mapping", errorType: "mapper_parsing_exception"))
                default: (record.seq, .shipped)
                }
            })
        let after = try layout(path)
        #expect(
            after.documents.filter { $0 > 0 } == [firstSegment], "only the retried record's segment keeps documents")
        #expect(after.segments.count == 2, "its segment and the newest")

        // The dead letter kept its document; the retried record is leased whole when due.
        #expect(try spool.deadLetters().map(\.document) == [records[1_500].document])
        clock.advance(by: 1_000)
        let retried = try spool.lease(maxCount: 10, maxBytes: 1 << 30)
        #expect(retried.map(\.document) == [records[10].document])
        #expect(retried.first?.attempts == 1)
        try spool.settle(retried.map { ($0.seq, .shipped) })
        #expect(try layout(path).documents.allSatisfy { $0 == 0 })

        // Requeued, the dead letter's document goes into the newest segment and ships whole.
        #expect(try spool.requeueDeadLetters() == 1)
        #expect(try shipAll(spool).map(\.document) == [records[1_500].document])
        #expect(try layout(path).documents.allSatisfy { $0 == 0 })
        #expect(try spool.check().problems.isEmpty)
    }

    @Test func aBacklogPastEverySegmentGrowsTheNewestAndShipsInOrder() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let spool = try openSpool(folder)
        let count = Int(Spool.segmentSeqs) * (Spool.documentSlots + 2)
        let records = makeRecords(count, prefix: "p", bytes: 120)
        _ = try appendInDeliveries(spool, records)
        let full = try layout(path)
        #expect(full.segments.count == Spool.documentSlots, "every table in use")
        #expect(full.documents.reduce(0, +) == count)
        #expect(try shipAll(spool).map(\.document) == records.map(\.document))
        #expect(try layout(path).documents.allSatisfy { $0 == 0 })
    }

    @Test func droppedRecordsFreeTheirSegmentsAndAReplacementShipsItsNewDocument() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let spool = try openSpool(folder, capBytes: 1_000 * 1_000)
        // Past the cap the oldest go, the whole first segment (seqs 1 to 1,100) among them.
        let evicted = try appendInDeliveries(
            spool, makeRecords(1_200, prefix: "a", bytes: 1_000) + makeRecords(1_000, prefix: "b", bytes: 1_000))
        #expect(evicted == 1_200)
        let after = try layout(path)
        #expect(after.documents.reduce(0, +) == 1_100, "the first segment emptied, the second's dropped ones left")
        #expect(after.segments.count == 1)

        let waiting = try spool.peek(limit: 2_000)
        #expect(waiting.count == 1_000)
        let replacement = SpoolRecord(
            id: waiting[0].id, index: waiting[0].index, eventTime: waiting[0].eventTime,
            document: Array(#"{"replaced":true}"#.utf8), replaces: true)
        try spool.append([replacement])
        #expect(try spool.peek(limit: 1).first?.document == waiting[1].document)
        #expect(try spool.peek(limit: 2_000).last?.document == replacement.document)
        #expect(try spool.check().problems.isEmpty)
        #expect(try shipAll(spool).count == 1_000)
        #expect(try layout(path).documents.allSatisfy { $0 == 0 })
    }

    @Test func checkNamesARecordWithoutItsDocument() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let spool = try openSpool(folder)
        try spool.append(makeRecords(3))
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        // The run's bytes cut inside its last document (with no checksum, as a run of migration
        // 0009 has none): that record's is gone, the others read.
        try connection.execute("UPDATE documents_0 SET body = substr(body, 1, length(body) - 10), crc = NULL")
        #expect(
            try spool.check().problems == ["1 record has no document in the segment tables: the shipper cannot send it"]
        )
        #expect(try spool.peek(limit: 5).map(\.seq) == [1, 2])
        // And with the run gone, all three.
        try connection.execute("DELETE FROM documents_0")
        #expect(
            try spool.check().problems == [
                "3 records have no document in the segment tables: the shipper cannot send them"
            ])
    }

    @Test func aSpoolOfSchemaSevenKeepsItsRecordsAndSalvagesAsOne() throws {
        let folder = try TemporaryFolder()
        let old = folder.file("old.sqlite")
        let text = Array(#"{"type":"function","message":"hi","record":"hi"}"#.utf8)
        let stored = Array(#"{"type":"function","message":"hi"}"#.utf8)
        do {
            let connection = try SQLiteConnection(path: old, mode: .readWriteCreate)
            try Migrator(migrations: Array(Migration.embedded.prefix(7))).migrate(connection, now: 1)
            for seq in 1...3 {
                try connection.execute(
                    """
                    INSERT INTO records (seq, doc_id, index_name, event_time, received_at, due_at, bytes, document,
                        echo_key, echo_at, replaces)
                    VALUES (\(seq), 'old-\(seq)', 'logs', \(seq), 1, 1, \(stored.count),
                        '\(String(decoding: stored, as: UTF8.self))', 'record', \(stored.count - 5), 0)
                    """)
            }
            try connection.execute("UPDATE counters SET value = 3 WHERE name = 'last_seq'")
            try connection.execute("UPDATE totals SET rows = 3, bytes = \(3 * stored.count)")
        }
        // A salvage reads the old layout.
        let fresh = try openSpool(folder)
        let salvage = fresh.salvage(from: old)
        #expect(salvage.recovered == 3 && !salvage.unreadable)
        #expect(try fresh.peek(limit: 5).map(\.document) == [text, text, text])

        // Opened, it is migrated: the documents move into the first segment, whole when leased.
        let spool = try Spool.open(SpoolConfiguration(path: old))
        #expect(try layout(old).documents[0] == 3)
        #expect(try shipAll(spool).map(\.document) == [text, text, text])
        #expect(try layout(old).documents.allSatisfy { $0 == 0 })
        #expect(try spool.check().problems.isEmpty)
    }

    /// Schema 8 kept a row per document in the segment tables: a salvage reads that layout, and
    /// migration 0009 makes each of its documents a run of one (an echo kept, or none).
    @Test func aSpoolOfSchemaEightKeepsItsRecordsAndSalvagesAsOne() throws {
        let folder = try TemporaryFolder()
        let old = folder.file("old.sqlite")
        let text = Array(#"{"type":"function","message":"hé","record":"hé"}"#.utf8)
        let stored = Array(#"{"type":"function","message":"hé"}"#.utf8)
        do {
            let connection = try SQLiteConnection(path: old, mode: .readWriteCreate)
            try Migrator(migrations: Array(Migration.embedded.prefix(8))).migrate(connection, now: 1)
            for seq in 1...3 {
                // The third is stored whole, without an echo.
                let document = seq == 3 ? text : stored
                let echo = seq == 3 ? "NULL, NULL" : "'record', \(stored.count - 6)"
                try connection.execute(
                    """
                    INSERT INTO records (seq, doc_id, index_name, event_time, received_at, due_at, bytes, replaces)
                    VALUES (\(seq), 'old-\(seq)', 'logs', \(seq), 1, 1, \(document.count), 0);
                    INSERT INTO documents_0 (seq, document, echo_key, echo_at)
                    VALUES (\(seq), '\(String(decoding: document, as: UTF8.self))', \(echo));
                    """)
            }
            try connection.execute("UPDATE counters SET value = 3 WHERE name = 'last_seq'")
            try connection.execute("UPDATE totals SET rows = 3, bytes = \(2 * stored.count + text.count)")
        }
        let fresh = try openSpool(folder)
        let salvage = fresh.salvage(from: old)
        #expect(salvage.recovered == 3 && !salvage.unreadable, "\(salvage)")
        #expect(try fresh.peek(limit: 5).map(\.document) == [text, text, text])

        let spool = try Spool.open(SpoolConfiguration(path: old))
        let connection = try SQLiteConnection(path: old, mode: .readOnly)
        #expect(try connection.scalar("SELECT count(*) FROM documents_0 WHERE count = 1") == 3, "a run of one each")
        #expect(try spool.check().problems.isEmpty)
        #expect(try spool.peek(limit: 5).map(\.document) == [text, text, text])
        #expect(try shipAll(spool).map(\.document) == [text, text, text])
        #expect(try layout(old).documents.allSatisfy { $0 == 0 })
    }

    /// A run's bytes read back as written: documents of every length class, with and without an
    /// echo; damaged bytes end the entries that read, and nothing past them is made up.
    @Test func aRunReadsBackWhatWasWrittenAndStopsAtDamage() throws {
        let documents: [(document: [UInt8], echo: SpoolRecord.Echo?)] = [
            (Array(#"{"a":1}"#.utf8), nil),
            (Array(#"{"message":"x y"}"#.utf8), SpoolRecord.Echo(key: "record", valueStart: 11)),
            (Array(repeating: UInt8(ascii: "7"), count: 12_345), nil),
            (Array(#"{"n":"\n"}"#.utf8), SpoolRecord.Echo(key: "fields", valueStart: 5)),
        ]
        var writer = DocumentRun.Writer(capacity: 0)
        for (document, echo) in documents { writer.append(document, echo: echo) }
        let run = DocumentRun(first: 10, count: writer.count, body: writer.bytes)
        #expect(run.entries.count == 4)
        for (offset, (document, echo)) in documents.enumerated() {
            let entry = try #require(run.entry(seq: 10 + Int64(offset)))
            #expect(Array(run.body[entry.document]) == document)
            #expect(run.echo(entry) == echo)
        }
        #expect(run.entry(seq: 9) == nil && run.entry(seq: 14) == nil)
        // Cut anywhere: the entries before the cut read, none after it.
        for cut in stride(from: 0, to: writer.bytes.count, by: 97) {
            let damaged = DocumentRun(first: 10, count: 4, body: Array(writer.bytes.prefix(cut)))
            let whole = damaged.entries.count
            #expect(whole < 4)
            for offset in 0..<whole {
                #expect(Array(damaged.body[damaged.entries[offset].document]) == documents[offset].document)
            }
        }
        // A count larger than the entries, or garbage, reads what is there and no more.
        #expect(DocumentRun(first: 1, count: 1_000_000, body: writer.bytes).entries.count == 4)
        #expect(DocumentRun(first: 1, count: 3, body: Array("99999999 0 \n{}".utf8)).entries.isEmpty)
        #expect(DocumentRun(first: 1, count: -5, body: writer.bytes).entries.isEmpty)
    }

    /// SQLite checks its pages' structure, not their bytes, and a run's bytes are mostly in overflow
    /// pages: each run keeps its CRC-32, and a run whose bytes changed is damage, as SQLite's own
    /// is. Nothing of it is shipped or salvaged as documents.
    @Test func aRunWhoseBytesAreNotThoseWrittenIsDamageNotDocuments() throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let spool = try openSpool(folder)
            try spool.append(makeRecords(3))
            #expect(spool.verify() == .sound)
        }
        let connection = try SQLiteConnection(path: path, mode: .readWrite)
        // One byte of a document changed, its run's checksum not.
        try connection.execute(
            "UPDATE documents_0 SET body = CAST(replace(CAST(body AS TEXT), '\"time\"', '\"tima\"') AS BLOB)")
        let spool = try openSpool(folder)
        #expect(throws: SpoolError.self) { try spool.lease(maxCount: 10, maxBytes: 1 << 20) }
        do {
            _ = try spool.lease(maxCount: 10, maxBytes: 1 << 20)
        } catch let error as SpoolError {
            #expect(error.code == .corrupt && error.message.contains("seqs 1 to 3"), "\(error)")
        }
        #expect(
            try spool.check().problems == [
                "1 run of documents in the segment tables is not the bytes written (their checksum differs)",
                "3 records have no document in the segment tables: the shipper cannot send them",
            ])
        guard case .damaged(let reason) = spool.verify() else {
            Issue.record("verify found the damage")
            return
        }
        #expect(reason.contains("1 run of documents is not the bytes written"))
        let other = try TemporaryFolder()
        let fresh = try openSpool(other)
        let salvage = fresh.salvage(from: path)
        #expect(salvage.recovered == 0 && salvage.damaged == 3 && salvage.unreadable, "\(salvage)")
    }
}
