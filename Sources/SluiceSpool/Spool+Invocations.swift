/// A phase boundary of the execution environment: where the log lines that follow belong.
public struct InvocationMark: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// An init (or a SnapStart restore) began: lines are phase `init`, with no request id.
        case initialization = "init"
        /// An invocation started: lines belong to it.
        case start
        /// The extension received SHUTDOWN: lines are phase `shutdown`.
        case shutdown
    }

    /// Event time, in milliseconds since the epoch.
    public var at: Int64
    public var kind: Kind
    /// The invocation a `start` begins ("" for the other kinds).
    public var requestId: String
    public var traceId: String?
    /// What kind of init (`on-demand`, `snap-start`, …) for an `init` mark.
    public var detail: String?

    public init(at: Int64, kind: Kind, requestId: String = "", traceId: String? = nil, detail: String? = nil) {
        self.at = at
        self.kind = kind
        self.requestId = requestId
        self.traceId = traceId
        self.detail = detail
    }
}

/// One invocation whose summary is not written yet, and what ingest knows of it (its own encoding).
public struct OpenInvocation: Sendable, Equatable {
    public var requestId: String
    /// The start's event time, in milliseconds since the epoch: with the request id, its identity.
    public var startedAt: Int64
    public var state: [UInt8]

    public init(requestId: String, startedAt: Int64, state: [UInt8]) {
        self.requestId = requestId
        self.startedAt = startedAt
        self.state = state
    }
}

/// The invocation view's state as stored.
public struct InvocationState: Sendable, Equatable {
    /// Oldest first.
    public var marks: [InvocationMark] = []
    public var open: [OpenInvocation] = []
    /// Digests of the deliveries whose changes were made, oldest first.
    public var appliedDeliveries: [String] = []

    public init(marks: [InvocationMark] = [], open: [OpenInvocation] = [], appliedDeliveries: [String] = []) {
        self.marks = marks
        self.open = open
        self.appliedDeliveries = appliedDeliveries
    }
}

/// What one delivery (or SHUTDOWN) changes in the invocation view's state.
public struct InvocationChanges: Sendable, Equatable {
    public var addedMarks: [InvocationMark] = []
    /// Marks older than this are dropped.
    public var dropMarksBefore: Int64?
    /// Written (inserted or replaced).
    public var upserted: [OpenInvocation] = []
    /// Closed: their summary is in the same append.
    public var closed: [(requestId: String, startedAt: Int64)] = []
    /// The delivery whose changes these are; kept so a re-delivery makes them once.
    public var appliedDelivery: String?

    public init() {}

    public var isEmpty: Bool {
        addedMarks.isEmpty && dropMarksBefore == nil && upserted.isEmpty && closed.isEmpty && appliedDelivery == nil
    }

    public static func == (left: InvocationChanges, right: InvocationChanges) -> Bool {
        left.addedMarks == right.addedMarks && left.dropMarksBefore == right.dropMarksBefore
            && left.upserted == right.upserted && left.appliedDelivery == right.appliedDelivery
            && left.closed.map(\.requestId) == right.closed.map(\.requestId)
            && left.closed.map(\.startedAt) == right.closed.map(\.startedAt)
    }
}

extension Spool {
    /// How many applied delivery digests are kept: far more than the platform ever re-delivers.
    static let appliedDeliveriesKept = 512

    /// The invocation view's state: every mark, open invocation and applied delivery.
    public func invocationState() throws -> InvocationState {
        try read("reading the invocation state") { state in
            var result = InvocationState()
            // A spool of an older schema opened read-only (the CLI) has none yet.
            guard try Self.hasInvocationTables(state.connection) else { return result }
            let marks = try state.connection.statement(
                "SELECT at, kind, request_id, trace_id, detail FROM invocation_marks ORDER BY at, kind, request_id")
            defer { marks.reset() }
            while try marks.step() {
                guard let kind = InvocationMark.Kind(rawValue: marks.string(at: 1)) else { continue }
                result.marks.append(
                    InvocationMark(
                        at: marks.int64(at: 0), kind: kind, requestId: marks.string(at: 2),
                        traceId: marks.optionalString(at: 3), detail: marks.optionalString(at: 4)))
            }
            let open = try state.connection.statement(
                "SELECT request_id, started_at, state FROM open_invocations ORDER BY started_at, request_id")
            defer { open.reset() }
            while try open.step() {
                result.open.append(
                    OpenInvocation(
                        requestId: open.string(at: 0), startedAt: open.int64(at: 1), state: open.bytes(at: 2)))
            }
            let applied = try state.connection.statement("SELECT digest FROM applied_deliveries ORDER BY id")
            defer { applied.reset() }
            while try applied.step() { result.appliedDeliveries.append(applied.string(at: 0)) }
            return result
        }
    }

