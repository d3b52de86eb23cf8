import Logging
import SluiceDigest
import SluiceHTTP
import SluiceIngest
import SluiceJSON
import SluiceOpenSearch

/// `sluice opensearch setup`: what a cluster needs before (or beside) the extension, made with the
/// extension's configuration, credentials and client, idempotently: an index template for each of
/// the four indices (so that an index created by a rollover, another writer or a new day gets
/// Sluice's mappings) and an ISM policy that deletes indices older than the retention, attached to
/// them through its `ism_template`. Each step says what it created, changed or left alone.
public struct ClusterSetup: Sendable {
    /// What a step did.
    public enum Outcome: String, Sendable {
        case created, changed, unchanged, imported, skipped, failed
    }

    /// One thing set up, and what came of it.
    public struct Step: Sendable, Equatable {
        public let outcome: Outcome
        public let what: String
        public let detail: String
    }

    let environment: [String: String]
    let retentionDays: Int
    /// OpenSearch Dashboards' base URL (`https://…/_dashboards` on Amazon OpenSearch Service): the
    /// saved objects are imported there; nil: not.
    let dashboardsURL: String?
    /// The `securitytenant` to import into (`global`, `private` or a tenant), with multi-tenancy.
    let tenant: String?

    /// The ISM policy's id.
    public static let policyID = "sluice-retention"

    public init(
        environment: [String: String], retentionDays: Int = 30, dashboardsURL: String? = nil, tenant: String? = nil
    ) {
        self.environment = environment
        self.retentionDays = retentionDays
        self.dashboardsURL = dashboardsURL
        self.tenant = tenant
    }

    /// Why `--dashboards-url` cannot be used (read by the client's own parser), with the fix; nil
    /// when it can. Its user info is never shown.
    public static func dashboardsURLProblem(_ url: String) -> String? {
        let example = "https://search-logs-abc123.eu-west-1.es.amazonaws.com/_dashboards"
        switch HTTPTarget.parse(url, endpoint: true) {
        case .success: return nil
        case .failure(.notHTTP): return "--dashboards-url must be an http(s) URL, e.g. \(example)"
        case .failure(let problem): return "--dashboards-url cannot be used: \(problem); e.g. \(example)"
        }
    }

    /// Runs every step, calling `report` with each; returns whether none failed.
    public func run(report: (Step) -> Void) async -> Bool {
        var failed = false
        func record(_ step: Step) {
            report(step)
            if step.outcome == .failed { failed = true }
        }
        let (configuration, problems) = ForwarderConfiguration.fromEnvironment(environment)
        guard problems.isEmpty else {
            for problem in problems { record(Step(outcome: .failed, what: "configuration", detail: problem.message)) }
            return false
        }
        let httpClient = OpenSearchClient.makeHTTPClient(configuration.openSearch)
        let client = OpenSearchClient(
            configuration: configuration.openSearch, httpClient: httpClient, environment: environment,
            logger: Logger(label: "sluice-setup") { _ in SwiftLogNoOpLogHandler() })
        let routing = IndexRouting(
            platform: configuration.platformIndex, function: configuration.functionIndex,
            extension: configuration.extensionIndex, invocation: configuration.invocationIndex)
        let cluster: ClusterInfo
        switch await client.send(method: .GET, path: "/", query: "", body: [], contentType: "application/json") {
        case .success(let answer) where (200..<300).contains(answer.status):
            guard let info = ClusterInfo.parse(answer.body) else {
                // Not OpenSearch: writing templates there would claim a success that is none.
                record(Step(outcome: .failed, what: "cluster", detail: ConnectionCheck.notOpenSearch(answer)))
                await httpClient.shutdown()
                return false
            }
            cluster = info
        case .success(let answer) where answer.status == 429 || answer.status >= 500:
            record(
                Step(
                    outcome: .failed, what: "cluster",
                    detail: "GET / answered \(answer.status) (sluice opensearch check tells more)"))
            await httpClient.shutdown()
            return false
        case .success:
            // OpenSearch Serverless answers no `GET /`: assume only what every version has.
            cluster = .unknown
        case .failure(let error):
            record(
                Step(outcome: .failed, what: "cluster", detail: "\(error.message) (sluice opensearch check tells more)")
            )
            await httpClient.shutdown()
            return false
        }
        for template in routing.templates {
            record(await self.template(template, flatObject: cluster.hasFlatObject, client: client))
        }
        let patterns = routing.templates.flatMap(\.pattern.templatePatterns)
        record(await policy(patterns: patterns, dataStreams: configuration.openSearch.dataStreams, client: client))
        if let dashboardsURL {
            // The same sign-in against Dashboards; its import takes no compressed body.
            var dashboards = configuration.openSearch
            dashboards.endpoint = dashboardsURL
            dashboards.compress = false
            let dashboardsClient = OpenSearchClient(
                configuration: dashboards, httpClient: httpClient, environment: environment,
                logger: Logger(label: "sluice-setup") { _ in SwiftLogNoOpLogHandler() })
            record(await importDashboards(routing, client: dashboardsClient))
        }
        await httpClient.shutdown()
        return !failed
    }

