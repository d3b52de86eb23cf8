/// One document to index: where, under which id, and its JSON.
public struct BulkDocument: Sendable, Equatable {
    public var index: String
    /// The deterministic `_id`; a re-sent document then answers 409 instead of indexing twice.
    public var id: String
    /// The document's JSON object, UTF-8.
    public var body: [UInt8]
    /// It replaces a document of its id already indexed (an `index` action, not `create`).
    public var replaces: Bool

    public init(index: String, id: String, body: [UInt8], replaces: Bool = false) {
        self.index = index
        self.id = id
        self.body = body
        self.replaces = replaces
    }
}
