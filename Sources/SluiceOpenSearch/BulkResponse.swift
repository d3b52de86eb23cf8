import SluiceJSON

/// What became of a `_bulk` request as a whole.
public enum BulkResponse: Sendable, Equatable {
    /// OpenSearch answered for every document, in the order sent.
    case items([BulkItemOutcome])
    /// No per-document answer: the request failed as a whole.
    case failed(OpenSearchError)

    /// Reads a 2xx `_bulk` answer for `expected` documents. A body that does not parse, or answers
    /// for a different number of documents (a truncated body), is `.unreadable`: nothing can be
    /// settled from it.
    public static func parse(_ body: [UInt8], expected: Int) -> BulkResponse {
        let read = body.withUnsafeBufferPointer { buffer -> Result<[BulkItemOutcome], OpenSearchError> in
            var reader = AnswerReader(scanner: JSONScanner(buffer))
            do {
                return .success(try reader.answer(expected: expected))
            } catch let error as OpenSearchError {
                return .failure(error)
            } catch {
                return .failure(OpenSearchError(.unreadable, "the _bulk answer is not the JSON OpenSearch sends"))
            }
        }
        switch read {
        case .success(let outcomes) where outcomes.count == expected: return .items(outcomes)
        case .success(let outcomes):
            return .failed(
                OpenSearchError(.unreadable, "the _bulk answer has \(outcomes.count) items for \(expected) documents"))
        case .failure(let error): return .failed(error)
        }
    }

    /// One pass over a `_bulk` answer with the strict scanner: the whole text is validated, and
    /// only each item's `status` and `error.type` / `error.reason` are read (a thousand items cost a
    /// few microseconds each; JSONDecoder built every value and cost the shipper 7 % of its CPU).
    /// What it accepts is what a `Decodable` of `{"items": [{"<action>": {"status": Int,
    /// "error": {"type": String, "reason": String}}}]}` accepted: `items`, `error` and its fields may
    /// be missing or null, anything else is refused.
    private struct AnswerReader: ~Copyable {
        var scanner: JSONScanner

        static let noStatus = OpenSearchError(.unreadable, "a _bulk answer item has no status")

        mutating func answer(expected: Int) throws -> [BulkItemOutcome] {
            var outcomes: [BulkItemOutcome] = []
            try object(depth: 0) { reader, key in
                guard reader.scanner.token(key, is: "items") else { return false }
                guard !(try reader.null()) else { return true }
                outcomes.reserveCapacity(expected)
                try reader.array(depth: 1) { reader in outcomes.append(try reader.item()) }
                return true
            }
            scanner.skipWhitespace()
            guard scanner.atEnd else { throw scanner.failure("text after the answer") }
            return outcomes
        }

        /// `{"<action>": {"status": …, "error": {…}}}`: the first member is the action's result.
        mutating func item() throws -> BulkItemOutcome {
            var outcome: BulkItemOutcome?
            var first = true
            try object(depth: 2) { reader, _ in
                defer { first = false }
                guard first else { return false }
                var status: Int?
                var errorType: String?
                var reason: String?
                try reader.object(depth: 3) { reader, key in
                    if reader.scanner.token(key, is: "status") {
                        status = try reader.integer()
                    } else if reader.scanner.token(key, is: "error") {
                        guard !(try reader.null()) else { return true }
                        try reader.object(depth: 4) { reader, key in
                            if reader.scanner.token(key, is: "type") {
                                errorType = try reader.string()
                            } else if reader.scanner.token(key, is: "reason") {
                                reason = try reader.string()
                            } else {
                                return false
                            }
                            return true
                        }
                    } else {
                        return false
                    }
                    return true
                }
                guard let status else { throw Self.noStatus }
                outcome = BulkItemOutcome.classify(status: status, errorType: errorType, reason: reason)
                return true
            }
            guard let outcome else { throw Self.noStatus }
            return outcome
        }

        /// An object's members: `member` reads the value of the key at the range it is given and
        /// returns true, or returns false to have the value skipped (and validated).
        mutating func object(
            depth: Int, _ member: (inout AnswerReader, Range<Int>) throws -> Bool
        ) throws {
            try scanner.expect(UInt8(ascii: "{"), "an object")
            guard !scanner.take(UInt8(ascii: "}")) else { return }
            repeat {
                scanner.skipWhitespace()
                let start = scanner.position
                try scanner.string()
                let key = start..<scanner.position
                try scanner.expect(UInt8(ascii: ":"), "':' after an object key")
                if !(try member(&self, key)) { _ = try scanner.value(depth: depth + 1) }
            } while scanner.take(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "}"), "',' or '}' in an object")
        }

        mutating func array(depth: Int, _ element: (inout AnswerReader) throws -> Void) throws {
            try scanner.expect(UInt8(ascii: "["), "an array")
            guard !scanner.take(UInt8(ascii: "]")) else { return }
            repeat {
                try element(&self)
            } while scanner.take(UInt8(ascii: ","))
            try scanner.expect(UInt8(ascii: "]"), "',' or ']' in an array")
        }