    /// One index template: put unless the one there says it is this one.
    func template(
        _ template: (name: String, kind: IndexDefinition.Kind, pattern: IndexPattern), flatObject: Bool,
        client: OpenSearchClient
    ) async -> Step {
        let patterns = template.pattern.templatePatterns
        let what = "index template \(template.name) (\(patterns.joined(separator: ", ")))"
        let (body, digest) = IndexDefinition.template(template.kind, patterns: patterns, flatObject: flatObject)
        let path = "/_index_template/\(template.name)"
        var existed = false
        switch await client.send(method: .GET, path: path, query: "", body: [], contentType: "application/json") {
        case .success(let answer) where (200..<300).contains(answer.status):
            existed = true
            if String(decoding: answer.body, as: UTF8.self).contains(#""sluice_digest":"\#(digest)""#) {
                return Step(outcome: .unchanged, what: what, detail: "already as Sluice writes it")
            }
        case .success(let answer) where answer.status == 404: break
        case .success(let answer) where answer.status == 401 || answer.status == 403:
            return Step(
                outcome: .failed, what: what,
                detail:
                    "GET \(path) answered \(answer.status): the user or role needs indices:admin/index_template/get and …/put (es:ESHttpGet, es:ESHttpPut)"
            )
        case .success(let answer):
            return Step(outcome: .failed, what: what, detail: "GET \(path) answered \(answer.status)")
        case .failure(let error):
            return Step(outcome: .failed, what: what, detail: error.message)
        }
        switch await client.send(method: .PUT, path: path, query: "", body: body, contentType: "application/json") {
        case .success(let answer) where (200..<300).contains(answer.status):
            return Step(
                outcome: existed ? .changed : .created, what: what,
                detail: existed
                    ? "replaced: its mappings were not these" : "new indices matching it get Sluice's mappings")
        case .success(let answer):
            return Step(
                outcome: .failed, what: what,
                detail:
                    "PUT \(path) answered \(answer.status): \(Self.excerpt(answer.body)) (the user or role needs indices:admin/index_template/put, es:ESHttpPut)"
            )
        case .failure(let error):
            return Step(outcome: .failed, what: what, detail: error.message)
        }
    }

