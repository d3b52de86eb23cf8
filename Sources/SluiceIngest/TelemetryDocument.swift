import SluiceJSON
public import SluiceLambda
public import SluiceSpool

/// Builds the OpenSearch document of one telemetry event.
///
/// The AWS sample's fields stay as they were (`time`, `type`, `record`), so existing dashboards
/// keep working; Sluice adds `@timestamp` (for data streams and time-based views), the function's
/// name, version and region, and `requestId` when the record has one. Log events (`function`,
/// `extension`) also get `message` and `level` at top level, where they belong (`requestId`,
/// `traceId`, `phase`: the invocation context), and a JSON record's object again as `fields`, a
/// `flat_object` searchable by path: see `IndexDefinition` for why.
public struct TelemetryDocument: Sendable {
    /// What every document of one function carries.
    public struct Function: Sendable, Equatable {
        public var name: String
        public var version: String
        public var region: String
        /// What the environment tells without being asked: the CPU architecture, the memory
        /// size, the runtime (`AWS_EXECUTION_ENV` without its `AWS_Lambda_` prefix), the log group
        /// and the account (from the register answer); nil where it does not say.
        public var architecture: String?
        public var memorySizeMB: Int?
        public var runtime: String?
        public var logGroup: String?
        public var accountId: String?
        /// `SLUICE_LABELS`, in order: `labels.<key>` of every document.
        public var labels: [Label]

        public init(
            name: String, version: String, region: String, architecture: String? = nil, memorySizeMB: Int? = nil,
            runtime: String? = nil, logGroup: String? = nil, accountId: String? = nil, labels: [Label] = []
        ) {
            self.name = name
            self.version = version
            self.region = region
            self.architecture = architecture
            self.memorySizeMB = memorySizeMB
            self.runtime = runtime
            self.logGroup = logGroup
            self.accountId = accountId
            self.labels = labels
        }

        /// The architecture this binary was built for, as Lambda names it.
        public static var builtArchitecture: String {
            #if arch(arm64)
                "arm64"
            #else
                "x86_64"
            #endif
        }
    }

    /// One `key=value` of `SLUICE_LABELS`.
    public struct Label: Sendable, Equatable {
        public var key: String
        public var value: String

        public init(key: String, value: String) {
            self.key = key
            self.value = value
        }

        /// `team=payments,env=prod`: the labels, and one problem per item that is not `key=value`
        /// with a key of letters, digits, `_` or `-` (later items win over earlier ones).
        public static func parse(_ text: String) -> ([Label], [String]) {
            var labels: [Label] = []
            var problems: [String] = []
            for (position, item) in IngestRules.items(text).enumerated() {
                let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let key = parts.first?.trimmedOfSpaces ?? ""
                let valid = key.utf8.allSatisfy { byte in
                    byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") || (byte &- 48 < 10)
                        || ((byte | 0x20) &- 97 < 26)
                }
                guard parts.count == 2, !key.isEmpty, valid else {
                    problems.append(
                        "item \(position + 1), \"\(item)\", is not key=value with a key of letters, digits, _ or -")
                    continue
                }
                labels.removeAll { $0.key == key }
                labels.append(Label(key: key, value: parts[1].trimmedOfSpaces))
            }
            return (labels, problems)
        }
    }

    public let function: Function

    /// `,"functionName":…,"functionVersion":…,"region":…` and the environment's fields and the
    /// labels: the same for every document.
    public let functionFields: [UInt8]

