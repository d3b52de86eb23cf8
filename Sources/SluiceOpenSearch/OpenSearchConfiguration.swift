/// Where OpenSearch is and how to talk to it. Every field has the extension's default.
public struct OpenSearchConfiguration: Sendable {
    /// Base URL, optionally with a path prefix (`https://proxy.example/opensearch`).
    public var endpoint: String
    public var auth: OpenSearchAuth
    /// Verify the server's TLS certificate. Turn off only for self-signed test clusters.
    public var verifyTLS: Bool
    public var connectTimeoutMilliseconds: Int64
    /// How long a request may wait for its answer.
    public var requestTimeoutMilliseconds: Int64
    /// How long a pooled connection may sit idle. Short: sockets die across a freeze, and a dead
    /// pooled connection costs a retry.
    public var idleTimeoutMilliseconds: Int64
    /// gzip request bodies.
    public var compress: Bool
    /// Largest uncompressed `_bulk` body, in bytes.
    public var maxBatchBytes: Int
    /// Most documents per `_bulk` request.
    public var maxBatchCount: Int
    /// Where document ids go: `_id` (dedup by OpenSearch) or a field, for Serverless collections
    /// that choose ids themselves.
    public var idPlacement: BulkEncoder.IDPlacement
    /// Indices are data streams: bootstrap writes an index template with `data_stream` instead of
    /// creating the index.
    public var dataStreams: Bool
    public var retry: RetryPolicy

    public init(
        endpoint: String = "http://127.0.0.1:9200",
        auth: OpenSearchAuth = .none,
        verifyTLS: Bool = true,
        connectTimeoutMilliseconds: Int64 = 2_000,
        requestTimeoutMilliseconds: Int64 = 10_000,
        idleTimeoutMilliseconds: Int64 = 2_000,
        compress: Bool = true,
        maxBatchBytes: Int = 5 << 20,
        maxBatchCount: Int = 5_000,
        idPlacement: BulkEncoder.IDPlacement = .documentID,
        dataStreams: Bool = false,
        retry: RetryPolicy = RetryPolicy()
    ) {
        self.endpoint = endpoint
        self.auth = auth
        self.verifyTLS = verifyTLS
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.idleTimeoutMilliseconds = idleTimeoutMilliseconds
        self.compress = compress
        self.maxBatchBytes = maxBatchBytes
        self.maxBatchCount = maxBatchCount
        self.idPlacement = idPlacement
        self.dataStreams = dataStreams
        self.retry = retry
    }
}

/// How requests prove who sends them.
public enum OpenSearchAuth: Sendable, Equatable, CustomStringConvertible {
    case none
    /// HTTP basic, with credentials given directly (from the environment).
    case basic(username: String, password: String)
    /// HTTP basic, with `{username, password}` read from this Secrets Manager secret, and read
    /// again once after a 401/403 (the secret may have been rotated).
    case secret(id: String)
    /// SigV4 with the Lambda credentials: service `es` (OpenSearch Service) or `aoss` (Serverless).
    case sigV4(service: String, region: String)

    /// Never a password.
    public var description: String {
        switch self {
        case .none: "none"
        case .basic(let username, _): "basic (user \(username))"
        case .secret(let id): "basic from secret \(id)"
        case .sigV4(let service, let region): "SigV4 (\(service), \(region))"
        }
    }
}