    /// The policy's body: hot (rolled over daily for data streams), then deleted at the retention.
    /// Its description carries a digest of the rest, so a second setup can tell it is unchanged.
    func policyBody(patterns: [String], dataStreams: Bool, seq: (Int, Int)? = nil) -> [UInt8] {
        var patternList: [UInt8] = []
        for (position, pattern) in patterns.enumerated() {
            if position > 0 { patternList.append(UInt8(ascii: ",")) }
            JSONText.appendString(pattern, to: &patternList)
        }
        let hotActions = dataStreams ? #"[{"rollover":{"min_index_age":"1d"}}]"# : "[]"
        let states = """
            "default_state":"hot","states":[{"name":"hot","actions":\(hotActions),\
            "transitions":[{"state_name":"delete","conditions":{"min_index_age":"\(retentionDays)d"}}]},\
            {"name":"delete","actions":[{"delete":{}}],"transitions":[]}],\
            "ism_template":[{"index_patterns":[\(String(decoding: patternList, as: UTF8.self))],"priority":100}]
            """
        let digest = Self.digest(states)
        var out = Array(#"{"policy":{"description":"#.utf8)
        JSONText.appendString(
            "Sluice: delete Lambda telemetry indices \(retentionDays) days old (sluice:\(digest))", to: &out)
        out += Array(",\(states)}}".utf8)
        return out
    }

    /// What setting the retention policy takes: listing policies, reading Sluice's, writing it.
    static let ismPermissions =
        "cluster:admin/opendistro/ism/policy/search, cluster:admin/opendistro/ism/policy/get and cluster:admin/opendistro/ism/policy/write (es:ESHttpGet, es:ESHttpPut)"

    /// An answer's body to read: a reader and its value's range, or nothing to find in it when it
    /// is not JSON (a reader steps over values as a validated text's).
    static func readable(_ body: [UInt8]) -> (reader: JSONReader, all: Range<Int>) {
        let document = JSONReader.document(body)
        return (document?.reader ?? JSONReader([]), document?.root.range ?? 0..<0)
    }

    /// Whether an answer from the ISM API says the cluster has no ISM: 404, or the 400 "no handler
    /// found for uri" of a cluster without the plugin.
    static func saysNoISM(_ answer: OpenSearchClient.Answer) -> Bool {
        answer.status == 404
            || (answer.status == 400 && String(decoding: answer.body, as: UTF8.self).contains("no handler found"))
    }

    func policy(patterns: [String], dataStreams: Bool, client: OpenSearchClient) async -> Step {
        let what = "retention policy \(Self.policyID) (\(retentionDays) days)"
        let body = policyBody(patterns: patterns, dataStreams: dataStreams)
        let description =
            JSONReader(body).value(at: ["policy", "description"], in: 0..<body.count)
            .flatMap { JSONReader(body).string($0) } ?? ""
        // A cluster without ISM answers the list with "no handler" (400) or 404; one with it, 200.
        // Anything else (a refusal above all) is not "no ISM": retention would silently not be set.
        switch await client.send(
            method: .GET, path: "/_plugins/_ism/policies", query: "size=1", body: [], contentType: "application/json")
        {
        case .success(let list) where (200..<300).contains(list.status): break
        case .success(let list) where Self.saysNoISM(list):
            return Step(
                outcome: .skipped, what: what,
                detail:
                    "this cluster has no ISM (OpenSearch Serverless has its own data lifecycle policies): indices are kept until deleted"
            )
        case .success(let list) where list.status == 401 || list.status == 403:
            return Step(
                outcome: .failed, what: what,
                detail:
                    "GET /_plugins/_ism/policies answered \(list.status): the user or role needs \(Self.ismPermissions)"
            )
        case .success(let list):
            return Step(
                outcome: .failed, what: what,
                detail: "GET /_plugins/_ism/policies answered \(list.status): \(Self.excerpt(list.body))")
        case .failure(let error):
            return Step(outcome: .failed, what: what, detail: error.message)
        }
        let path = "/_plugins/_ism/policies/\(Self.policyID)"
        var query = ""
        switch await client.send(method: .GET, path: path, query: "", body: [], contentType: "application/json") {
        case .success(let answer) where (200..<300).contains(answer.status):
            let (reader, all) = Self.readable(answer.body)
            if reader.string(reader.value(at: ["policy", "description"], in: all)) == description {
                return Step(outcome: .unchanged, what: what, detail: "already as Sluice writes it")
            }
            guard let seqNo = reader.number(reader.member("_seq_no", of: all)),
                let term = reader.number(reader.member("_primary_term", of: all))
            else { return Step(outcome: .failed, what: what, detail: "GET \(path) answered without _seq_no") }
            query = "if_seq_no=\(Int(seqNo))&if_primary_term=\(Int(term))"
        case .success(let answer) where answer.status == 404: break
        case .success(let answer) where answer.status == 401 || answer.status == 403:
            return Step(
                outcome: .failed, what: what,
                detail: "GET \(path) answered \(answer.status): the user or role needs \(Self.ismPermissions)")
        case .success(let answer):
            return Step(outcome: .failed, what: what, detail: "GET \(path) answered \(answer.status)")
        case .failure(let error):
            return Step(outcome: .failed, what: what, detail: error.message)
        }
        switch await client.send(method: .PUT, path: path, query: query, body: body, contentType: "application/json") {
        case .success(let answer) where (200..<300).contains(answer.status):
            return Step(
                outcome: query.isEmpty ? .created : .changed, what: what,
                detail:
                    "indices created from now on matching \(patterns.joined(separator: ", ")) are deleted after \(retentionDays) days (existing ones: attach it with POST _plugins/_ism/add)"
            )
        case .success(let answer):
            return Step(
                outcome: .failed, what: what,
                detail:
                    "PUT \(path) answered \(answer.status): \(Self.excerpt(answer.body)) (the user or role needs \(Self.ismPermissions))"
            )
        case .failure(let error):
            return Step(outcome: .failed, what: what, detail: error.message)
        }
    }

    /// The first 16 hex digits of the SHA-256 of `text`: a change detector, as the templates' digest.
    /// The multipart boundary of the import request.
    static let boundary = "sluice-saved-objects-7c1e2f"

    /// `POST /api/saved_objects/_import?overwrite=true` with the NDJSON as the multipart field
    /// `file`; the answer is read object by object: an import that reports errors, or imported
    /// fewer than it was given, is a failure with the reasons.
    func importDashboards(_ routing: IndexRouting, client: OpenSearchClient) async -> Step {
        let objects = LambdaDashboard.savedObjects(routing)
        let what = "dashboards: \(objects.count) saved objects (Lambda overview)"
        var body = Array("--\(Self.boundary)\r\n".utf8)
        body += Array(#"Content-Disposition: form-data; name="file"; filename="sluice-lambda.ndjson""#.utf8)
        body += Array("\r\nContent-Type: application/ndjson\r\n\r\n".utf8)
        body += Array(LambdaDashboard.ndjson(routing).utf8)
        body += Array("\r\n--\(Self.boundary)--\r\n".utf8)
        var headers = [(name: "osd-xsrf", value: "true")]
        if let tenant { headers.append((name: "securitytenant", value: tenant)) }
        let answer: OpenSearchClient.Answer
        switch await client.send(
            method: .POST, path: "/api/saved_objects/_import", query: "overwrite=true", body: body,
            contentType: "multipart/form-data; boundary=\(Self.boundary)", headers: headers)
        {
        case .failure(let error): return Step(outcome: .failed, what: what, detail: error.message)
        case .success(let value): answer = value
        }
        guard (200..<300).contains(answer.status) else {
            return Step(
                outcome: .failed, what: what,
                detail: "the import answered \(answer.status): \(Self.excerpt(answer.body))")
        }
        let (reader, all) = Self.readable(answer.body)
        let success =
            reader.value(at: ["success"], in: all).map { answer.body[$0.range].elementsEqual("true".utf8) } == true
        let count = reader.number(reader.member("successCount", of: all)).map(Int.init) ?? 0
        var reasons: [String] = []
        if let errors = reader.member("errors", of: all) {
            for error in reader.elements(of: errors.range) {
                let id = reader.string(reader.member("id", of: error.range)) ?? "?"
                let type = reader.string(reader.value(at: ["error", "type"], in: error.range)) ?? "error"
                var reason = "\(id): \(type)"
                if let missing = reader.value(at: ["error", "references"], in: error.range) {
                    let ids = reader.elements(of: missing.range).compactMap {
                        reader.string(reader.member("id", of: $0.range))
                    }
                    reason += " (\(ids.joined(separator: ", ")))"
                }
                reasons.append(reason)
            }
        }
        guard success, count == objects.count, reasons.isEmpty else {
            return Step(
                outcome: .failed, what: what,
                detail:
                    "imported \(count) of \(objects.count): \(reasons.isEmpty ? "the answer says no more" : reasons.joined(separator: "; "))"
            )
        }
        return Step(
            outcome: .imported, what: what,
            detail: "every one, overwriting what had these ids\(tenant.map { " (tenant \($0))" } ?? "")")
    }

    static func digest(_ text: String) -> String {
        String(Hex.encode(SHA256.hash(text.utf8)).prefix(16))
    }

    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.replacing("\n", with: " ")
    }
}
