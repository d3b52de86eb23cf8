public import Logging
import NIOCore
public import NIOHTTP1
import NIOSSL
import SluiceAWS
public import SluiceHTTP
import SluiceJSON
public import SluiceTime

/// Talks to OpenSearch: `_bulk` with per-document outcomes, index bootstrap, authentication.
///
/// Never throws for a failed request: every failure is a `OpenSearchError` value, so that a caller
/// cannot lose a batch by forgetting a `catch`.
public final class OpenSearchClient: Sendable {
    public let configuration: OpenSearchConfiguration
    let httpClient: HTTP1Client
    let credentials: CredentialSource
    let encoder: BulkEncoder
    let logger: Logger
    let base: String
    /// Where the CPU time of encoding, compressing and reading `_bulk` is counted.
    public let cpu: StageCPU

    /// The `filter_path` that keeps a bulk answer to what settling needs, percent-encoded as sent
    /// (so that what is signed is what goes on the wire).
    static let bulkFilter = "filter_path=errors%2Citems.%2A.status%2Citems.%2A.error.type%2Citems.%2A.error.reason"

    public init(
        configuration: OpenSearchConfiguration, httpClient: HTTP1Client, environment: [String: String],
        logger: Logger, cpu: StageCPU = StageCPU()
    ) {
        self.cpu = cpu
        self.configuration = configuration
        self.httpClient = httpClient
        self.credentials = CredentialSource(
            auth: configuration.auth, environment: environment, httpClient: httpClient)
        self.encoder = BulkEncoder(idPlacement: configuration.idPlacement, replaces: !configuration.dataStreams)
        self.logger = logger
        var base = configuration.endpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    /// An HTTP client set up as this configuration asks: the connect timeout, a small pool with a
    /// short idle timeout, TLS verification. The caller shuts it down.
    public static func makeHTTPClient(_ configuration: OpenSearchConfiguration) -> HTTP1Client {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !configuration.verifyTLS { tls.certificateVerification = .none }
        return HTTP1Client(
            settings: .init(
                connectTimeout: .milliseconds(configuration.connectTimeoutMilliseconds),
                idleTimeout: .milliseconds(configuration.idleTimeoutMilliseconds), maxIdlePerOrigin: 4, tls: tls))
    }

    /// An answer to a request.
    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let body: [UInt8]

        /// What a non-2xx answer means for the request as a whole.
        var failure: OpenSearchError {
            OpenSearchError.from(status: status, body: body, retryAfter: headers.first(name: "retry-after"))
        }
    }

    /// Sends `documents` as one `_bulk` request.
    public func bulk(_ documents: [BulkDocument]) async -> BulkResponse {
        guard !documents.isEmpty else { return .items([]) }
        let (payload, gzipped) = cpu.measure(.encode) {
            let compressed = configuration.compress ? encoder.encodeCompressed(documents) : nil
            return (compressed ?? encoder.encode(documents), compressed != nil)
        }
        switch await send(
            method: .POST, path: "/_bulk", query: Self.bulkFilter, payload: payload, gzipped: gzipped,
            contentType: "application/x-ndjson")
        {
        case .failure(let failure):
            return .failed(failure)
        case .success(let answer) where (200..<300).contains(answer.status):
            return cpu.measure(.answer) { BulkResponse.parse(answer.body, expected: documents.count) }
        case .success(let answer):
            return .failed(answer.failure)
        }
    }

    /// Creates an index (or, for data streams, an index template) with `definition` unless it
    /// exists. Returns nil on success, including "already exists".
    public func ensureIndex(_ name: String, definition: [UInt8]) async -> OpenSearchError? {
        let path: String
        let body: [UInt8]
        if configuration.dataStreams {
            path = "/_index_template/sluice-\(name)"
            body = Self.dataStreamTemplate(index: name, definition: definition)
        } else {
            path = "/\(name)"
            body = definition
        }
        switch await send(method: .PUT, path: path, query: "", body: body, contentType: "application/json") {
        case .failure(let failure):
            return failure
        case .success(let answer) where (200..<300).contains(answer.status):
            return nil
        case .success(let answer):
            let failure = answer.failure
            return failure.errorType == "resource_already_exists_exception" ? nil : failure
        }
    }

