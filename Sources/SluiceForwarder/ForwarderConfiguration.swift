public import SluiceOpenSearch
public import SluiceSpool

/// Everything the extension is told by its environment: the AWS sample's variables (`URL`,
/// `AUTH_SECRET`, `PLATFORM_INDEX`, `FUNCTION_INDEX`, `EXTENSION_INDEX`, `DISPATCH_MIN_BATCH_SIZE`)
/// and `SLUICE_*` for the rest. `Variable.all` documents every key with its default.
public struct ForwarderConfiguration: Sendable {
    /// When the shipper may hold the platform's `/next`.
    public enum FlushPolicy: Sendable, Equatable {
        /// After an invoke, hold `/next` until the spool is drained or the budget is spent.
        case end
        /// Never hold `/next`; ship while the environment is thawed.
        case background
        /// Hold `/next` at most once every this many seconds.
        case periodic(seconds: Int)
    }

    /// What a configuration error does.
    public enum FailMode: String, Sendable, Equatable {
        /// Log it and keep answering the platform without shipping: telemetry never breaks the function.
        case open
        /// Report `init/error`, which fails the function's init.
        case closed
    }

    public var openSearch: OpenSearchConfiguration
    public var spool: SpoolConfiguration
    public var platformIndex: IndexPattern
    public var functionIndex: IndexPattern
    public var extensionIndex: IndexPattern
    /// Hold `/next` (policy `end`) only when at least this many events wait.
    public var dispatchMinBatchSize: Int
    public var flushPolicy: FlushPolicy
    /// How long `end` may hold `/next`, in milliseconds.
    public var flushBudgetMilliseconds: Int64
    /// The Telemetry API schema to subscribe with.
    public var schemaVersion: String
    public var bufferMaxItems: Int
    public var bufferMaxBytes: Int
    public var bufferTimeoutMilliseconds: Int
    public var logLevel: String
    public var failMode: FailMode

    /// One documented environment variable.
    public struct Variable: Sendable {
        public let name: String
        public let defaultValue: String
        public let meaning: String
    }

    /// Every variable read, with its default and meaning (the README's table is made from this).
    public static let variables: [Variable] = [
        .init(name: "URL", defaultValue: "(required)", meaning: "OpenSearch endpoint, optionally with a path prefix"),
        .init(
            name: "AUTH_SECRET", defaultValue: "(none)",
            meaning: "Secrets Manager secret id/ARN holding {username, password}"),
        .init(
            name: "PLATFORM_INDEX", defaultValue: "lambda-platform",
            meaning: "index for platform.* events; may hold %Y %m %d %H"),
        .init(name: "FUNCTION_INDEX", defaultValue: "lambda-function", meaning: "index for function log lines"),
        .init(name: "EXTENSION_INDEX", defaultValue: "lambda-extension", meaning: "index for extension log lines"),
        .init(
            name: "DISPATCH_MIN_BATCH_SIZE", defaultValue: "1",
            meaning: "hold /next (policy end) only when at least this many events wait"),
        .init(
            name: "SLUICE_AUTH", defaultValue: "(auto)",
            meaning:
                "none, basic, secret or sigv4; auto: secret with AUTH_SECRET, basic with SLUICE_USERNAME, else none"),
        .init(name: "SLUICE_USERNAME", defaultValue: "(none)", meaning: "basic auth user (with SLUICE_PASSWORD)"),
        .init(name: "SLUICE_PASSWORD", defaultValue: "(none)", meaning: "basic auth password"),
        .init(
            name: "SLUICE_SIGV4_SERVICE", defaultValue: "es", meaning: "es (OpenSearch Service) or aoss (Serverless)"),
        .init(name: "SLUICE_SIGV4_REGION", defaultValue: "$AWS_REGION", meaning: "region to sign for"),
        .init(
            name: "SLUICE_ID_FIELD", defaultValue: "(none)",
            meaning: "put our id in this field and let the server choose _id (Serverless time series)"),
        .init(
            name: "SLUICE_DATA_STREAMS", defaultValue: "false",
            meaning: "indices are data streams (bootstrap writes index templates)"),
        .init(
            name: "SLUICE_TLS_VERIFY", defaultValue: "true",
            meaning: "verify the server certificate; false only for self-signed test clusters"),
        .init(name: "SLUICE_COMPRESSION", defaultValue: "gzip", meaning: "gzip or none for request bodies"),
        .init(name: "SLUICE_BATCH_MAX_BYTES", defaultValue: "5MiB", meaning: "largest uncompressed _bulk body"),
        .init(name: "SLUICE_BATCH_MAX_DOCS", defaultValue: "5000", meaning: "most documents per _bulk request"),
        .init(name: "SLUICE_REQUEST_TIMEOUT_MS", defaultValue: "10000", meaning: "how long one request may take"),
        .init(name: "SLUICE_RETRY_BASE_MS", defaultValue: "500", meaning: "first backoff ceiling"),
        .init(name: "SLUICE_RETRY_CAP_MS", defaultValue: "60000", meaning: "largest backoff"),
        .init(
            name: "SLUICE_RETRY_MAX_ATTEMPTS", defaultValue: "10",
            meaning: "attempts before a record becomes a dead letter"),
        .init(
            name: "SLUICE_RETRY_MAX_AGE_S", defaultValue: "21600",
            meaning: "age before a failing record becomes a dead letter"),
        .init(name: "SLUICE_SPOOL_PATH", defaultValue: SpoolConfiguration.defaultPath, meaning: "the spool file"),
        .init(name: "SLUICE_SPOOL_CAP", defaultValue: "64MiB", meaning: "document bytes the spool keeps"),
        .init(name: "SLUICE_SPOOL_OVERFLOW", defaultValue: "drop-oldest", meaning: "drop-oldest or reject-new"),
        .init(name: "SLUICE_SPOOL_MAX_FILE_BYTES", defaultValue: "(none)", meaning: "hard limit on the spool file"),
        .init(name: "SLUICE_FLUSH", defaultValue: "background", meaning: "background, end or periodic:N"),
        .init(
            name: "SLUICE_FLUSH_BUDGET_MS", defaultValue: "100",
            meaning: "the most a hold of policy end may add to an invocation"),
        .init(
            name: "SLUICE_SCHEMA_VERSION", defaultValue: "2022-12-13",
            meaning: "Telemetry API schema: 2022-07-01, 2022-12-13 or 2025-01-29"),
        .init(name: "SLUICE_BUFFER_MAX_ITEMS", defaultValue: "1000", meaning: "Telemetry API buffering, 1000-10000"),
        .init(
            name: "SLUICE_BUFFER_MAX_BYTES", defaultValue: "262144", meaning: "Telemetry API buffering, 262144-1048576"),
        .init(name: "SLUICE_BUFFER_TIMEOUT_MS", defaultValue: "1000", meaning: "Telemetry API buffering, 25-30000"),
        .init(
            name: "SLUICE_LOG_LEVEL", defaultValue: "info",
            meaning: "trace, debug, info, notice, warning, error or critical"),
        .init(
            name: "SLUICE_FAIL_MODE", defaultValue: "open",
            meaning: "open: log configuration errors and keep the function running; closed: init/error"),
    ]

