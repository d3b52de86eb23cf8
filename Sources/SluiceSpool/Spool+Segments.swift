extension Spool {
    /// One of the tables that hold documents (migration 0008), and the first seq it holds: it holds
    /// the documents of the seqs from there up to the next segment's first, the newest from there on.
    ///
    /// A record's row (in `records`) is deleted when it is settled; its document stays until every
    /// record of its segment is settled, and the segment's table is then emptied whole, which frees
    /// its pages without writing them (deleting the rows of a shipped batch wrote every page of it to
    /// the WAL again).
    struct Segment: Sendable, Equatable {
        let slot: Int
        var first: Int64
    }

    /// How many document tables there are (`documents_0` …).
    static let documentSlots = 8
    /// How many seqs a segment takes before appends go on in an empty table, when there is one
    /// (about 1 MB of documents of 1 KB): smaller than a shipped batch, so that a settle empties
    /// whole segments. With no table empty (a backlog of 8 segments) the newest grows.
    static let segmentSeqs: Int64 = 1_024

    static let insertDocumentSQL = (0..<documentSlots).map {
        "INSERT INTO documents_\($0) (seq, document, echo_key, echo_at) VALUES (?, ?, ?, ?)"
    }
    static let selectDocumentSQL = (0..<documentSlots).map {
        "SELECT document, echo_key, echo_at FROM documents_\($0) WHERE seq = ?"
    }
    static let clearSegmentSQL = (0..<documentSlots).map { "DELETE FROM documents_\($0)" }

    /// The segments as stored, oldest first.
    static func loadSegments(_ connection: SQLiteConnection) throws -> [Segment] {
        let select = try connection.statement("SELECT slot, first_seq FROM segments ORDER BY first_seq")
        defer { select.reset() }
        var segments: [Segment] = []
        while try select.step() { segments.append(Segment(slot: select.int(at: 0), first: select.int64(at: 1))) }
        return segments
    }

    /// The segment that holds `seq`'s document, as an index into `segments`.
    static func segmentIndex(of seq: Int64, in segments: [Segment]) -> Int? {
        var low = 0
        var high = segments.count
        // The last segment whose first is at or below seq.
        while low < high {
            let middle = (low + high) / 2
            if segments[middle].first <= seq { low = middle + 1 } else { high = middle }
        }
        return low == 0 ? nil : low - 1
    }

    /// The seqs past segment `index`'s: the next one's first, or none for the newest.
    static func end(ofSegment index: Int, in segments: [Segment]) -> Int64 {
        index + 1 < segments.count ? segments[index + 1].first : Int64.max
    }

    /// The table the documents of seqs from `nextSeq` on go into, in the caller's transaction: the
    /// newest segment, or a new one in an empty table once the newest holds `segmentSeqs` seqs.
    static func segmentForAppend(_ state: inout State, nextSeq: Int64) throws -> Int {
        if let newest = state.segments.last, nextSeq - newest.first < segmentSeqs {
            return newest.slot
        }
        let used = Set(state.segments.map(\.slot))
        guard let slot = (0..<documentSlots).first(where: { !used.contains($0) }) else {
            return state.segments[state.segments.count - 1].slot
        }
        let insert = try state.connection.statement("INSERT INTO segments (slot, first_seq) VALUES (?, ?)")
        defer { insert.reset() }
        insert.bind(slot, at: 1)
        insert.bind(nextSeq, at: 2)
        try insert.step()
        state.segments.append(Segment(slot: slot, first: nextSeq))
        return slot
    }

    /// Stores the documents of `records` at `positions` in `slot`, with seqs from `first` on, in the
    /// caller's transaction. The bytes are bound where they are, not copied. (One statement a row:
    /// sixteen rows a statement measured no faster in the extension, and each slot's statement
    /// took 8 KB more memory.)
    static func insertDocuments(
        _ connection: SQLiteConnection, slot: Int, _ records: [SpoolRecord], _ positions: [Int], from first: Int64
    ) throws {
        let insert = try connection.statement(insertDocumentSQL[slot])
        defer { insert.reset() }
        for (offset, position) in positions.enumerated() {
            let record = records[position]
            insert.reset()
            insert.bind(first + Int64(offset), at: 1)
            insert.bind(record.echo?.key, at: 3)
            insert.bind(record.echo?.valueStart, at: 4)
            try insert.step(bindingText: record.document, at: 2)
        }
    }

    /// The whole document of `seq` (echo put back) and its size as stored; nil when no segment
    /// holds it.
    static func document(
        _ connection: SQLiteConnection, _ segments: [Segment], seq: Int64
    ) throws -> (document: [UInt8], storedBytes: Int)? {
        guard let index = segmentIndex(of: seq, in: segments) else { return nil }
        let select = try connection.statement(selectDocumentSQL[segments[index].slot])
        defer { select.reset() }
        select.bind(seq, at: 1)
        guard try select.step() else { return nil }
        return wholeDocument(select, at: 0, echoAt: 1)
    }

    /// Empties every segment with no record left (all settled, dropped or replaced), in the caller's
    /// transaction, after records went: an older one is forgotten, the newest starts again from the
    /// next seq. Returns how many were emptied.
    @discardableResult
    static func clearSettledSegments(_ state: inout State) throws -> Int {
        guard !state.segments.isEmpty else { return 0 }
        let connection = state.connection
        let any = try connection.statement("SELECT 1 FROM records WHERE seq >= ? AND seq < ? LIMIT 1")
        defer { any.reset() }
        let nextSeq = try lastSeq(connection) + 1
        var kept: [Segment] = []
        var cleared = 0
        for (index, segment) in state.segments.enumerated() {
            let end = end(ofSegment: index, in: state.segments)
            let newest = index == state.segments.count - 1
            // The newest with nothing stored since it began has nothing to empty.
            if newest && segment.first >= nextSeq {
                kept.append(segment)
                continue
            }
            any.reset()
            any.bind(segment.first, at: 1)
            any.bind(end, at: 2)
            if try any.step() {
                kept.append(segment)
                continue
            }
            any.reset()
            let clear = try connection.statement(clearSegmentSQL[segment.slot])
            defer { clear.reset() }
            try clear.step()
            cleared += 1
            if newest {
                let move = try connection.statement("UPDATE segments SET first_seq = ? WHERE slot = ?")
                defer { move.reset() }
                move.bind(nextSeq, at: 1)
                move.bind(segment.slot, at: 2)
                try move.step()
                kept.append(Segment(slot: segment.slot, first: nextSeq))
            } else {
                let forget = try connection.statement("DELETE FROM segments WHERE slot = ?")
                defer { forget.reset() }
                forget.bind(segment.slot, at: 1)
                try forget.step()
            }
        }
        state.segments = kept
        return cleared
    }
}