    /// What the cluster is (`GET /`). A failure worth waiting for (no answer, 429, 5xx) is returned
    /// as such; an answer that says no version is `.unknown`.
    public func clusterInfo() async -> Result<ClusterInfo, OpenSearchError> {
        switch await send(method: .GET, path: "/", query: "", body: [], contentType: "application/json") {
        case .failure(let failure):
            return .failure(failure)
        case .success(let answer) where (200..<300).contains(answer.status):
            return .success(ClusterInfo.parse(answer.body) ?? .unknown)
        case .success(let answer):
            let failure = answer.failure
            switch failure.code {
            case .throttled, .unavailable: return .failure(failure)
            default: return .success(.unknown)
            }
        }
    }

    /// `url` with any user and password in it hidden, for messages and logs.
    public static func redacted(_ url: String) -> String { HTTPTarget.redacted(url) }

    /// An index template that makes `index` a data stream with the settings and mappings of `definition`.
    static func dataStreamTemplate(index: String, definition: [UInt8]) -> [UInt8] {
        var out = Array(#"{"index_patterns":["#.utf8)
        JSONText.appendString(index, to: &out)
        out += Array(#"],"data_stream":{},"priority":200,"template":"#.utf8)
        out += definition
        out += Array("}".utf8)
        return out
    }

    /// One request with authentication, compression, a retry on a dead pooled connection and one
    /// credential refresh after 401/403.
    /// `headers` go out as well (OpenSearch Dashboards wants `osd-xsrf`); they are signed too.
    public func send(
        method: HTTPMethod, path: String, query: String, body: [UInt8], contentType: String,
        headers: [(name: String, value: String)] = []
    ) async -> Result<Answer, OpenSearchError> {
        let compressed = configuration.compress && body.count > 1024 ? Gzip.compress(body) : nil
        return await send(
            method: method, path: path, query: query, payload: compressed ?? body, gzipped: compressed != nil,
            contentType: contentType, extraHeaders: headers)
    }

    /// One request with `payload` as it goes on the wire (`gzipped`: already compressed).
    private func send(
        method: HTTPMethod, path: String, query: String, payload: [UInt8], gzipped: Bool, contentType: String,
        extraHeaders: [(name: String, value: String)] = []
    ) async -> Result<Answer, OpenSearchError> {
        let url = base + path + (query.isEmpty ? "" : "?" + query)
        var refreshed = false
        var reconnected = false
        while true {
            var headers: [(name: String, value: String)] = [
                ("Content-Type", contentType), ("Accept", "application/json"),
            ]
            if gzipped { headers.append(("Content-Encoding", "gzip")) }
            headers += extraHeaders
            do {
                headers += try await credentials.headers(
                    method: method.rawValue, url: url, headers: headers, body: payload)
            } catch {
                return .failure(
                    OpenSearchError(
                        .credentials, "credentials for OpenSearch: \(error)",
                        awsCode: (error as? AWSError)?.code.description))
            }
            let answer: HTTP1Answer
            do {
                answer = try await httpClient.execute(
                    method, url, headers: headers, body: payload,
                    deadline: .now() + .milliseconds(configuration.requestTimeoutMilliseconds), maxAnswerBytes: 64 << 20
                )
            } catch {
                // The client itself replaces a kept-alive connection closed before any answer; this one
                // more try covers a connection that broke during the answer, or a connect that failed once.
                // Not when the request was abandoned (cancelled): the caller gave up on it.
                if !reconnected && !error.isTimeout && error.kind != .badURL && error.kind != .tooLarge
                    && error.kind != .cancelled
                {
                    reconnected = true
                    continue
                }
                if error.kind == .tooLarge || error.kind == .malformed {
                    return .failure(OpenSearchError(.unreadable, "the answer from OpenSearch is unreadable: \(error)"))
                }
                return .failure(
                    OpenSearchError(.transport, "OpenSearch at \(Self.redacted(base)) did not answer: \(error)"))
            }
            let status = answer.status
            if (status == 401 || status == 403) && !refreshed && credentials.canRefresh {
                refreshed = true
                logger.notice(
                    "OpenSearch refused the credentials; reading them again", metadata: ["http.status": "\(status)"])
                await credentials.refresh()
                continue
            }
            return .success(Answer(status: status, headers: answer.headers, body: answer.body))
        }
    }
}
