import SluiceOpenSearch

/// `error-answer`: an HTTP answer other than 2xx from OpenSearch (status, `Retry-After`, body).
///
/// The failure's code follows from the status alone; its message starts with `HTTP <status>`; its
/// error type is the body's `error.type` where the reference reader finds one unambiguously; a
/// `Retry-After` becomes a wait that is never negative.
enum ErrorAnswerOracle {
    static func check(_ bytes: [UInt8]) -> [String] {
        var input = FuzzInput(bytes)
        let status = 300 + input.number(bytes: 2) % 300
        let header = input.field()
        let retryAfter = header.isEmpty ? nil : String(decoding: header, as: UTF8.self)
        let body = input.rest()
        let failure = OpenSearchError.from(status: status, body: body, retryAfter: retryAfter)
        var problems: [String] = []
        let code: OpenSearchError.Code =
            switch status {
            case 413: .tooLarge
            case 429: .throttled
            case 401, 403: .unauthorized
            case 500...: .unavailable
            default: .rejected
            }
        if failure.code != code { problems.append("HTTP \(status) became \(failure.code), not \(code)") }
        if failure.status != status { problems.append("the failure says status \(String(describing: failure.status))") }
        if !failure.message.hasPrefix("HTTP \(status)") {
            problems.append("message \(failure.message.debugDescription)")
        }
        if let wait = failure.retryAfterMilliseconds, wait < 0 { problems.append("a negative Retry-After: \(wait)") }
        if let reference = ReferenceJSON.parse(body), !reference.hasDuplicateKeys,
            let cause = reference.member("error"), case .object = cause, !cause.hasDuplicateKeys,
            let type = cause.member("type")?.text, cause.member("reason").map({ $0.text != nil }) ?? true
        {
            if failure.errorType != type {
                problems.append("error type \(String(describing: failure.errorType)) where the body says \(type)")
            }
        }
        return problems
    }
}
