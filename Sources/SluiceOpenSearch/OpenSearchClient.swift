public import AsyncHTTPClient
import FoundationEssentials
public import Logging
import NIOCore
public import NIOHTTP1
import NIOSSL
import SluiceAWS
import SluiceJSON
import SluiceTime

/// Talks to OpenSearch: `_bulk` with per-document outcomes, index bootstrap, authentication.
///
/// Never throws for a failed request: every failure is a `OpenSearchError` value, so that a caller
/// cannot lose a batch by forgetting a `catch`.
public final class OpenSearchClient: Sendable {
    public let configuration: OpenSearchConfiguration
    let httpClient: HTTPClient
    let credentials: CredentialSource
    let encoder: BulkEncoder
    let logger: Logger
    let base: String

    /// The `filter_path` that keeps a bulk answer to what settling needs, percent-encoded as sent
    /// (so that what is signed is what goes on the wire).
    static let bulkFilter = "filter_path=errors%2Citems.%2A.status%2Citems.%2A.error.type%2Citems.%2A.error.reason"

    public init(
        configuration: OpenSearchConfiguration, httpClient: HTTPClient, environment: [String: String],
        logger: Logger
    ) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.credentials = CredentialSource(
            auth: configuration.auth, environment: environment, httpClient: httpClient)
        self.encoder = BulkEncoder(idPlacement: configuration.idPlacement)
        self.logger = logger
        var base = configuration.endpoint
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
    }

    /// An HTTP client set up as this configuration asks: timeouts, a small pool with a short idle
    /// timeout, TLS verification. The caller shuts it down.
    public static func makeHTTPClient(_ configuration: OpenSearchConfiguration) -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if !configuration.verifyTLS { tls.certificateVerification = .none }
        var settings = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(
                connect: .milliseconds(configuration.connectTimeoutMilliseconds),
                read: .milliseconds(configuration.requestTimeoutMilliseconds)),
            connectionPool: .init(idleTimeout: .milliseconds(configuration.idleTimeoutMilliseconds)),
            decompression: .enabled(limit: .ratio(100)))
        settings.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 4
        settings.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: settings)
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
        let compressed = configuration.compress ? encoder.encodeCompressed(documents) : nil
        switch await send(
            method: .POST, path: "/_bulk", query: Self.bulkFilter, payload: compressed ?? encoder.encode(documents),
            gzipped: compressed != nil, contentType: "application/x-ndjson")
        {
        case .failure(let failure):
            return .failed(failure)
        case .success(let answer) where (200..<300).contains(answer.status):
            return BulkResponse.parse(answer.body, expected: documents.count)
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
    public func send(
        method: HTTPMethod, path: String, query: String, body: [UInt8], contentType: String
    ) async -> Result<Answer, OpenSearchError> {
        let compressed = configuration.compress && body.count > 1024 ? Gzip.compress(body) : nil
        return await send(
            method: method, path: path, query: query, payload: compressed ?? body, gzipped: compressed != nil,
            contentType: contentType)
    }

    /// One request with `payload` as it goes on the wire (`gzipped`: already compressed).
    private func send(
        method: HTTPMethod, path: String, query: String, payload: [UInt8], gzipped: Bool, contentType: String
    ) async -> Result<Answer, OpenSearchError> {
        let url = base + path + (query.isEmpty ? "" : "?" + query)
        var refreshed = false
        var reconnected = false
        while true {
            var headers: [(name: String, value: String)] = [
                ("Content-Type", contentType), ("Accept", "application/json"),
            ]
            if gzipped { headers.append(("Content-Encoding", "gzip")) }
            do {
                headers += try await credentials.headers(
                    method: method.rawValue, url: url, headers: headers, body: payload)
            } catch {
                return .failure(
                    OpenSearchError(
                        .credentials, "credentials for OpenSearch: \(error)",
                        awsCode: (error as? AWSError)?.code.description))
            }
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: payload))

            let response: HTTPClientResponse
            do {
                response = try await httpClient.execute(
                    request, timeout: .milliseconds(configuration.requestTimeoutMilliseconds))
            } catch {
                // A pooled connection that died during a freeze fails at once: one more try, on a new one.
                if !reconnected && !Self.isTimeout(error) {
                    reconnected = true
                    continue
                }
                return .failure(
                    OpenSearchError(.transport, "OpenSearch at \(base) did not answer: \(Self.describe(error))"))
            }
            let data: ByteBuffer
            do {
                data = try await response.body.collect(upTo: 64 << 20)
            } catch {
                return .failure(
                    OpenSearchError(
                        .unreadable, "the answer from OpenSearch broke off: \(Self.describe(error))",
                        status: Int(response.status.code)))
            }
            let status = Int(response.status.code)
            if (status == 401 || status == 403) && !refreshed && credentials.canRefresh {
                refreshed = true
                logger.notice(
                    "OpenSearch refused the credentials; reading them again", metadata: ["http.status": "\(status)"])
                await credentials.refresh()
                continue
            }
            return .success(Answer(status: status, headers: response.headers, body: Array(buffer: data)))
        }
    }

    static func isTimeout(_ error: any Error) -> Bool {
        if let error = error as? HTTPClientError {
            return error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        }
        return false
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return error.shortDescription }
        return "\(error)"
    }
}
