public import SluiceIngest
public import SluiceOpenSearch
public import SluiceSpool

/// Everything the extension is told by its environment: the AWS sample's variables (`URL`,
/// `AUTH_SECRET`, `PLATFORM_INDEX`, `FUNCTION_INDEX`, `EXTENSION_INDEX`, `DISPATCH_MIN_BATCH_SIZE`)
/// and `SLUICE_*` for the rest. `ConfigurationVariable.all` documents every key with its default.
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
    public enum FailMode: String, Sendable, Equatable, CaseIterable {
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
    /// Where invocation summaries go; nil: none are written.
    public var invocationIndex: IndexPattern?
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
    /// What ingest does to lines before they are stored.
    public var rules: IngestRules
    /// `SLUICE_LABELS`: `labels.<key>` on every document.
    public var labels: [TelemetryDocument.Label]
    /// Problems Sluice works around (a rule or label left out, a lone `SLUICE_PASSWORD` not used,
    /// a retry cap below the base): logged, and shipping goes on (`open`), or init fails (`closed`).
    public var warnings: [ForwarderError]

    /// One documented environment variable.
    public typealias Variable = ConfigurationVariable

    /// Every variable read, with its default and meaning (the README's table is made from this).
    public static let variables: [Variable] = ConfigurationVariable.all

    /// Reads and validates the environment. Returns the configuration built from every valid value
    /// (defaults for the rest) and one line per problem, naming the variable and the fix.
    public static func fromEnvironment(_ environment: [String: String]) -> (ForwarderConfiguration, [ForwarderError]) {
        var reader = EnvironmentReader(environment: environment)
        let url = reader.url(.url)
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"

        var auth = OpenSearchAuth.none
        let secret = reader.optionalText(.authSecret)
        let username = reader.optionalText(.username)
        let password = reader.optionalText(.password)
        switch reader.choice(.auth, automatic: secret != nil ? "secret" : username != nil ? "basic" : "none") {
        case "secret":
            if let secret {
                auth = .secret(id: secret)
            } else {
                reader.problem(
                    .auth,
                    "\(Variable.auth.name)=secret needs \(Variable.authSecret.name): set it to the secret's name or ARN"
                )
            }
        case "basic":
            if let username, let password {
                auth = .basic(username: username, password: password)
            } else if reader.string(.auth) == nil, username != nil {
                // Chosen because SLUICE_USERNAME is set: name what the user set, not SLUICE_AUTH.
                reader.problem(
                    .password,
                    "\(Variable.username.name) needs \(Variable.password.name): set both for basic sign-in, or unset \(Variable.username.name)"
                )
            } else {
                reader.problem(
                    .auth,
                    "\(Variable.auth.name)=basic needs \(Variable.username.name) and \(Variable.password.name): set both"
                )
            }
        case "sigv4":
            let service = reader.choice(.sigV4Service)
            auth = .sigV4(service: service, region: reader.optionalText(.sigV4Region) ?? region)
        default:
            break
        }
        // A password with no user to go with it was once dropped without a word; it still is not
        // used (nothing that shipped before stops shipping), but it is said, as a rule left out is.
        if password != nil, username == nil, reader.string(.auth)?.lowercased() != "basic" {
            reader.warn(
                .password,
                "\(Variable.password.name) is set without \(Variable.username.name): set \(Variable.username.name) too for basic sign-in, or unset \(Variable.password.name)",
                whenOpen: "the password is not used")
        }

        let retry = RetryPolicy(
            baseMilliseconds: Int64(reader.integer(.retryBase)),
            capMilliseconds: Int64(reader.integer(.retryCap)),
            maxAttempts: reader.integer(.retryMaxAttempts),
            maxAgeMilliseconds: Int64(reader.integer(.retryMaxAge)) * 1000)
        if retry.capMilliseconds < retry.baseMilliseconds {
            // Named by the one that was set (the other may be its default).
            let capSet = reader.string(.retryCap) != nil
            reader.warn(
                capSet ? .retryCap : .retryBase,
                "\(Variable.retryCap.name)=\(retry.capMilliseconds)\(capSet ? "" : " (the default)") is below \(Variable.retryBase.name)=\(retry.baseMilliseconds): raise the cap or lower the base",
                whenOpen: "every backoff is at most \(retry.capMilliseconds) ms")
        }
        let idField = reader.optionalText(.idField)
        let openSearch = OpenSearchConfiguration(
            endpoint: url ?? "http://127.0.0.1:9200",
            auth: auth,
            verifyTLS: reader.boolean(.tlsVerify),
            requestTimeoutMilliseconds: Int64(reader.integer(.requestTimeout)),
            compress: reader.choice(.compression) == "gzip",
            maxBatchBytes: reader.bytes(.batchMaxBytes),
            maxBatchCount: reader.integer(.batchMaxDocs),
            idPlacement: idField.map { .field($0) } ?? .documentID,
            dataStreams: reader.boolean(.dataStreams),
            retry: retry)

        let overflow = reader.choice(.spoolOverflow, as: OverflowPolicy.self)
        let spool = SpoolConfiguration(
            path: reader.text(.spoolPath),
            capBytes: reader.bytes(.spoolCap),
            overflowPolicy: overflow,
            maxFileBytes: reader.optionalBytes(.spoolMaxFileBytes))

        // Read in this order so the problem lines keep theirs.
        let rules = reader.ingestRules()
        let labels = reader.labels()
        let flush = reader.flushPolicy(.flush)
        var configuration = ForwarderConfiguration(
            openSearch: openSearch,
            spool: spool,
            platformIndex: reader.index(.platformIndex),
            functionIndex: reader.index(.functionIndex),
            extensionIndex: reader.index(.extensionIndex),
            invocationIndex: reader.optionalIndex(.invocationIndex),
            dispatchMinBatchSize: reader.integer(.dispatchMinBatchSize),
            flushPolicy: flush,
            flushBudgetMilliseconds: Int64(reader.integer(.flushBudget)),
            schemaVersion: reader.choice(.schemaVersion),
            bufferMaxItems: reader.integer(.bufferMaxItems),
            bufferMaxBytes: reader.integer(.bufferMaxBytes),
            bufferTimeoutMilliseconds: reader.integer(.bufferTimeout),
            logLevel: reader.choice(.logLevel),
            failMode: reader.choice(.failMode, as: FailMode.self),
            rules: rules, labels: labels, warnings: [])
        configuration.warnings = reader.warningErrors(configuration.failMode)
        return (configuration, reader.problems)
    }

    /// Every non-secret variable with the value it has here (its default where unset), for the
    /// health documents: what a user looking at them needs to know how this environment ran.
    public static func settings(_ environment: [String: String]) -> [(name: String, value: String)] {
        let reader = EnvironmentReader(environment: environment)
        return variables.filter { !$0.isSecret }.map { variable in
            let value = reader.string(variable) ?? variable.defaultValue
            return (
                variable.name,
                variable.name == ConfigurationVariable.url.name ? OpenSearchClient.redacted(value) : value
            )
        }
    }

    /// The README's table of variables (`## Configuration`), header included.
    public static func markdownTable() -> String {
        func cell(_ text: String) -> String { text.replacing("|", with: "\\|") }
        let rows = variables.map { "| `\($0.name)` | \(cell($0.defaultValue)) | \(cell($0.meaning)) |" }
        return (["| variable | default | meaning |", "|---|---|---|"] + rows).joined(separator: "\n")
    }
}
