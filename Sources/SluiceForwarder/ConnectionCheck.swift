import Logging
import SluiceHTTP
import SluiceOpenSearch

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// `sluice opensearch check`: the first thing to run when nothing arrives. Resolves the
/// configuration as the extension does, then walks the way a `_bulk` request goes (the host's
/// address, the connection and TLS, the credentials and sign-in, the cluster, creating an index
/// and writing into it) and reports each step with what it was answered, ending with one line that
/// says what to fix. It uses the extension's own configuration reader and OpenSearch client, so
/// what passes here is what the extension does; it never prints a secret.
public struct ConnectionCheck: Sendable {
    /// One step and what came of it.
    public struct Step: Sendable, Equatable {
        public enum Outcome: String, Sendable {
            /// `warning`: Sluice can ship, but something beside shipping will not work (`setup`'s
            /// retention, say); `note`: worth knowing, nothing to do.
            case ok, failed, skipped, note, warning
        }

        public let name: String
        public let outcome: Outcome
        public let detail: String
        /// For a failed step: what to do about it.
        public let fix: String?
    }

    let environment: [String: String]

    public init(environment: [String: String]) { self.environment = environment }

    /// Runs every step it can, calling `report` with each as it ends; returns the fix of the first
    /// failure, or nil when Sluice can ship as configured.
    public func run(report: (Step) -> Void) async -> String? {
        var firstFix: String?
        func record(_ step: Step) {
            report(step)
            if step.outcome == .failed, firstFix == nil { firstFix = step.fix }
        }
        let (configuration, problems) = ForwarderConfiguration.fromEnvironment(environment)
        let endpoint = OpenSearchClient.redacted(configuration.openSearch.endpoint)
        guard problems.isEmpty else {
            for problem in problems {
                record(Step(name: "configuration", outcome: .failed, detail: problem.message, fix: problem.message))
            }
            return firstFix
        }
        // The configuration reader parsed URL with the client's own parser: it is usable.
        guard let target = HTTPTarget(configuration.openSearch.endpoint) else {
            preconditionFailure("URL passed the configuration but the client cannot parse it")
        }
        let auth = configuration.openSearch.auth
        record(
            Step(
                name: "configuration", outcome: .ok,
                detail: "URL \(endpoint), sign-in \(Self.describe(auth, target: target))", fix: nil))
        // Under SLUICE_FAIL_MODE=closed the extension refuses to start with any of them.
        let closed = configuration.failMode == .closed
        for problem in configuration.warnings {
            let ruleVariables: [ConfigurationVariable] = [.rules, .mask, .minLevel, .platformEvents, .labels]
            let isRule = ruleVariables.contains { $0.name == problem.variable }
            record(
                Step(
                    name: isRule ? "rules" : "configuration", outcome: closed ? .failed : .note,
                    detail: problem.message, fix: closed ? problem.message : nil))
        }
        if closed, !configuration.warnings.isEmpty { return firstFix }

        let host = target.host
        switch Self.resolve(host) {
        case .success(let addresses):
            record(
                Step(name: "address", outcome: .ok, detail: "\(host) → \(addresses.joined(separator: ", "))", fix: nil))
        case .failure(let message):
            record(
                Step(
                    name: "address", outcome: .failed, detail: "\(host) does not resolve: \(message)",
                    fix:
                        "check the host in URL; inside a VPC the function's subnets must resolve the domain's endpoint")
            )
            return firstFix
        }

        let httpClient = OpenSearchClient.makeHTTPClient(configuration.openSearch)
        let client = OpenSearchClient(
            configuration: configuration.openSearch, httpClient: httpClient, environment: environment,
            logger: Logger(label: "sluice-check") { _ in SwiftLogNoOpLogHandler() })
        await probe(client, configuration, target: target, endpoint: endpoint, record: record)
        await httpClient.shutdown()
        return firstFix
    }

