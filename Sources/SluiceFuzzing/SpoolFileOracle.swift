import Logging
import SluiceSpool
import SluiceTime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `spool-file`: a real spool file (records, retries, dead letters, counters), built once, damaged
/// as the input says (bit flips, byte writes, a truncation, pages swapped) and opened as the
/// extension opens it.
///
/// The open never traps and throws only to refuse a newer schema or an edited migration: it either
/// keeps the file, or moves it aside and starts an empty spool. A kept file that was only cut short, and that the full check finds sound, reads
/// back only records that were written, each as it was written. SQLite pages carry no checksum: a
/// flipped bit inside a document, or two overflow pages of equal-sized documents swapped, pass
/// every check SQLite has (and one in a row's id passes `quick_check`, which reads no index against
/// its table), so for those only the open's outcome and reading without a trap count.
final class SpoolFileOracle: Sendable {
    static let shared = SpoolFileOracle()

    struct Pristine: Sendable {
        let file: [UInt8]
        /// id → index and document, records and dead letters alike.
        let written: [String: (index: String, document: [UInt8])]
    }

    private let pristine: Locked<Pristine?> = Locked(nil)
    static let logger = Logger(label: "sluice.fuzz") { _ in SwiftLogNoOpLogHandler() }

    func check(_ bytes: [UInt8]) -> [String] {
        let pristine = self.pristine.withLock { value in
            if value == nil { value = Self.build() }
            return value!
        }
        return Self.check(bytes, pristine)
    }

