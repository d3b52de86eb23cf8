/// What OpenSearch said about one document of a `_bulk` request.
public enum BulkItemOutcome: Sendable, Equatable {
    /// Indexed now (2xx).
    case indexed
    /// Already there under the same id (409 `version_conflict_engine_exception` on a `create`):
    /// delivered earlier, by a request whose answer was lost.
    case duplicate
    /// Refused for now (429, 5xx, `es_rejected_execution_exception`): send this document again.
    case retry(status: Int, reason: String)
    /// Refused for good (a mapping or parse error, any other 4xx): a dead letter.
    case rejected(status: Int, type: String?, reason: String)

    /// Classifies one item of a bulk response.
    public static func classify(status: Int, errorType: String?, reason: String?) -> BulkItemOutcome {
        switch status {
        case 200..<300:
            return .indexed
        case 409 where errorType == nil || errorType == "version_conflict_engine_exception":
            return .duplicate
        case _ where errorType == "es_rejected_execution_exception" || status == 429 || status >= 500:
            return .retry(status: status, reason: describe(status, errorType, reason))
        default:
            return .rejected(status: status, type: errorType, reason: reason ?? "HTTP \(status)")
        }
    }

    static func describe(_ status: Int, _ type: String?, _ reason: String?) -> String {
        ["HTTP \(status)", type, reason].compactMap { $0 }.joined(separator: ": ")
    }
}