    /// The steps that ask the cluster; each failure that leaves nothing more to ask returns.
    private func probe(
        _ client: OpenSearchClient, _ configuration: ForwarderConfiguration, target: HTTPTarget, endpoint: String,
        record: (Step) -> Void
    ) async {
        let auth = configuration.openSearch.auth

        // The cluster: connection, TLS, credentials and sign-in in one request, told apart by its failure.
        switch await client.send(method: .GET, path: "/", query: "", body: [], contentType: "application/json") {
        case .failure(let error):
            record(Self.step(for: error, endpoint: endpoint, auth: auth))
            return
        case .success(let answer) where answer.status == 401 || answer.status == 403:
            record(Self.signInRefused(answer.status, auth: auth, target: target))
            return
        case .success(let answer) where (200..<300).contains(answer.status):
            // A 2xx without OpenSearch's JSON is something else at that address (a web page, a
            // proxy's sign-in form): every later step would pass or fail for the wrong reason.
            guard let cluster = ClusterInfo.parse(answer.body) else {
                record(
                    Step(
                        name: "connection", outcome: .failed, detail: Self.notOpenSearch(answer),
                        fix:
                            "set URL to the cluster's endpoint (the domain's endpoint, not Dashboards or another page); GET / on it answers with the cluster's name and version"
                    ))
                return
            }
            let tls =
                !target.secure
                ? "" : configuration.openSearch.verifyTLS ? " over verified TLS" : " over TLS (not verified)"
            record(
                Step(name: "connection", outcome: .ok, detail: "\(endpoint) answered \(answer.status)\(tls)", fix: nil))
            record(Step(name: "sign-in", outcome: .ok, detail: Self.describe(auth, target: target), fix: nil))
            record(
                Step(
                    name: "cluster", outcome: .ok,
                    detail:
                        "\(cluster.distribution) \(cluster.major).\(cluster.minor); flat_object \(cluster.hasFlatObject ? "yes" : "no (JSON fields are kept but not searchable by path)")",
                    fix: nil))
        case .success(let answer):
            // OpenSearch Serverless has no `GET /`; anything else is worth knowing.
            record(
                Step(
                    name: "connection", outcome: .note,
                    detail:
                        "\(endpoint) answered GET / with \(answer.status) (OpenSearch Serverless does; a domain does not)",
                    fix: nil))
        }

        switch await client.send(
            method: .GET, path: "/_plugins/_ism/policies", query: "size=1", body: [], contentType: "application/json")
        {
        case .success(let answer) where (200..<300).contains(answer.status):
            record(
                Step(
                    name: "retention", outcome: .ok, detail: "ISM answers: `sluice opensearch setup` can set retention",
                    fix: nil))
        case .success(let answer) where ClusterSetup.saysNoISM(answer):
            record(
                Step(
                    name: "retention", outcome: .note,
                    detail:
                        "no ISM here (GET /_plugins/_ism/policies answered \(answer.status)): indices grow until deleted",
                    fix: nil))
        case .success(let answer) where answer.status == 401 || answer.status == 403:
            // Shipping needs no ISM (and a function's role should not have it): a warning, not a failure.
            record(
                Step(
                    name: "retention", outcome: .warning,
                    detail:
                        "GET /_plugins/_ism/policies answered \(answer.status): these credentials may not read ISM policies, so `sluice opensearch setup` cannot set retention with them (it needs \(ClusterSetup.ismPermissions))",
                    fix: nil))
        case .success(let answer):
            record(
                Step(
                    name: "retention", outcome: .warning,
                    detail:
                        "GET /_plugins/_ism/policies answered \(answer.status): cannot tell whether ISM is here (\(ClusterSetup.excerpt(answer.body)))",
                    fix: nil))
        case .failure(let error):
            record(Step(name: "retention", outcome: .warning, detail: "ISM not asked: \(error.message)", fix: nil))
        }

        // Permission: create an index named like the function index, write into it, delete it.
        let index = configuration.functionIndex.name(eventTime: 0) + "-sluice-check"
        let created = await client.send(
            method: .PUT, path: "/\(index)", query: "", body: Array("{}".utf8), contentType: "application/json")
        switch created {
        case .success(let answer)
        where (200..<300).contains(answer.status)
            || String(decoding: answer.body, as: UTF8.self).contains("resource_already_exists_exception"):
            record(
                Step(name: "create index", outcome: .ok, detail: "PUT /\(index) answered \(answer.status)", fix: nil))
        case .success(let answer):
            let failure = OpenSearchError.from(status: answer.status, body: answer.body, retryAfter: nil)
            let fix: String
            switch answer.status {
            case 401, 403:
                fix =
                    "allow the user or role to create indices matching \(configuration.functionIndex.pattern)* (indices:admin/create, es:ESHttpPut)"
            case 500...:
                fix =
                    "the cluster failed with a server error (not a permission): check its health (GET _cluster/health) and logs, then run the check again"
            default:
                fix = "the cluster refused the index: \(failure.message)"
            }
            record(
                Step(
                    name: "create index", outcome: .failed, detail: "PUT /\(index) answered \(failure.message)",
                    fix: fix))
            return
        case .failure(let error):
            record(Step(name: "create index", outcome: .failed, detail: error.message, fix: "see the error above"))
            return
        }
        let writeFix =
            "allow the user or role to write to \(configuration.functionIndex.pattern)* (indices:data/write/bulk*, es:ESHttpPost)"
        let document = BulkDocument(
            index: index, id: "sluice-check",
            body: Array(#"{"type":"sluice.check","message":"written by sluice opensearch check"}"#.utf8))
        switch await client.bulk([document]) {
        case .items(let outcomes) where outcomes.allSatisfy({ $0 == .indexed || $0 == .duplicate }):
            record(Step(name: "write", outcome: .ok, detail: "_bulk into \(index) accepted", fix: nil))
        case .items(let outcomes):
            record(
                Step(
                    name: "write", outcome: .failed, detail: "_bulk into \(index): \(outcomes)",
                    fix:
                        writeFix
                ))
        case .failed(let error):
            record(
                Step(
                    name: "write", outcome: .failed, detail: "_bulk into \(index): \(error.message)",
                    fix:
                        writeFix
                ))
        }
        switch await client.send(
            method: .DELETE, path: "/\(index)", query: "", body: [], contentType: "application/json")
        {
        case .success(let answer) where (200..<300).contains(answer.status):
            record(Step(name: "clean up", outcome: .ok, detail: "deleted \(index)", fix: nil))
        default:
            record(
                Step(name: "clean up", outcome: .note, detail: "could not delete \(index): delete it by hand", fix: nil)
            )
        }
    }

    /// A failed request, by what failed: the credentials, the connection, TLS, or the time.
    static func step(for error: OpenSearchError, endpoint: String, auth: OpenSearchAuth) -> Step {
        if error.code == .credentials {
            return Step(
                name: "credentials", outcome: .failed, detail: error.message,
                fix: Self.credentialsFix(auth, awsCode: error.awsCode))
        }
        let text = error.message.lowercased()
        let fix: String
        if text.contains("without tls") {
            fix =
                "the server answered without TLS: use http:// in URL, or the port where the cluster speaks TLS (443 on Amazon OpenSearch Service)"
        } else if text.contains("refused") {
            fix = "nothing listens at \(endpoint): check the port in URL and that the cluster is up"
        } else if text.contains("tls") || text.contains("ssl") || text.contains("certificate")
            || text.contains("handshake")
        {
            fix =
                "TLS failed: use the endpoint's own name in URL (its certificate is for it); for a self-signed test cluster only, SLUICE_TLS_VERIFY=false"
        } else if text.contains("timeout") || text.contains("timed out") || text.contains("deadline") {
            fix =
                "no answer in SLUICE_REQUEST_TIMEOUT_MS: a domain in a VPC needs the function in its subnets, and its security group must allow 443 from the function"
        } else {
            fix = "check URL: \(error.message)"
        }
        return Step(name: "connection", outcome: .failed, detail: error.message, fix: fix)
    }

    /// What a 2xx answer to `GET /` without OpenSearch's JSON says about URL.
    static func notOpenSearch(_ answer: OpenSearchClient.Answer) -> String {
        let type = answer.headers.first(name: "content-type").map { " \($0)" } ?? " with no Content-Type"
        return
            "URL does not point at OpenSearch (GET / answered \(answer.status)\(type), not OpenSearch's JSON with version.number)"
    }

    static func signInRefused(_ status: Int, auth: OpenSearchAuth, target: HTTPTarget) -> Step {
        let fix: String
        switch auth {
        case .none where target.hasCredentials:
            fix =
                "the cluster refused the user and password in URL: check them (percent-encode : / ? # @ in them), or map the user to a role"
        case .none:
            fix =
                "the cluster wants credentials: set AUTH_SECRET (a secret with username and password), or SLUICE_AUTH=sigv4"
        case .basic:
            fix = "the cluster refused SLUICE_USERNAME and SLUICE_PASSWORD: check them (or map the user to a role)"
        case .secret(let id):
            fix =
                "the cluster refused the username and password in secret \(id): check the secret (or map the user to a role)"
        case .sigV4:
            fix =
                "the cluster refused the role's signature: allow the function's role in the domain's access policy (and map it under fine-grained access control)"
        }
        return Step(name: "sign-in", outcome: .failed, detail: "GET / answered \(status)", fix: fix)
    }

    static func credentialsFix(_ auth: OpenSearchAuth, awsCode: String?) -> String {
        switch auth {
        case .secret(let id):
            if awsCode == "ResourceNotFoundException" { return "AUTH_SECRET: no secret \(id) in this region" }
            if awsCode == "AccessDeniedException" {
                return
                    "AUTH_SECRET: the role may not read \(id): allow secretsmanager:GetSecretValue on it (and kms:Decrypt for its key)"
            }
            return "AUTH_SECRET: the secret \(id) could not be read or has no username and password"
        case .sigV4:
            return
                "SigV4 needs the role's credentials in the environment (Lambda sets them; here, export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        default: return "check the sign-in variables"
        }
    }

    /// How the extension signs in, without the secret. `target`: the URL, whose user info is Basic
    /// authentication when no other sign-in is set.
    static func describe(_ auth: OpenSearchAuth, target: HTTPTarget) -> String {
        switch auth {
        case .none where target.hasCredentials: "basic from URL as \(target.username ?? "")"
        case .none: "none"
        case .basic(let username, _): "basic as \(username)"
        case .secret(let id): "the username and password in secret \(id)"
        case .sigV4(let service, let region): "SigV4 (\(service), \(region)) with the role's credentials"
        }
    }

    enum Resolution {
        case success([String])
        case failure(String)
    }

    /// The host's addresses, as the system resolver gives them.
    static func resolve(_ host: String) -> Resolution {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0, let first = list else { return .failure(String(cString: gai_strerror(status))) }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(
                entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0,
                NI_NUMERICHOST)
                == 0
            {
                let address = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(address) { addresses.append(address) }
            }
            cursor = entry.pointee.ai_next
        }
        return .success(addresses)
    }
}