    /// The spool every input starts from.
    static func build() -> Pristine {
        let folder = ScratchFolder.fresh("spool-seed")
        let path = "\(folder)/spool.sqlite"
        var written: [String: (index: String, document: [UInt8])] = [:]
        do {
            let spool = try Spool.open(SpoolConfiguration(path: path), logger: logger)
            var records: [SpoolRecord] = []
            for position in 0..<48 {
                let size = [20, 300, 1_500, 5_000][position % 4]
                let text = String(repeating: Character(UnicodeScalar(UInt8(97 + position % 10))), count: size)
                let record = SpoolRecord(
                    id: "0018b2c3d4e5-env-\(position)", index: position % 3 == 0 ? "platform" : "function",
                    eventTime: 1_700_000_000_000 + Int64(position),
                    document: Array(#"{"n":\#(position),"text":"\#(text)"}"#.utf8))
                records.append(record)
                written[record.id] = (record.index, record.document)
            }
            _ = try spool.append(records)
            let leased = try spool.lease(maxCount: 18, maxBytes: 1 << 20)
            let outcomes: [(seq: Int64, settlement: Settlement)] = leased.enumerated().map { position, record in
                switch position % 3 {
                case 0: (record.seq, .shipped)
                case 1: (record.seq, .retry(at: 1_800_000_000_000, error: "HTTP 503"))
                default: (record.seq, .deadLetter(reason: "HTTP 400: mapper_parsing_exception", errorType: "mapper"))
                }
            }
            _ = try spool.settle(outcomes)
            try spool.recordMalformed(3)
        } catch {
            fatalError("cannot build the spool-file target's spool: \(error)")
        }
        // The spool is closed (its last connection checkpoints the WAL into the file).
        guard let file = read(path) else { fatalError("cannot read the spool at \(path)") }
        return Pristine(file: file, written: written)
    }

    static func check(_ bytes: [UInt8], _ pristine: Pristine) -> [String] {
        var file = pristine.file
        var input = FuzzInput(bytes)
        var onlyCut = true
        let pageSize: Int = {
            let raw = Int(file[16]) << 8 | Int(file[17])
            return raw == 1 ? 65_536 : max(512, raw)
        }()
        var operations = 0
        while !input.isAtEnd, operations < 16, !file.isEmpty {
            operations += 1
            let kind = input.byte() % 4
            let offset = input.number(bytes: 3) % file.count
            let value = input.byte()
            switch kind {
            case 0:
                file[offset] ^= 1 << (value % 8)
                onlyCut = false
            case 1:
                file[offset] = value
                onlyCut = false
            case 2:
                file.removeSubrange(offset...)
            default:
                let pages = file.count / pageSize
                guard pages >= 2 else { continue }
                let first = offset / pageSize % pages
                let second = Int(value) % pages
                guard first != second else { continue }
                onlyCut = false
                let one = Array(file[first * pageSize..<(first + 1) * pageSize])
                file.replaceSubrange(
                    first * pageSize..<(first + 1) * pageSize, with: file[second * pageSize..<(second + 1) * pageSize])
                file.replaceSubrange(second * pageSize..<(second + 1) * pageSize, with: one)
            }
        }
        let folder = ScratchFolder.fresh("spool-case")
        let path = "\(folder)/spool.sqlite"
        guard write(file, to: path) else { return ["cannot write \(path)"] }
        let spool: Spool
        do {
            spool = try Spool.open(SpoolConfiguration(path: path), logger: logger)
        } catch let error as SpoolError where error.code == .schemaTooNew || error.code == .migrationEdited {
            // By design (MigrationTests): a spool that records a migration this binary does not carry,
            // or another checksum for one, is refused with a clear error, not moved aside; a flipped bit
            // in a recorded id or checksum reads the same.
            return []
        } catch {
            return ["opening a damaged spool threw instead of moving it aside: \(error)"]
        }
        var problems: [String] = []
        if let aside = spool.quarantinedPath {
            if access(aside, F_OK) != 0 { problems.append("the damaged file is not at \(aside)") }
            if let statistics = try? spool.statistics() {
                if statistics.rows != 0 || statistics.deadLetters != 0 {
                    problems.append("the fresh spool is not empty: \(statistics.rows) records")
                }
                if statistics.counters.quarantined != 1 { problems.append("the quarantine was not counted") }
            } else {
                problems.append("the fresh spool cannot be read")
            }
            // What can be read of the damaged file (records and dead letters) comes back once, as it
            // was written where the file was only cut short (a flipped bit may change a row that
            // still reads).
            let salvage = spool.salvage(from: aside)
            var seen: Set<String> = []
            try? spool.forEachRecord { record in
                problems += intact(record.id, record.index, record.document, pristine, checking: onlyCut)
                if !seen.insert(record.id).inserted { problems.append("record \(record.id) salvaged twice") }
                return problems.count < 8
            }
            if seen.count != salvage.recovered {
                problems.append("salvaged \(salvage.recovered) records, and the spool holds \(seen.count)")
            }
            var letters = 0
            try? spool.forEachDeadLetter { letter in
                problems += intact(letter.documentID, letter.index, letter.document, pristine, checking: onlyCut)
                letters += 1
                return problems.count < 8
            }
            if letters != salvage.deadLetters {
                problems.append("kept \(salvage.deadLetters) dead letters, and the spool holds \(letters)")
            }
            let counters = try? spool.statistics().counters
            if counters?.salvaged != salvage.recovered || counters?.salvagedDeadLetters != salvage.deadLetters {
                problems.append("the salvage was not counted")
            }
            let again = spool.salvage(from: aside)
            if again.recovered != 0 || again.deadLetters != 0 { problems.append("a second salvage stored rows again") }
            return problems
        }
        let sound = spool.verify() == .sound
        var seen: Set<String> = []
        // Reading may fail on a damaged file; what it does read is checked.
        try? spool.forEachRecord { record in
            problems += intact(record.id, record.index, record.document, pristine, checking: sound && onlyCut)
            // A flipped bit in a row's id (say `-28` to `-29`) makes a second row of an id, and
            // `quick_check`, the open's check, cannot tell (the spool keeps no index of event ids),
            // so only a file that was just cut short must never read an id twice.
            if !seen.insert(record.id).inserted, sound, onlyCut {
                problems.append("record \(record.id) read twice")
            }
            return problems.count < 8
        }
        try? spool.forEachDeadLetter { letter in
            problems += intact(
                letter.documentID, letter.index, letter.document, pristine, checking: sound && onlyCut)
            return problems.count < 8
        }
        _ = try? spool.statistics()
        return problems
    }

    static func intact(
        _ id: String, _ index: String, _ document: [UInt8], _ pristine: Pristine, checking: Bool
    ) -> [String] {
        guard checking else { return [] }
        guard let original = pristine.written[id] else {
            return ["read a record never written: \(id.debugDescription)"]
        }
        if original.index != index || original.document != document {
            return ["record \(id) reads back changed (index \(index), \(document.count) bytes)"]
        }
        return []
    }

    static func read(_ path: String) -> [UInt8]? {
        guard let handle = fopen(path, "rb") else { return nil }
        defer { fclose(handle) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = fread(&chunk, 1, chunk.count, handle)
            if count <= 0 { break }
            out += chunk[0..<count]
        }
        return out
    }

    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        guard let handle = fopen(path, "wb") else { return false }
        defer { fclose(handle) }
        return bytes.isEmpty || fwrite(bytes, 1, bytes.count, handle) == bytes.count
    }
}
