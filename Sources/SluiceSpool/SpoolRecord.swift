/// A document to keep until OpenSearch has it: its deterministic id, target index and body.
public struct SpoolRecord: Sendable, Equatable {
    /// The OpenSearch `_id`. Begin it with the event time, so that records sort by it.
    public var id: String
    /// The index (or data stream) the document goes to.
    public var index: String
    /// The event's own time, in milliseconds since the epoch.
    public var eventTime: Int64
    /// The JSON document, UTF-8; without `echo`'s member when there is one.
    public var document: [UInt8]
    /// A member the document repeats, left out of `document` and stored once.
    public var echo: Echo?
    /// The document replaces the one of its id: a keyed row of that id still in the spool gives
    /// way to it, and the shipper overwrites one already indexed. For a summary first written
    /// incomplete.
    public var replaces: Bool
    /// Its id may be made again, by a later delivery or process (an invocation's summary, a health
    /// document): the spool keeps one waiting record of a keyed id, and a second is a duplicate
    /// (unless it `replaces`). A telemetry event's id is new with each delivery (its digest), and a
    /// re-delivered batch is known before its records are made, so events are not keyed: keeping
    /// every id unique cost about a sixth of the extension's CPU (migration 0010).
    public var keyed: Bool

    public init(
        id: String, index: String, eventTime: Int64, document: [UInt8], echo: Echo? = nil, replaces: Bool = false,
        keyed: Bool = false
    ) {
        self.id = id
        self.index = index
        self.eventTime = eventTime
        self.document = document
        self.echo = echo
        self.replaces = replaces
        self.keyed = keyed || replaces
    }

    /// The whole document, as the spool hands it out.
    public var wholeDocument: [UInt8] { Echo.whole(document, echo) }

    /// A member a document repeats: the value of the document's last member again, under another
    /// key, added last (a text line's `record` repeats its `message`, a JSON line's `fields` its
    /// `record`). The spool keeps that value once and hands out the whole document: for a log line
    /// it writes, checkpoints and reads back about half the bytes.
    public struct Echo: Sendable, Equatable {
        /// The repeated member's key: one with nothing to escape in JSON.
        public var key: String
        /// Where the value of the document's last member begins; it ends before the closing brace.
        public var valueStart: Int

        public init(key: String, valueStart: Int) {
            self.key = key
            self.valueStart = valueStart
        }

        /// `document` with `echo`'s member added before its closing brace; `document` as it is
        /// when there is no echo, or one that does not fit it (a damaged row: nothing made up).
        public static func whole(_ document: [UInt8], _ echo: Echo?) -> [UInt8] {
            guard echo != nil else { return document }
            return document.withUnsafeBytes { whole($0, echo) }
        }

        /// The same, from bytes the caller holds (a row's column, read in place): one copy.
        package static func whole(_ document: UnsafeRawBufferPointer, _ echo: Echo?) -> [UInt8] {
            guard let echo, echo.valueStart > 0, echo.valueStart < document.count - 1,
                document.last == UInt8(ascii: "}")
            else { return Array(document) }
            let end = document.count - 1
            let key = echo.key.utf8
            var out: [UInt8] = []
            out.reserveCapacity(document.count + key.count + 4 + end - echo.valueStart)
            out += document[..<end]
            out.append(UInt8(ascii: ","))
            out.append(UInt8(ascii: "\""))
            out += key
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
            out += document[echo.valueStart..<end]
            out.append(UInt8(ascii: "}"))
            return out
        }
    }
}

/// A record as the spool holds it, for a shipper (after `lease`) or for inspection.
public struct StoredRecord: Sendable, Equatable {
    /// The spool's own key for the record (arrival order); settle by it.
    public let seq: Int64
    public let id: String
    public let index: String
    public let eventTime: Int64
    public let receivedAt: Int64
    /// When the record may next be leased: its retry time, or for a leased record the lease's expiry.
    public let dueAt: Int64
    /// Failed shipping attempts so far.
    public let attempts: Int
    /// The error of the last failed attempt.
    public let lastError: String?
    public let document: [UInt8]
    /// It replaces the document of its id (`SpoolRecord.replaces`).
    public let replaces: Bool
}

/// What became of one leased record.
public enum Settlement: Sendable, Equatable {
    /// OpenSearch has it (indexed now, or already there under the same id): remove it.
    case shipped
    /// Try again no earlier than `at` (ms since the epoch); `error` is kept and attempts counted.
    case retry(at: Int64, error: String)
    /// Give up: keep it as a dead letter with the reason.
    case deadLetter(reason: String, errorType: String?)
}

/// What one append did with the records it was given.
public struct AppendResult: Sendable, Equatable {
    /// Records given.
    public var received = 0
    /// Records newly stored.
    public var stored = 0
    /// Records of a re-delivered batch, and keyed records whose id waits already: not stored.
    public var duplicates = 0
    /// New records not stored because the cap was reached under `reject-new`.
    public var rejected = 0
    /// Older records (and dead letters) dropped to make room under `drop-oldest`.
    public var evicted = 0

    public init() {}
}

/// What one settle call did.
public struct SettleResult: Sendable, Equatable {
    public var shipped = 0
    public var retried = 0
    public var deadLettered = 0
    /// Records no longer in the spool (dropped by the cap while leased, say).
    public var missing = 0

    public init(shipped: Int = 0, retried: Int = 0, deadLettered: Int = 0, missing: Int = 0) {
        self.shipped = shipped
        self.retried = retried
        self.deadLettered = deadLettered
        self.missing = missing
    }
}
