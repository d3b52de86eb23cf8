import FoundationEssentials

/// What became of a `_bulk` request as a whole.
public enum BulkResponse: Sendable, Equatable {
    /// OpenSearch answered for every document, in the order sent.
    case items([BulkItemOutcome])
    /// No per-document answer: the request failed as a whole.
    case failed(BulkFailure)

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
            return .failed(BulkFailure(.unreadable, "the _bulk answer is not the JSON OpenSearch sends"))
        }
        let items = answer.items ?? []
        guard items.count == expected else {
            return .failed(
                BulkFailure(.unreadable, "the _bulk answer has \(items.count) items for \(expected) documents"))
        }
        var outcomes: [BulkItemOutcome] = []
        outcomes.reserveCapacity(expected)
        for item in items {
            guard let result = item.values.first, let status = result.status else {
                return .failed(BulkFailure(.unreadable, "a _bulk answer item has no status"))
            }
            outcomes.append(
                BulkItemOutcome.classify(status: status, errorType: result.error?.type, reason: result.error?.reason))
        }
        return .items(outcomes)
    }
}

/// Why a request failed as a whole.
public struct BulkFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// 413: split the batch.
        case tooLarge = "too_large"
        /// 429: back off, honouring Retry-After.
        case throttled
        /// 5xx: back off.
        case unavailable
        /// 401/403, after one credential refresh: back off.
        case unauthorized
        /// No answer: connection refused or reset, a timeout.
        case transport
        /// An answer that cannot be read (truncated, not JSON): re-send with the same ids.
        case unreadable
        /// Another 4xx for the whole request (an index that cannot be written, say).
        case rejected
    }

    public let kind: Kind
    public let message: String
    public var status: Int?
    /// `Retry-After`, in milliseconds.
    public var retryAfterMilliseconds: Int64?
    /// OpenSearch's error type, when it sent one.
    public var errorType: String?

    public init(
        _ kind: Kind, _ message: String, status: Int? = nil, retryAfterMilliseconds: Int64? = nil,
        errorType: String? = nil
    ) {
        self.kind = kind
        self.message = message
        self.status = status
        self.retryAfterMilliseconds = retryAfterMilliseconds
        self.errorType = errorType
    }

    public var description: String { message }

    /// The failure an HTTP answer other than 2xx stands for.
    static func from(status: Int, body: [UInt8], retryAfter: String?) -> BulkFailure {
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
        let kind: Kind
        switch status {
        case 413: kind = .tooLarge
        case 429: kind = .throttled
        case 401, 403: kind = .unauthorized
        case 500...: kind = .unavailable
        default: kind = .rejected
        }
        return BulkFailure(
            kind, message, status: status, retryAfterMilliseconds: retryAfter.flatMap(parseRetryAfter),
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
