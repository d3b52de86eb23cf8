public import SluiceJSON
import SluiceTime

/// One POST of the Telemetry API, validated: a JSON array of objects, each with a `time` string in
/// ISO 8601, a `type` string and a `record`. Events point into `body` rather than copying it.
public struct TelemetryDelivery: Sendable {
    /// One event; its ranges index `TelemetryDelivery.body`.
    public struct Event: Sendable {
        /// The event's time, in milliseconds since the epoch.
        public let time: Int64
        /// The `time` string token, quotes included, as Lambda sent it.
        public let timeToken: Range<Int>
        public let type: String
        /// The record's JSON value.
        public let record: Range<Int>
        public let recordKind: ValueKind
        /// Whether `record` holds whitespace to drop when it is copied (pretty-printed JSON).
        public let recordNeedsCompacting: Bool
        /// `record.requestId` when the record is an object with a string there: a string token.
        public let requestIdToken: Range<Int>?
        /// `record.message` when the record is an object that has one (JSON log format).
        public let message: Range<Int>?
        public let messageKind: ValueKind?
        /// `record.level` when the record is an object with a string there: a string token.
        public let levelToken: Range<Int>?
    }

    /// What a JSON value is.
    public typealias ValueKind = JSONScanner.Kind

    public let body: [UInt8]
    public let events: [Event]

    /// Validates `body`; throws a `LambdaError` (`.malformedDelivery`) naming the first problem and
    /// its byte offset.
    public init(validating body: [UInt8]) throws(LambdaError) {
        self.body = body
        do {
            self.events = try Self.events(body)
        } catch {
            throw LambdaError(.malformedDelivery, error.message, offset: error.offset)
        }
    }

    private static func events(_ body: [UInt8]) throws(JSONSyntaxError) -> [Event] {
        try body.withUnsafeBufferPointer { (buffer) throws(JSONSyntaxError) -> [Event] in
            var scanner = JSONScanner(buffer)
            try scanner.expect(UInt8(ascii: "["), "a JSON array of telemetry events")
            var events: [Event] = []
            if !scanner.take(UInt8(ascii: "]")) {
                repeat {
                    events.append(try Self.event(&scanner, number: events.count))
                } while scanner.take(UInt8(ascii: ","))
                try scanner.expect(UInt8(ascii: "]"), "',' or ']' after event \(events.count - 1)")
            }
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw scanner.failure("unexpected data after the array") }
            return events
        }
    }

    private static func event(_ scanner: inout JSONScanner, number: Int) throws(JSONSyntaxError) -> Event {
        scanner.skipWhitespace()
        guard !scanner.atEnd, scanner.bytes[scanner.position] == UInt8(ascii: "{") else {
            throw scanner.failure("event \(number) is not a JSON object")
        }
        let start = scanner.position
        scanner.position += 1
        var time: Range<Int>?
        var type: Range<Int>?
        var record: (kind: JSONScanner.Kind, range: Range<Int>)?
        var recordWhitespace = false
        if !scanner.take(UInt8(ascii: "}")) {
            repeat {
                scanner.skipWhitespace()
                let keyStart = scanner.position
                try scanner.string()
                let key = keyStart..<scanner.position
                try scanner.expect(UInt8(ascii: ":"), "':' after an object key")
                scanner.skipWhitespace()
                scanner.sawWhitespace = false
                let value = try scanner.value(depth: 1)
                if scanner.token(key, is: "time") {
                    guard value.kind == .string else { throw Self.field("time", "a string", number, value.range) }
                    time = value.range
                } else if scanner.token(key, is: "type") {
                    guard value.kind == .string, value.range.count > 2 else {
                        throw Self.field("type", "a non-empty string", number, value.range)
                    }
                    type = value.range
                } else if scanner.token(key, is: "record") {
                    record = value
                    recordWhitespace = scanner.sawWhitespace
                }
            } while scanner.take(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "}"), "',' or '}' in event \(number)")
        }
        guard let time else { throw JSONSyntaxError(message: "event \(number) has no time", offset: start) }
        guard let type else { throw JSONSyntaxError(message: "event \(number) has no type", offset: start) }
        guard let record else { throw JSONSyntaxError(message: "event \(number) has no record", offset: start) }
        let buffer = scanner.bytes
        let timeBytes = UnsafeBufferPointer(rebasing: buffer[time.dropFirst().dropLast()])
        guard let milliseconds = UTCTime.parseISO8601(utf8: timeBytes) else {
            let timeText = String(decoding: timeBytes, as: UTF8.self)
            throw JSONSyntaxError(
                message: "event \(number): time \"\(timeText)\" is not an ISO 8601 time", offset: time.lowerBound)
        }
        var requestId: Range<Int>?
        var message: (kind: JSONScanner.Kind, range: Range<Int>)?
        var level: Range<Int>?
        if record.kind == .object {
            // Only top-level members matter; the record was validated above.
            JSONScanner.forEachMember(of: record.range, in: buffer) { key, value in
                if value.kind == .string && scanner.token(key, is: "requestId") {
                    requestId = value.range
                } else if scanner.token(key, is: "message") {
                    message = value
                } else if value.kind == .string && scanner.token(key, is: "level") {
                    level = value.range
                }
                return false
            }
        }
        return Event(
            time: milliseconds, timeToken: time,
            type: String(decoding: UnsafeBufferPointer(rebasing: buffer[type.dropFirst().dropLast()]), as: UTF8.self),
            record: record.range, recordKind: record.kind, recordNeedsCompacting: recordWhitespace,
            requestIdToken: requestId, message: message?.range, messageKind: message?.kind,
            levelToken: level)
    }

    private static func field(_ name: String, _ expected: String, _ number: Int, _ value: Range<Int>) -> JSONSyntaxError
    {
        JSONSyntaxError(message: "event \(number): \(name) must be \(expected)", offset: value.lowerBound)
    }

    /// Appends the JSON text at `range` to `out`, compacted when `compacting` (no newline may stay
    /// inside an NDJSON document).
    public func append(_ range: Range<Int>, compacting: Bool, to out: inout [UInt8]) {
        if compacting {
            body.withUnsafeBufferPointer { JSONScanner.appendCompacted($0, range, to: &out) }
        } else {
            out.append(contentsOf: body[range])
        }
    }
}
