import SluiceDigest

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

    /// A run: the documents of consecutive seqs from `first_seq` on, `count` of them, in one row
    /// (migration 0009): an append's, or a requeue's.
    static let insertRunSQL = (0..<documentSlots).map {
        "INSERT INTO documents_\($0) (first_seq, count, crc, body) VALUES (?, ?, ?, ?)"
    }
    /// The run that holds a seq's document, if any does: the last that begins at or before it.
    static let selectRunSQL = (0..<documentSlots).map {
        "SELECT first_seq, count, body, crc FROM documents_\($0) WHERE first_seq <= ? ORDER BY first_seq DESC LIMIT 1"
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
    /// caller's transaction.
    static func insertDocuments(
        _ connection: SQLiteConnection, slot: Int, _ records: [SpoolRecord], _ positions: [Int], from first: Int64
    ) throws {
        var runs = RunAppender(connection, slot: slot, first: first)
        for position in positions { try runs.append(records[position].document, echo: records[position].echo) }
        try runs.finish()
    }

    /// The most stored bytes a run holds (a larger document has a run of its own). Under glibc's
    /// mmap threshold as the extension sets it (64 KiB), so that a run's bytes, SQLite's record of
    /// them and a reader's copy come from the heap: a whole delivery's documents in one run (200 KB)
    /// were each a fresh mapping, faulted in and zeroed page by page, and cost more CPU than the
    /// rows they saved (BENCHMARKS.md, 2026-12-07 (fourth)).
    static let runBytes = 32 << 10

    /// Writes documents of consecutive seqs into `slot` as runs of up to `runBytes`.
    struct RunAppender {
        let connection: SQLiteConnection
        let slot: Int
        private var first: Int64
        private var run = DocumentRun.Writer(capacity: Spool.runBytes + 1_024)

        init(_ connection: SQLiteConnection, slot: Int, first: Int64) {
            self.connection = connection
            self.slot = slot
            self.first = first
        }

        /// Adds the document of the next seq.
        mutating func append(_ document: [UInt8], echo: SpoolRecord.Echo?) throws {
            if run.count > 0 && run.bytes.count + document.count > Spool.runBytes { try finish() }
            run.append(document, echo: echo)
        }

        /// Stores what is not stored yet.
        mutating func finish() throws {
            guard run.count > 0 else { return }
            let insert = try connection.statement(Spool.insertRunSQL[slot])
            defer { insert.reset() }
            insert.bind(first, at: 1)
            insert.bind(run.count, at: 2)
            insert.bind(Int64(CRC32.checksum(run.bytes)), at: 3)
            try insert.step(bindingBlob: run.bytes, at: 4)
            first += Int64(run.count)
            run.removeAll()
        }
    }

    /// How many runs' bytes are not those written (their CRC-32 differs): reads every run. A spool
    /// of schema 8 or older has none.
    static func damagedRuns(_ connection: SQLiteConnection) throws -> Int {
        let runs = try connection.scalar(
            "SELECT count(*) FROM pragma_table_info('documents_0') WHERE name = 'first_seq'")
        guard runs == 1 else { return 0 }
        var damaged = 0
        for slot in 0..<documentSlots {
            let select = try connection.statement("SELECT first_seq, count, body, crc FROM documents_\(slot)")
            defer { select.reset() }
            while try select.step() {
                if !DocumentRun(select).intact { damaged += 1 }
            }
        }
        return damaged
    }

    /// Reads documents by seq, whole (echo put back), from the runs of the segment tables: a run is
    /// read once and kept while the seqs asked for are its own, as a lease's are (in seq order).
    struct DocumentReader {
        let connection: SQLiteConnection
        let segments: [Segment]
        private var run: DocumentRun?

        init(_ connection: SQLiteConnection, _ segments: [Segment]) {
            self.connection = connection
            self.segments = segments
        }

        /// The whole document of `seq` and its size as stored; nil when no run holds it (or the
        /// run's bytes end before it: a damaged file). Throws `.corrupt` for a run whose bytes
        /// are not those written, as SQLite does for a damaged page.
        mutating func document(seq: Int64) throws -> (document: [UInt8], storedBytes: Int)? {
            guard let run = try intactRun(holding: seq) else { return nil }
            return run.document(seq: seq)
        }

        /// Whether a run holds `seq`'s document, readable and intact.
        mutating func has(seq: Int64) throws -> Bool {
            guard let run = try run(holding: seq), run.intact else { return false }
            return run.entry(seq: seq) != nil
        }

        /// The stored bytes and the echo of `seq`'s document, as a dead letter keeps them.
        mutating func stored(seq: Int64) throws -> (document: [UInt8], echo: SpoolRecord.Echo?)? {
            guard let run = try intactRun(holding: seq), let entry = run.entry(seq: seq) else { return nil }
            return (Array(run.body[entry.document]), run.echo(entry))
        }

        private mutating func intactRun(holding seq: Int64) throws -> DocumentRun? {
            guard let run = try run(holding: seq) else { return nil }
            guard run.intact else {
                throw SpoolError(
                    .corrupt,
                    "the spool at \(connection.path) is damaged: the documents of seqs \(run.first) to "
                        + "\(run.first + Int64(run.count) - 1) are not the bytes written (their checksum differs)")
            }
            return run
        }

        private mutating func run(holding seq: Int64) throws -> DocumentRun? {
            if let run, run.holds(seq) { return run }
            guard let index = Spool.segmentIndex(of: seq, in: segments) else { return nil }
            let select = try connection.statement(Spool.selectRunSQL[segments[index].slot])
            defer { select.reset() }
            select.bind(seq, at: 1)
            guard try select.step() else { return nil }
            let found = DocumentRun(select)
            guard found.holds(seq) else { return nil }
            run = found
            return found
        }
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

/// A run as stored (migration 0009): the documents of consecutive seqs from `first` on, `count` of
/// them, each an entry of `body`: `<stored length> <echo_at, 0 for none> <echo_key>\n<document>`
/// (decimal numbers; an echo's key has nothing to escape in JSON, so no newline).
struct DocumentRun {
    let first: Int64
    let count: Int
    let body: [UInt8]
    /// The entries that read, in order: fewer than `count` when the bytes are damaged (a cut file),
    /// none when they are not the bytes written.
    let entries: [Entry]
    /// The bytes are those written: their CRC-32 is the one stored with them (a run made by
    /// migration 0009 has none, and counts as intact).
    let intact: Bool

    struct Entry {
        /// The stored document's bytes in `body`.
        var document: Range<Int>
        /// Where the echoed value begins in the document; 0 for no echo.
        var echoAt: Int
        /// The echo's key in `body`.
        var key: Range<Int>
    }

    init(first: Int64, count: Int, body: [UInt8], crc: UInt32? = nil) {
        self.first = first
        self.count = max(0, count)
        self.body = body
        self.intact = crc.map { $0 == CRC32.checksum(body) } ?? true
        self.entries = intact ? Self.entries(of: body, upTo: self.count) : []
    }

    /// A run from a row of `first_seq, count, body, crc`.
    init(_ row: SQLiteStatement) {
        self.init(
            first: row.int64(at: 0), count: row.int(at: 1), body: row.bytes(at: 2),
            crc: row.isNull(at: 3) ? nil : UInt32(truncatingIfNeeded: row.int64(at: 3)))
    }

    func holds(_ seq: Int64) -> Bool { seq >= first && seq - first < Int64(count) }

    /// The entry of `seq`, if its bytes read.
    func entry(seq: Int64) -> Entry? {
        guard seq >= first, seq - first < Int64(entries.count) else { return nil }
        return entries[Int(seq - first)]
    }

    func echo(_ entry: Entry) -> SpoolRecord.Echo? {
        guard entry.echoAt > 0 else { return nil }
        return SpoolRecord.Echo(key: String(decoding: body[entry.key], as: UTF8.self), valueStart: entry.echoAt)
    }

    /// The whole document of `seq` (echo put back) and its size as stored.
    func document(seq: Int64) -> (document: [UInt8], storedBytes: Int)? {
        guard let entry = entry(seq: seq) else { return nil }
        let echo = echo(entry)
        return body.withUnsafeBytes { raw in
            (SpoolRecord.Echo.whole(UnsafeRawBufferPointer(rebasing: raw[entry.document]), echo), entry.document.count)
        }
    }

    private static let space = UInt8(ascii: " ")
    private static let newline = UInt8(ascii: "\n")

    /// Reads up to `count` entries; stops at the first that does not read whole.
    static func entries(of body: [UInt8], upTo count: Int) -> [Entry] {
        body.withUnsafeBufferPointer { bytes in
            var entries: [Entry] = []
            // A count read from a damaged row may be anything: an entry takes at least 5 bytes.
            entries.reserveCapacity(min(count, bytes.count / 5))
            var at = 0
            while entries.count < count {
                guard let (length, afterLength) = number(bytes, at), afterLength < bytes.count,
                    bytes[afterLength] == space,
                    let (echoAt, afterEcho) = number(bytes, afterLength + 1), afterEcho < bytes.count,
                    bytes[afterEcho] == space
                else { break }
                var keyEnd = afterEcho + 1
                while keyEnd < bytes.count, bytes[keyEnd] != newline { keyEnd += 1 }
                let start = keyEnd + 1
                guard start <= bytes.count, length <= bytes.count - start else { break }
                entries.append(Entry(document: start..<start + length, echoAt: echoAt, key: afterEcho + 1..<keyEnd))
                at = start + length
            }
            return entries
        }
    }

    /// A decimal number of 1 to 15 digits at `at`, and where it ends.
    private static func number(_ bytes: UnsafeBufferPointer<UInt8>, _ at: Int) -> (Int, Int)? {
        var value = 0
        var end = at
        while end < bytes.count, end - at < 15, bytes[end] &- UInt8(ascii: "0") < 10 {
            value = value * 10 + Int(bytes[end] &- UInt8(ascii: "0"))
            end += 1
        }
        return end > at ? (value, end) : nil
    }

    /// Makes a run's bytes, an entry at a time.
    struct Writer {
        private(set) var bytes: [UInt8] = []
        private(set) var count = 0

        init(capacity: Int) { bytes.reserveCapacity(capacity) }

        /// Empty again, keeping the bytes' capacity.
        mutating func removeAll() {
            bytes.removeAll(keepingCapacity: true)
            count = 0
        }

        mutating func append(_ document: [UInt8], echo: SpoolRecord.Echo?) {
            // Numbers this short are Strings held inline: no allocation.
            bytes += String(document.count).utf8
            bytes.append(DocumentRun.space)
            bytes += String(echo.map { max(0, $0.valueStart) } ?? 0).utf8
            bytes.append(DocumentRun.space)
            if let echo, echo.valueStart > 0 { bytes += echo.key.utf8 }
            bytes.append(DocumentRun.newline)
            bytes += document
            count += 1
        }
    }
}