        /// Consumes a `null` if one is next.
        mutating func null() throws -> Bool {
            scanner.skipWhitespace()
            guard scanner.position < scanner.bytes.count, scanner.bytes[scanner.position] == UInt8(ascii: "n") else {
                return false
            }
            _ = try scanner.value()
            return true
        }

        /// A whole number, or null.
        mutating func integer() throws -> Int? {
            guard !(try null()) else { return nil }
            let value = try scanner.value()
            guard value.kind == .number,
                let number = Int(
                    String(decoding: UnsafeBufferPointer(rebasing: scanner.bytes[value.range]), as: UTF8.self))
            else { throw scanner.failure("expected a whole number") }
            return number
        }

        /// A string's text, or null.
        mutating func string() throws -> String? {
            guard !(try null()) else { return nil }
            let value = try scanner.value()
            guard value.kind == .string else { throw scanner.failure("expected a string") }
            return JSONReader.decodeString(scanner.bytes, value.range)
        }
    }
}

/// An error from OpenSearch or on the way to it: why a request failed as a whole, with a stable
/// code, OpenSearch's own error type and `Retry-After` when it sent them, and the AWS error code
/// when the credentials could not be had.
public struct OpenSearchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable kind of failure, fit for a counter label or a `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Kind: String, Sendable {
            case tooLarge = "too_large"
            case throttled
            case unavailable
            case unauthorized
            case credentials
            case transport
            case unreadable
            case rejected
        }
        private let kind: Kind

        /// 413: split the batch.
        public static let tooLarge = Code(kind: .tooLarge)
        /// 429: back off, honouring Retry-After.
        public static let throttled = Code(kind: .throttled)
        /// 5xx: back off.
        public static let unavailable = Code(kind: .unavailable)
        /// 401/403, after one credential refresh: back off.
        public static let unauthorized = Code(kind: .unauthorized)
        /// No credentials could be had (the secret, or the AWS keys for SigV4): `awsCode` says why.
        public static let credentials = Code(kind: .credentials)
        /// No answer: connection refused or reset, a timeout.
        public static let transport = Code(kind: .transport)
        /// An answer that cannot be read (truncated, not JSON): re-send with the same ids.
        public static let unreadable = Code(kind: .unreadable)
        /// Another 4xx for the whole request (an index that cannot be written, say).
        public static let rejected = Code(kind: .rejected)

        public var description: String { kind.rawValue }
    }

    public let code: Code
    /// One line that says what went wrong; never a secret.
    public let message: String
    public var status: Int?
    /// `Retry-After`, in milliseconds.
    public var retryAfterMilliseconds: Int64?
    /// OpenSearch's error type, when it sent one.
    public var errorType: String?
    /// The AWS error code behind a `.credentials` failure.
    public var awsCode: String?
    /// Where the error was raised.
    public let location: String

    public init(
        _ code: Code, _ message: String, status: Int? = nil, retryAfterMilliseconds: Int64? = nil,
        errorType: String? = nil, awsCode: String? = nil, file: StaticString = #fileID, line: UInt = #line
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.errorType = errorType
        self.awsCode = awsCode
        self.location = "\(file):\(line)"
    }

    public var description: String { message }

    /// Equal in what they say; where they were raised does not count.
    public static func == (left: OpenSearchError, right: OpenSearchError) -> Bool {
        left.code == right.code && left.message == right.message && left.status == right.status
            && left.retryAfterMilliseconds == right.retryAfterMilliseconds && left.errorType == right.errorType
            && left.awsCode == right.awsCode
    }

    /// The failure an HTTP answer other than 2xx stands for.
    public static func from(status: Int, body: [UInt8], retryAfter: String?) -> OpenSearchError {
        let answer = JSONReader.document(body)
        let cause = answer.flatMap { $0.reader.member("error", of: $0.root) }
        let errorType = answer.flatMap { $0.reader.string("type", of: cause) }
        let reason = answer.flatMap { $0.reader.string("reason", of: cause) }
        let detail = [errorType, reason].compactMap { $0 }.joined(separator: ": ")
        let message = "HTTP \(status)" + (detail.isEmpty ? "" : ": \(detail)")
        let code: Code
        switch status {
        case 413: code = .tooLarge
        case 429: code = .throttled
        case 401, 403: code = .unauthorized
        case 500...: code = .unavailable
        default: code = .rejected
        }
        return OpenSearchError(
            code, message, status: status, retryAfterMilliseconds: retryAfter.flatMap(parseRetryAfter),
            errorType: errorType)
    }

    /// `Retry-After` in seconds (the HTTP-date form is rare from OpenSearch and ignored), at most a
    /// day: a larger or infinite value (from a proxy, say) trapped converting to milliseconds.
    public static func parseRetryAfter(_ value: String) -> Int64? {
        guard let seconds = Double(value.trimmingSpaces), seconds.isFinite, seconds >= 0 else { return nil }
        return Int64(min(seconds, maxRetryAfterSeconds) * 1000)
    }

    /// The longest `Retry-After` honoured.
    static let maxRetryAfterSeconds: Double = 86_400
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
