import SluiceOpenSearch
import SluiceSpool
import SluiceTime

/// `sluice spool export`: every waiting record (or dead letter) to stdout.
struct Export {
    static let command = Command(
        name: "export", abstract: "Write every waiting record, or every dead letter, to stdout.",
        options: [
            SpoolLocation.option, .flag("dead", help: "Export the dead letters instead of the waiting records."),
            .value(
                "format", "format",
                help: "ndjson (one object per line) or bulk (a _bulk body, as the shipper writes it).",
                default: "ndjson"),
        ],
        run: { try Export($0).run() })

    enum Format: String, CaseIterable {
        /// One JSON object per line: the record's fields and its document.
        case ndjson
        /// An OpenSearch `_bulk` body as the shipper writes it (`create` actions; `index` for a record
        /// that replaces the document of its id), ready to POST.
        case bulk
    }

    let location: SpoolLocation
    let dead: Bool
    let format: Format

    init(_ arguments: ParsedArguments) throws(UsageError) {
        location = SpoolLocation(arguments)
        dead = arguments.flag("dead")
        let name = arguments.string("format") ?? Format.ndjson.rawValue
        guard let format = Format(rawValue: name) else {
            throw UsageError("--format must be ndjson or bulk, not '\(name)'")
        }
        self.format = format
    }

    func run() throws {
        try reportingFailures {
            let spool = try location.open(.readOnly)
            if dead {
                try spool.forEachDeadLetter { letter in
                    switch format {
                    case .ndjson: print(Self.line(letter))
                    case .bulk:
                        print(
                            Self.bulk(index: letter.index, id: letter.documentID, document: letter.document),
                            terminator: "")
                    }
                    return true
                }
            } else {
                try spool.forEachRecord { record in
                    switch format {
                    case .ndjson: print(Self.line(record))
                    case .bulk:
                        print(
                            Self.bulk(
                                index: record.index, id: record.id, document: record.document, replaces: record.replaces
                            ),
                            terminator: "")
                    }
                    return true
                }
            }
        }
    }

    static func line(_ record: StoredRecord) -> String {
        "{\"id\":\(Terminal.jsonString(record.id)),\"index\":\(Terminal.jsonString(record.index)),"
            + "\"eventTime\":\"\(UTCTime.iso8601(milliseconds: record.eventTime))\","
            + "\"receivedAt\":\"\(UTCTime.iso8601(milliseconds: record.receivedAt))\","
            + "\"attempts\":\(record.attempts),"
            + "\"lastError\":\(record.lastError.map(Terminal.jsonString) ?? "null"),"
            + (record.replaces ? "\"replaces\":true," : "")
            + "\"document\":\(String(decoding: record.document, as: UTF8.self))}"
    }

    static func line(_ letter: DeadLetter) -> String {
        "{\"deadLetter\":\(letter.id),\"id\":\(Terminal.jsonString(letter.documentID)),"
            + "\"index\":\(Terminal.jsonString(letter.index)),"
            + "\"eventTime\":\"\(UTCTime.iso8601(milliseconds: letter.eventTime))\","
            + "\"receivedAt\":\"\(UTCTime.iso8601(milliseconds: letter.receivedAt))\","
            + "\"diedAt\":\"\(UTCTime.iso8601(milliseconds: letter.diedAt))\","
            + "\"attempts\":\(letter.attempts),"
            + "\"errorType\":\(letter.errorType.map(Terminal.jsonString) ?? "null"),"
            + "\"reason\":\(Terminal.jsonString(letter.reason)),"
            + "\"document\":\(String(decoding: letter.document, as: UTF8.self))}"
    }

    /// The action and document lines the shipper would send (`index` for a record that replaces).
    static func bulk(index: String, id: String, document: [UInt8], replaces: Bool = false) -> String {
        String(
            decoding: BulkEncoder().encode([BulkDocument(index: index, id: id, body: document, replaces: replaces)]),
            as: UTF8.self)
    }
}
