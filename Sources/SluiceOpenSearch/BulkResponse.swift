import FoundationEssentials

/// What became of a `_bulk` request as a whole.
public enum BulkResponse: Sendable, Equatable {
    /// OpenSearch answered for every document, in the order sent.
    case items([BulkItemOutcome])
    /// No per-document answer: the request failed as a whole.
    case failed(OpenSearchError)

    /// Reads a 2xx `_bulk` answer for `expected` documents. A body that does not parse, or answers
    /// for a different number of documents (a truncated body), is `.unreadable`: nothing can be
    /// settled from it.
    static func parse(_ body: [UInt8], expected: Int) -> BulkResponse {
        struct Answer: Decodable {
            let items: [[String: Item]]?
        }
        struct Item: Decodable {
            let status: Int?
            let error: ItemError?
        }
        struct ItemError: Decodable {
            let type: String?
            let reason: String?
        }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: Data(body)) else {
            return .failed(OpenSearchError(.unreadable, "the _bulk answer is not the JSON OpenSearch sends"))
        }
        let items = answer.items ?? []
        guard items.count == expected else {
            return .failed(
                OpenSearchError(.unreadable, "the _bulk answer has \(items.count) items for \(expected) documents"))
        }
        var outcomes: [BulkItemOutcome] = []
        outcomes.reserveCapacity(expected)
        for item in items {
            guard let result = item.values.first, let status = result.status else {
                return .failed(OpenSearchError(.unreadable, "a _bulk answer item has no status"))
            }
            outcomes.append(
                BulkItemOutcome.classify(status: status, errorType: result.error?.type, reason: result.error?.reason))
        }
        return .items(outcomes)
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
    static func from(status: Int, body: [UInt8], retryAfter: String?) -> OpenSearchError {
        struct Answer: Decodable {
            struct Cause: Decodable {
                let type: String?
                let reason: String?
            }
            let error: Cause?
        }
        let cause = (try? JSONDecoder().decode(Answer.self, from: Data(body)))?.error
        let detail = [cause?.type, cause?.reason].compactMap { $0 }.joined(separator: ": ")
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
            errorType: cause?.type)
    }

    /// `Retry-After` in seconds (the HTTP-date form is rare from OpenSearch and ignored).
    static func parseRetryAfter(_ value: String) -> Int64? {
        guard let seconds = Double(value.trimmingSpaces), seconds >= 0 else { return nil }
        return Int64(seconds * 1000)
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}