    /// Stores a whole delivery, the changes it makes to the invocation view's state, what ingest's
    /// rules did to it (`ruleCounts`, by rule name: `email.masked`) and what Lambda said it dropped
    /// (`lambdaDropped`, its `platform.logsDropped` events) in one transaction: all or nothing.
    /// `duplicates` counts the records of a re-delivered batch, received and not stored: ingest knows
    /// one by its digest (`applied_deliveries`), and gives no records of it.
    @discardableResult
    public func append(
        _ records: [SpoolRecord], invocations changes: InvocationChanges, ruleCounts: [String: Int] = [:],
        lambdaDropped: (records: Int, bytes: Int) = (0, 0), duplicates: Int = 0
    ) throws -> AppendResult {
        guard !changes.isEmpty || !ruleCounts.isEmpty || lambdaDropped != (0, 0) else {
            return try append(records, duplicates: duplicates, also: nil)
        }
        return try append(
            records, duplicates: duplicates,
            also: { connection, _ in
                try Self.apply(changes, connection)
                try Self.bump(connection, rules: ruleCounts)
                try Self.bump(connection, adding: "dropped_by_lambda", by: lambdaDropped.records)
                try Self.bump(connection, adding: "dropped_by_lambda_bytes", by: lambdaDropped.bytes)
            })
    }

    /// Changes the invocation view's state alone (SHUTDOWN's mark).
    public func apply(_ changes: InvocationChanges) throws {
        guard !changes.isEmpty else { return }
        try write("changing the invocation state") { state in try Self.apply(changes, state.connection) }
    }

    static func hasInvocationTables(_ connection: SQLiteConnection) throws -> Bool {
        try connection.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'open_invocations'") ?? 0 > 0
    }

    static func apply(_ changes: InvocationChanges, _ connection: SQLiteConnection) throws {
        if !changes.addedMarks.isEmpty {
            let insert = try connection.statement(
                "INSERT OR REPLACE INTO invocation_marks (at, kind, request_id, trace_id, detail) VALUES (?, ?, ?, ?, ?)"
            )
            for mark in changes.addedMarks {
                insert.reset()
                insert.bind(mark.at, at: 1)
                insert.bind(mark.kind.rawValue, at: 2)
                insert.bind(mark.requestId, at: 3)
                insert.bind(mark.traceId, at: 4)
                insert.bind(mark.detail, at: 5)
                try insert.step()
            }
            insert.reset()
        }
        if let before = changes.dropMarksBefore {
            let delete = try connection.statement("DELETE FROM invocation_marks WHERE at < ?")
            delete.bind(before, at: 1)
            try delete.step()
        }
        if !changes.upserted.isEmpty {
            let upsert = try connection.statement(
                "INSERT OR REPLACE INTO open_invocations (request_id, started_at, state) VALUES (?, ?, ?)")
            for invocation in changes.upserted {
                upsert.reset()
                upsert.bind(invocation.requestId, at: 1)
                upsert.bind(invocation.startedAt, at: 2)
                upsert.bindText(invocation.state, at: 3)
                try upsert.step()
            }
            upsert.reset()
        }
        if !changes.closed.isEmpty {
            let delete = try connection.statement(
                "DELETE FROM open_invocations WHERE request_id = ? AND started_at = ?")
            for (requestId, startedAt) in changes.closed {
                delete.reset()
                delete.bind(requestId, at: 1)
                delete.bind(startedAt, at: 2)
                try delete.step()
            }
            delete.reset()
        }
        if let digest = changes.appliedDelivery {
            let insert = try connection.statement("INSERT OR IGNORE INTO applied_deliveries (digest) VALUES (?)")
            insert.bind(digest, at: 1)
            try insert.step()
            insert.reset()
            let prune = try connection.statement(
                "DELETE FROM applied_deliveries WHERE id <= (SELECT max(id) FROM applied_deliveries) - ?")
            prune.bind(appliedDeliveriesKept, at: 1)
            try prune.step()
            prune.reset()
        }
    }
}