    /// Reads and validates the environment. Returns the configuration built from every valid value
    /// (defaults for the rest) and one line per problem, naming the variable and the fix.
    public static func fromEnvironment(_ environment: [String: String]) -> (ForwarderConfiguration, [String]) {
        var reader = EnvironmentReader(environment: environment)
        let url = reader.string("URL")
        if url == nil {
            reader.problem(
                "URL is not set: set it to your OpenSearch endpoint, e.g. https://search-logs-abc123.eu-west-1.es.amazonaws.com"
            )
        } else if let url, !(url.hasPrefix("https://") || url.hasPrefix("http://")) {
            reader.problem(
                "URL=\(url) is not an http(s) URL: set it to e.g. https://search-logs-abc123.eu-west-1.es.amazonaws.com"
            )
        }
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"

        var auth = OpenSearchAuth.none
        let secret = reader.string("AUTH_SECRET")
        let username = reader.string("SLUICE_USERNAME")
        let password = reader.string("SLUICE_PASSWORD")
        let mode = reader.choice(
            "SLUICE_AUTH", ["none", "basic", "secret", "sigv4"],
            default: secret != nil ? "secret" : username != nil ? "basic" : "none")
        switch mode {
        case "secret":
            if let secret {
                auth = .secret(id: secret)
            } else {
                reader.problem("SLUICE_AUTH=secret needs AUTH_SECRET: set it to the secret's name or ARN")
            }
        case "basic":
            if let username, let password {
                auth = .basic(username: username, password: password)
            } else {
                reader.problem("SLUICE_AUTH=basic needs SLUICE_USERNAME and SLUICE_PASSWORD: set both")
            }
        case "sigv4":
            let service = reader.choice("SLUICE_SIGV4_SERVICE", ["es", "aoss"], default: "es")
            auth = .sigV4(service: service, region: reader.string("SLUICE_SIGV4_REGION") ?? region)
        default:
            break
        }

        let retry = RetryPolicy(
            baseMilliseconds: Int64(reader.integer("SLUICE_RETRY_BASE_MS", default: 500, in: 1...600_000)),
            capMilliseconds: Int64(reader.integer("SLUICE_RETRY_CAP_MS", default: 60_000, in: 1...3_600_000)),
            maxAttempts: reader.integer("SLUICE_RETRY_MAX_ATTEMPTS", default: 10, in: 1...1_000),
            maxAgeMilliseconds: Int64(reader.integer("SLUICE_RETRY_MAX_AGE_S", default: 21_600, in: 1...604_800)) * 1000
        )
        let idField = reader.string("SLUICE_ID_FIELD")
        let openSearch = OpenSearchConfiguration(
            endpoint: url ?? "http://127.0.0.1:9200",
            auth: auth,
            verifyTLS: reader.boolean("SLUICE_TLS_VERIFY", default: true),
            requestTimeoutMilliseconds: Int64(
                reader.integer("SLUICE_REQUEST_TIMEOUT_MS", default: 10_000, in: 100...120_000)),
            compress: reader.choice("SLUICE_COMPRESSION", ["gzip", "none"], default: "gzip") == "gzip",
            maxBatchBytes: reader.bytes("SLUICE_BATCH_MAX_BYTES", default: 5 << 20, in: 1024...(100 << 20)),
            maxBatchCount: reader.integer("SLUICE_BATCH_MAX_DOCS", default: 5_000, in: 1...100_000),
            idPlacement: idField.map { .field($0) } ?? .documentID,
            dataStreams: reader.boolean("SLUICE_DATA_STREAMS", default: false),
            retry: retry)

        let overflow = reader.choice(
            "SLUICE_SPOOL_OVERFLOW", OverflowPolicy.allCases.map(\.rawValue),
            default: OverflowPolicy.dropOldest.rawValue)
        let spool = SpoolConfiguration(
            path: reader.string("SLUICE_SPOOL_PATH") ?? SpoolConfiguration.defaultPath,
            capBytes: reader.bytes("SLUICE_SPOOL_CAP", default: 64 << 20, in: (1 << 20)...(10 << 30)),
            overflowPolicy: OverflowPolicy(rawValue: overflow) ?? .dropOldest,
            maxFileBytes: reader.optionalBytes("SLUICE_SPOOL_MAX_FILE_BYTES", in: (1 << 20)...(10 << 30)))

        func index(_ name: String, _ fallback: String) -> IndexPattern {
            let pattern = IndexPattern(reader.string(name) ?? fallback)
            if let problem = pattern.problem {
                reader.problem("\(name)=\(pattern.pattern) cannot name an OpenSearch index: \(problem)")
                return IndexPattern(fallback)
            }
            return pattern
        }

        // `background` by default: measured in the simulator it ships everything with the least
        // added time (README, "Flush policy"); `end` suits functions invoked too rarely to keep up.
        var flush = FlushPolicy.background
        switch reader.string("SLUICE_FLUSH") ?? "background" {
        case "end": flush = .end
        case "background": flush = .background
        case let value where value.hasPrefix("periodic:"):
            if let seconds = Int(value.dropFirst("periodic:".count)), seconds >= 1 {
                flush = .periodic(seconds: seconds)
            } else {
                reader.problem("SLUICE_FLUSH=\(value): write periodic:N with N whole seconds ≥ 1, e.g. periodic:60")
            }
        case let value:
            reader.problem("SLUICE_FLUSH=\(value) is not a flush policy: use end, background or periodic:N")
        }

        let configuration = ForwarderConfiguration(
            openSearch: openSearch,
            spool: spool,
            platformIndex: index("PLATFORM_INDEX", "lambda-platform"),
            functionIndex: index("FUNCTION_INDEX", "lambda-function"),
            extensionIndex: index("EXTENSION_INDEX", "lambda-extension"),
            dispatchMinBatchSize: reader.integer("DISPATCH_MIN_BATCH_SIZE", default: 1, in: 0...1_000_000),
            flushPolicy: flush,
            flushBudgetMilliseconds: Int64(reader.integer("SLUICE_FLUSH_BUDGET_MS", default: 100, in: 0...60_000)),
            schemaVersion: reader.choice(
                "SLUICE_SCHEMA_VERSION", ["2022-07-01", "2022-12-13", "2025-01-29"], default: "2022-12-13"),
            bufferMaxItems: reader.integer("SLUICE_BUFFER_MAX_ITEMS", default: 1_000, in: 1_000...10_000),
            bufferMaxBytes: reader.integer("SLUICE_BUFFER_MAX_BYTES", default: 262_144, in: 262_144...1_048_576),
            bufferTimeoutMilliseconds: reader.integer("SLUICE_BUFFER_TIMEOUT_MS", default: 1_000, in: 25...30_000),
            logLevel: reader.choice(
                "SLUICE_LOG_LEVEL", ["trace", "debug", "info", "notice", "warning", "error", "critical"],
                default: "info"),
            failMode: FailMode(rawValue: reader.choice("SLUICE_FAIL_MODE", ["open", "closed"], default: "open"))
                ?? .open)
        return (configuration, reader.problems)
    }
}