    public init(function: Function) {
        self.function = function
        var fields: [UInt8] = []
        var texts = [
            ("functionName", function.name), ("functionVersion", function.version), ("region", function.region),
        ]
        for (name, value) in [
            ("architecture", function.architecture), ("runtime", function.runtime), ("logGroup", function.logGroup),
            ("accountId", function.accountId),
        ] {
            if let value, !value.isEmpty { texts.append((name, value)) }
        }
        for (name, value) in texts {
            fields += Array(",\"\(name)\":".utf8)
            JSONText.appendString(value, to: &fields)
        }
        if let memory = function.memorySizeMB { fields += Array(",\"memorySizeMB\":\(memory)".utf8) }
        if !function.labels.isEmpty {
            fields += Array(#","labels":{"#.utf8)
            for (position, label) in function.labels.enumerated() {
                if position > 0 { fields.append(UInt8(ascii: ",")) }
                JSONText.appendString(label.key, to: &fields)
                fields.append(UInt8(ascii: ":"))
                JSONText.appendString(label.value, to: &fields)
            }
            fields.append(UInt8(ascii: "}"))
        }
        self.functionFields = fields
    }

    /// Whether events of `type` are log lines (`function`, `extension`) rather than platform events.
    public static func isLog(_ type: String) -> Bool { type == "function" || type == "extension" }

    /// The document of `event` of a validated `delivery`. A log line gets `message` (the text of a
    /// string record, or a JSON record's `message`, as text) and `level` (a JSON record's string
    /// `level`); every record gets `requestId` when it is an object with a string there.
    /// A line's invocation context as the JSON string tokens its document gets: made once for a
    /// run of lines of one invocation, not once per line (a class: handing it to each line of the
    /// run is one retain, not a copy of its five buffers).
    public final class ContextTokens: Sendable {
        public let context: LineContext
        let requestId: [UInt8]?
        let traceId: [UInt8]?
        let phase: [UInt8]?

        public init(_ context: LineContext) {
            self.context = context
            requestId = context.requestId.map(JSONText.stringToken)
            traceId = context.traceId.map(JSONText.stringToken)
            phase = context.phase.map { TelemetryDocument.phaseTokens[$0] ?? JSONText.stringToken($0.rawValue) }
        }
    }

    /// The document of `event`, as the spool keeps it: a member that repeats the one before it (a
    /// text line's `record`, which is its `message`; a JSON line's `fields`, which is its `record`)
    /// is left out and described by the echo, so its bytes are stored once
    /// (`SpoolRecord.wholeDocument` is the document OpenSearch gets).
    public func encode(
        _ event: TelemetryDelivery.Event, of delivery: TelemetryDelivery, context: ContextTokens? = nil,
        rewritten: RewrittenLine? = nil
    ) -> (document: [UInt8], echo: SpoolRecord.Echo?) {
        let body = delivery.body
        var message: ArraySlice<UInt8>?
        var level: ArraySlice<UInt8>?
        if let rewritten {
            message = rewritten.message?[...]
            level = event.levelToken.map { body[$0] }
        } else if Self.isLog(event.type) {
            if event.recordKind == .string {
                message = body[event.record]
            } else if let range = event.message, let kind = event.messageKind {
                if kind == .string {
                    message = body[range]
                } else {
                    message = Self.textToken(range, of: delivery)[...]
                }
                level = event.levelToken.map { body[$0] }
            } else if event.recordKind != .object {
                message = Self.textToken(event.record, of: delivery)[...]
            }
        }
        let requestId = event.requestIdToken.map { body[$0] } ?? context?.requestId?[...]
        let isObjectLog = Self.isLog(event.type) && event.recordKind == .object
        // A text line's record is its message (the same string token, or the same rewritten bytes):
        // with no level between them, the message is the last member and the record its echo.
        let recordIsMessage =
            !isObjectLog && level == nil && message != nil
            && (rewritten.map { $0.message == $0.record } ?? (Self.isLog(event.type) && event.recordKind == .string))
        var recordStart = 0
        let document = encode(
            timeToken: body[event.timeToken], type: event.type, requestIdToken: requestId, messageToken: message,
            levelToken: level, traceIdToken: context?.traceId?[...], phaseToken: context?.phase?[...],
            // The record, its message, and the fields around them: one allocation.
            capacity: 320 + functionFields.count + event.record.count + (message?.count ?? 0),
            recordIsMessage: recordIsMessage
        ) { out in
            recordStart = out.count
            if let rewritten {
                out += rewritten.record
            } else {
                delivery.append(event.record, compacting: event.recordNeedsCompacting, to: &out)
            }
        }
        if recordIsMessage, let message {
            return (document, SpoolRecord.Echo(key: "record", valueStart: document.count - 1 - message.count))
        }
        // `fields` is the record again: the echo of the last member.
        return (document, isObjectLog ? SpoolRecord.Echo(key: "fields", valueStart: recordStart) : nil)
    }

    static let phaseTokens: [LineContext.Phase: [UInt8]] = [
        .initialization: JSONText.stringToken("init"), .invoke: JSONText.stringToken("invoke"),
        .shutdown: JSONText.stringToken("shutdown"),
    ]

    /// A JSON value that is not a string, as a string token of its compact JSON text.
    private static func textToken(_ range: Range<Int>, of delivery: TelemetryDelivery) -> [UInt8] {
        var text: [UInt8] = []
        delivery.append(range, compacting: true, to: &text)
        return JSONText.stringToken(String(decoding: text, as: UTF8.self))
    }

    /// The document, from JSON text the caller has validated:
    /// `timeToken`, `requestIdToken`, `messageToken` and `levelToken` are JSON string tokens (quotes
    /// included), and `appendRecord` writes the record's JSON value without a newline in it (and any member after it). This is
    /// the ingest path: nothing is decoded, a record goes into its document as the bytes it came in.
    /// With `recordIsMessage` the record is not written: the message ends the document, and the
    /// caller describes the record as its echo.
    public func encode(
        timeToken: ArraySlice<UInt8>, type: String, requestIdToken: ArraySlice<UInt8>?,
        messageToken: ArraySlice<UInt8>?, levelToken: ArraySlice<UInt8>?, traceIdToken: ArraySlice<UInt8>? = nil,
        phaseToken: ArraySlice<UInt8>? = nil, capacity: Int = 256, recordIsMessage: Bool = false,
        appendRecord: (inout [UInt8]) -> Void
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(capacity)
        out += Self.timestampKey
        out += timeToken
        out += Self.timeKey
        out += timeToken
        out += Self.typeKey
        JSONText.appendString(type, to: &out)
        out += functionFields
        if let requestIdToken {
            out += Self.requestIdKey
            out += requestIdToken
        }
        if let traceIdToken {
            out += Self.traceIdKey
            out += traceIdToken
        }
        if let phaseToken {
            out += Self.phaseKey
            out += phaseToken
        }
        if let messageToken {
            out += Self.messageKey
            out += messageToken
        }
        if let levelToken {
            out += Self.levelKey
            out += levelToken
        }
        if !recordIsMessage {
            out += Self.recordKey
            appendRecord(&out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static let timestampKey = Array(#"{"@timestamp":"#.utf8)
    private static let timeKey = Array(#","time":"#.utf8)
    private static let typeKey = Array(#","type":"#.utf8)
    private static let requestIdKey = Array(#","requestId":"#.utf8)
    private static let traceIdKey = Array(#","traceId":"#.utf8)
    private static let phaseKey = Array(#","phase":"#.utf8)
    private static let messageKey = Array(#","message":"#.utf8)
    private static let levelKey = Array(#","level":"#.utf8)
    private static let recordKey = Array(#","record":"#.utf8)
}
