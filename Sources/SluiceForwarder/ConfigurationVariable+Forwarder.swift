import Logging
import SluiceIngest
import SluiceSpool

// Every variable the extension reads. Adding one is an entry here, its place in `all`, and its use
// in `ForwarderConfiguration.fromEnvironment`; the README table and the template check follow.
extension ConfigurationVariable {
    // The AWS sample's variables, same meaning.
    public static let url = ConfigurationVariable(
        "URL",
        .requiredURL(
            purpose: "your OpenSearch endpoint", example: "https://search-logs-abc123.eu-west-1.es.amazonaws.com"),
        "OpenSearch endpoint, optionally with a path prefix; `https://user:password@host` sends Basic authentication, as curl does (never printed)"
    )
    public static let authSecret = ConfigurationVariable(
        "AUTH_SECRET", .optionalText, "Secrets Manager secret id/ARN holding {username, password}")
    public static let platformIndex = ConfigurationVariable(
        "PLATFORM_INDEX", .indexPattern(default: "lambda-platform"), "index for platform.* events; may hold %Y %m %d %H"
    )
    public static let functionIndex = ConfigurationVariable(
        "FUNCTION_INDEX", .indexPattern(default: "lambda-function"), "index for function log lines")
    public static let extensionIndex = ConfigurationVariable(
        "EXTENSION_INDEX", .indexPattern(default: "lambda-extension"), "index for extension log lines")
    public static let invocationIndex = ConfigurationVariable(
        "INVOCATION_INDEX", .optionalIndexPattern(default: "lambda-invocations"),
        "index for one summary document per invocation; empty: no summaries")
    public static let dispatchMinBatchSize = ConfigurationVariable(
        "DISPATCH_MIN_BATCH_SIZE", .integer(default: 1, in: 0...1_000_000),
        "hold /next (policy end) only when at least this many events wait")

    // Sign-in.
    public static let auth = ConfigurationVariable(
        "SLUICE_AUTH", .automaticChoice(["none", "basic", "secret", "sigv4"]),
        "\(.accepted); auto: secret with AUTH_SECRET, basic with SLUICE_USERNAME, else none")
    public static let username = ConfigurationVariable(
        "SLUICE_USERNAME", .optionalText, "basic auth user (with SLUICE_PASSWORD)")
    public static let password = ConfigurationVariable(
        "SLUICE_PASSWORD", .optionalText, "basic auth password", isSecret: true)
    public static let sigV4Service = ConfigurationVariable(
        "SLUICE_SIGV4_SERVICE", .choice(["es", "aoss"], default: "es"), "es (OpenSearch Service) or aoss (Serverless)")
    public static let sigV4Region = ConfigurationVariable(
        "SLUICE_SIGV4_REGION", .derivedText(from: "$AWS_REGION"), "region to sign for")

    // Documents and indices.
    public static let idField = ConfigurationVariable(
        "SLUICE_ID_FIELD", .optionalText,
        "put our id in this field and let the server choose _id (Serverless time series)")
    public static let dataStreams = ConfigurationVariable(
        "SLUICE_DATA_STREAMS", .boolean(default: false), "indices are data streams (bootstrap writes index templates)")

    // Ingest rules and labels (README, "Rules"): applied before anything is stored.
    public static let mask = ConfigurationVariable(
        "SLUICE_MASK", .optionalText,
        """
        built-in masks, comma-separated: email, ipv4, credit-card, aws-access-key, aws-secret-key, \
        aws-session-token, jwt, bearer, basic-auth, url-password, private-key, password, or all
        """)
    public static let rules = ConfigurationVariable(
        "SLUICE_RULES", .optionalText,
        "JSON array of mask_sequences, exclude_at_match and include_at_match rules (Datadog's shape)")
    public static let minLevel = ConfigurationVariable(
        "SLUICE_MIN_LEVEL", .choice(LogLevel.allCases.map(\.name), default: LogLevel.trace.name),
        "drop function lines below this level (\(.accepted)); lines with no level are kept")
    public static let platformEvents = ConfigurationVariable(
        "SLUICE_PLATFORM_EVENTS", .text(default: "all"),
        "platform.* types to index, comma-separated, or none; summaries see every one")
    public static let labels = ConfigurationVariable(
        "SLUICE_LABELS", .optionalText, "key=value pairs, comma-separated, added to every document as labels.<key>")

