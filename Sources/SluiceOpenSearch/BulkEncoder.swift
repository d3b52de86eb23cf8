import SluiceJSON

/// Writes the NDJSON body of a `_bulk` request: one `create` action per document, so that a document
/// sent twice is refused (409) rather than indexed twice; an `index` action for a document that
/// replaces the one of its id, where that can be done (a client id, not a data stream).
public struct BulkEncoder: Sendable {
    /// Where the document id goes.
    public enum IDPlacement: Sendable, Equatable {
        /// As the `_id` of the action (the default: dedup by OpenSearch itself).
        case documentID
        /// As a field of the document, with the server choosing `_id`: for OpenSearch Serverless
        /// time-series and vector collections, which reject client ids.
        case field(String)
    }

    public var idPlacement: IDPlacement
    /// Documents may be overwritten: false for data streams, which take `create` alone.
    public var replaces: Bool

    public init(idPlacement: IDPlacement = .documentID, replaces: Bool = true) {
        self.idPlacement = idPlacement
        self.replaces = replaces
    }

    /// The bytes the action and document of `document` add to a body.
    public func encodedSize(_ document: BulkDocument) -> Int {
        // {"create":{"_index":"","_id":""}}\n + body + \n, with room for escapes in the names.
        document.index.utf8.count + document.id.utf8.count + document.body.count + 40
    }

    /// The NDJSON body for `documents`, in order (the response's items come back in this order).
    public func encode(_ documents: [BulkDocument]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(documents.reduce(0) { $0 + encodedSize($1) })
        for document in documents { append(document, to: &out) }
        return out
    }

    /// The same body gzip-compressed as it is written, 64 KiB at a time, so that the whole
    /// uncompressed body never exists; nil if zlib failed.
    func encodeCompressed(_ documents: [BulkDocument]) -> [UInt8]? {
        let gzip = Gzip(expectedInput: documents.reduce(0) { $0 + encodedSize($1) })
        let piece = 64 << 10
        var out: [UInt8] = []
        out.reserveCapacity(2 * piece)
        for document in documents {
            append(document, to: &out)
            if out.count >= piece {
                out.withUnsafeBufferPointer { gzip.write($0) }
                out.removeAll(keepingCapacity: true)
            }
        }
        out.withUnsafeBufferPointer { gzip.write($0) }
        return gzip.finish()
    }

    // The fixed parts of an action line, made once rather than for every document.
    private static let indexAction = Array(#"{"index":{"_index":"#.utf8)
    private static let createAction = Array(#"{"create":{"_index":"#.utf8)
    private static let idMember = Array(#","_id":"#.utf8)
    private static let actionEnd = Array("}}\n".utf8)

    /// Appends the action line and the document line of `document`.
    private func append(_ document: BulkDocument, to out: inout [UInt8]) {
        // A replacement is sent as `index`; a document with no client id cannot be one.
        let overwrite = document.replaces && replaces && idPlacement == .documentID
        out += overwrite ? Self.indexAction : Self.createAction
        JSONText.appendString(document.index, to: &out)
        switch idPlacement {
        case .documentID:
            out += Self.idMember
            JSONText.appendString(document.id, to: &out)
            out += Self.actionEnd
            out += document.body
        case .field(let name):
            out += Self.actionEnd
            out += Self.inserting(field: name, value: document.id, into: document.body)
        }
        out.append(UInt8(ascii: "\n"))
    }

    /// `body` with `"name":"value",` added as its first member.
    static func inserting(field name: String, value: String, into body: [UInt8]) -> [UInt8] {
        guard let open = body.firstIndex(of: UInt8(ascii: "{")) else { return body }
        var out = Array(body[...open])
        JSONText.appendString(name, to: &out)
        out.append(UInt8(ascii: ":"))
        JSONText.appendString(value, to: &out)
        let rest = body[body.index(after: open)...]
        let empty = rest.first { $0 != UInt8(ascii: " ") } == UInt8(ascii: "}")
        if !empty { out.append(UInt8(ascii: ",")) }
        out += rest
        return out
    }
}