    // Shipping.
    public static let tlsVerify = ConfigurationVariable(
        "SLUICE_TLS_VERIFY", .boolean(default: true),
        "verify the server certificate; false only for self-signed test clusters")
    public static let compression = ConfigurationVariable(
        "SLUICE_COMPRESSION", .choice(["gzip", "none"], default: "gzip"), "\(.accepted) for request bodies")
    public static let batchMaxBytes = ConfigurationVariable(
        "SLUICE_BATCH_MAX_BYTES", .bytes(default: 5 << 20, in: 1024...(100 << 20)), "largest uncompressed _bulk body")
    public static let batchMaxDocs = ConfigurationVariable(
        "SLUICE_BATCH_MAX_DOCS", .integer(default: 5_000, in: 1...100_000), "most documents per _bulk request")
    public static let requestTimeout = ConfigurationVariable(
        "SLUICE_REQUEST_TIMEOUT_MS", .integer(default: 10_000, in: 100...120_000),
        "how long one request may take, from connecting to the answer's last byte")
    public static let retryBase = ConfigurationVariable(
        "SLUICE_RETRY_BASE_MS", .integer(default: 500, in: 1...600_000), "first backoff ceiling")
    public static let retryCap = ConfigurationVariable(
        "SLUICE_RETRY_CAP_MS", .integer(default: 60_000, in: 1...3_600_000), "largest backoff")
    public static let retryMaxAttempts = ConfigurationVariable(
        "SLUICE_RETRY_MAX_ATTEMPTS", .integer(default: 10, in: 1...1_000),
        "attempts before a record becomes a dead letter")
    public static let retryMaxAge = ConfigurationVariable(
        "SLUICE_RETRY_MAX_AGE_S", .integer(default: 21_600, in: 1...604_800),
        "age before a failing record becomes a dead letter")

    // The spool.
    public static let spoolPath = ConfigurationVariable(
        "SLUICE_SPOOL_PATH", .text(default: SpoolConfiguration.defaultPath), "the spool file")
    public static let spoolCap = ConfigurationVariable(
        "SLUICE_SPOOL_CAP", .bytes(default: 64 << 20, in: (1 << 20)...(10 << 30)), "document bytes the spool keeps")
    public static let spoolOverflow = ConfigurationVariable(
        "SLUICE_SPOOL_OVERFLOW",
        .choice(OverflowPolicy.allCases.map(\.rawValue), default: OverflowPolicy.dropOldest.rawValue), "\(.accepted)")
    public static let spoolMaxFileBytes = ConfigurationVariable(
        "SLUICE_SPOOL_MAX_FILE_BYTES", .optionalBytes(in: (1 << 20)...(10 << 30)),
        "most bytes of the spool's main file (a full one answers 503); its -wal beside it is more, see below")

    // When to ship, and the Telemetry API subscription.
    // `background` by default: measured in the simulator it ships everything with the least added
    // time (README, "Flush policy"); `end` suits functions invoked too rarely to keep up.
    public static let flush = ConfigurationVariable(
        "SLUICE_FLUSH", .flushPolicy(default: .background), "\(.accepted)")
    public static let flushBudget = ConfigurationVariable(
        "SLUICE_FLUSH_BUDGET_MS", .integer(default: 100, in: 0...60_000),
        "the most a hold of policy end may add to an invocation")
    public static let schemaVersion = ConfigurationVariable(
        "SLUICE_SCHEMA_VERSION", .choice(["2022-07-01", "2022-12-13", "2025-01-29"], default: "2022-12-13"),
        "Telemetry API schema: \(.accepted)")
    public static let bufferMaxItems = ConfigurationVariable(
        "SLUICE_BUFFER_MAX_ITEMS", .integer(default: 1_000, in: 1_000...10_000), "Telemetry API buffering, \(.accepted)"
    )
    public static let bufferMaxBytes = ConfigurationVariable(
        "SLUICE_BUFFER_MAX_BYTES", .integer(default: 262_144, in: 262_144...1_048_576),
        "Telemetry API buffering, \(.accepted)")
    // 100 ms, not the platform's 1,000: a delivery's ingest is a burst of CPU, and a second's worth
    // of a busy small function's telemetry (500 events) spent a 128 MB function's whole CFS period,
    // holding its next invocations' `/next` for up to 90 ms (added time p99 10-29 ms at 1,000 against
    // 0.0 ms at 100, `tools/bench invoke`; the CPU per event is the same). Lines reach OpenSearch
    // sooner, and SHUTDOWN waits 200 ms for late deliveries instead of 1.1 s.
    public static let bufferTimeout = ConfigurationVariable(
        "SLUICE_BUFFER_TIMEOUT_MS", .integer(default: 100, in: 25...30_000), "Telemetry API buffering, \(.accepted)")

    // Operation.
    public static let logLevel = ConfigurationVariable(
        "SLUICE_LOG_LEVEL", .choice(Logger.Level.allCases.map(\.rawValue), default: Logger.Level.info.rawValue),
        "\(.accepted)")
    public static let failMode = ConfigurationVariable(
        "SLUICE_FAIL_MODE",
        .choice(
            ForwarderConfiguration.FailMode.allCases.map(\.rawValue),
            default: ForwarderConfiguration.FailMode.open.rawValue),
        "open: log configuration errors and keep the function running; closed: init/error")

    /// Every variable, in the README's order.
    public static let all: [ConfigurationVariable] = [
        url, authSecret, platformIndex, functionIndex, extensionIndex, invocationIndex, dispatchMinBatchSize,
        auth, username, password, sigV4Service, sigV4Region,
        idField, dataStreams,
        mask, rules, minLevel, platformEvents, labels,
        tlsVerify, compression, batchMaxBytes, batchMaxDocs, requestTimeout,
        retryBase, retryCap, retryMaxAttempts, retryMaxAge,
        spoolPath, spoolCap, spoolOverflow, spoolMaxFileBytes,
        flush, flushBudget, schemaVersion, bufferMaxItems, bufferMaxBytes, bufferTimeout,
        logLevel, failMode,
    ]
}
