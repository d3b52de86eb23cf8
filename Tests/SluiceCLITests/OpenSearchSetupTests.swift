import AsyncHTTPClient
import Foundation
import SluiceTestSupport
import Testing

/// `sluice opensearch setup`, run as the built binary with the extension's variables, against the
/// local OpenSearch (templates) through a proxy that answers the ISM API as OpenSearch does.
@Suite struct OpenSearchSetupTests {
    func setup(_ environment: [String: String], _ arguments: [String] = []) async throws -> ProcessResult {
        try await runProduct("sluice", ["opensearch", "setup"] + arguments, environment: environment, timeout: 60)
    }

    static let indices = [
        "PLATFORM_INDEX": "s1-platform-%Y.%m.%d", "FUNCTION_INDEX": "s1-function-%Y.%m.%d",
        "EXTENSION_INDEX": "s1-extension", "INVOCATION_INDEX": "s1-invocations-%Y.%m",
    ]

    func lines(_ result: ProcessResult, _ outcome: String) -> [String] {
        result.output.split(separator: "\n").map(String.init).filter { $0.hasPrefix(outcome + " ") }
    }

    @Test func templatesAndRetentionAreMadeOnceAndASecondRunChangesNothing() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.emulateISM()
        let environment = Self.indices.merging(["URL": proxy.url]) { $1 }

        let first = try await setup(environment)
        #expect(first.status == 0, "\(first.output)\(first.error)")
        #expect(lines(first, "created").count == 5, "\(first.output)")
        #expect(first.output.contains("created   index template sluice-function (s1-function-*)"))
        #expect(first.output.contains("created   index template sluice-extension (s1-extension, s1-extension-*)"))
        #expect(first.output.contains("created   retention policy sluice-retention (30 days)"))

        let probe = OpenSearchProbe(url: opensearch.url, client: HTTPClient.shared)
        let (status, template) = try await probe.call(.GET, "/_index_template/sluice-invocations")
        #expect(status == 200)
        let templates = (template as? [String: Any])?["index_templates"] as? [[String: Any]]
        let patterns = (templates?.first?["index_template"] as? [String: Any])?["index_patterns"] as? [String]
        #expect(patterns == ["s1-invocations-*"])

        let policy = try #require(try await proxy.ismPolicies()["sluice-retention"] as? [String: Any])
        let states = policy["states"] as? [[String: Any]] ?? []
        #expect(states.map { $0["name"] as? String } == ["hot", "delete"])
        let transition = (states.first?["transitions"] as? [[String: Any]])?.first
        #expect((transition?["conditions"] as? [String: Any])?["min_index_age"] as? String == "30d")
        let attached = ((policy["ism_template"] as? [[String: Any]])?.first?["index_patterns"] as? [String]) ?? []
        #expect(
            Set(attached)
                == ["s1-platform-*", "s1-function-*", "s1-extension", "s1-extension-*", "s1-invocations-*"])

        let second = try await setup(environment)
        #expect(second.status == 0)
        #expect(lines(second, "unchanged").count == 5, "\(second.output)")

        // A new retention changes the policy alone, as an update of the one there.
        let third = try await setup(environment, ["--retention-days", "7"])
        #expect(third.status == 0, "\(third.output)")
        #expect(lines(third, "unchanged").count == 4)
        #expect(third.output.contains("changed   retention policy sluice-retention (7 days)"))
        let updates = try await proxy.requests().filter {
            $0["method"] as? String == "PUT" && ($0["path"] as? String ?? "").contains("if_seq_no=0&if_primary_term=1")
        }
        #expect(updates.count == 1)

        // An index made afterwards, by a new day, gets Sluice's mappings from its template.
        let (created, _) = try await probe.call(
            .POST, "/s1-function-2026.12.24/_doc?refresh=true",
            #"{"@timestamp":"2026-12-24T10:00:00Z","type":"function","message":"late","record":{"x":"y"},"fields":{"x":"y"}}"#
        )
        #expect(created == 201)
        let (_, mapping) = try await probe.call(.GET, "/s1-function-2026.12.24/_mapping")
        let properties =
            (((mapping as? [String: Any])?["s1-function-2026.12.24"] as? [String: Any])?["mappings"] as? [String: Any])?[
                "properties"] as? [String: Any]
        #expect((properties?["message"] as? [String: Any])?["type"] as? String == "text")
        #expect((properties?["fields"] as? [String: Any])?["type"] as? String == "flat_object")
        #expect((properties?["requestId"] as? [String: Any])?["type"] as? String == "keyword")
    }

    @Test func aClusterWithoutISMGetsTheTemplatesAndIsToldSo() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let result = try await setup(Self.indices.merging(["URL": opensearch.url]) { $1 })
        #expect(result.status == 0, "\(result.output)")
        #expect(lines(result, "created").count == 4)
        #expect(
            result.output.contains("skipped   retention policy sluice-retention (30 days): this cluster has no ISM"))
    }

    @Test(arguments: [401, 403])
    func refusedISMFailsNamingThePermissionsAndIsNotNoISM(status: Int) async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.inject([["kind": "status", "status": status, "match": "_plugins/_ism", "count": 10]])
        let result = try await setup(Self.indices.merging(["URL": proxy.url]) { $1 })
        #expect(result.status == 1)
        #expect(lines(result, "created").count == 4, "the templates are still made: \(result.output)")
        #expect(lines(result, "skipped").isEmpty, "\(result.output)")
        let failed = lines(result, "failed")
        #expect(failed.count == 1)
        #expect(
            failed.first?.hasPrefix(
                "failed    retention policy sluice-retention (30 days): GET /_plugins/_ism/policies answered \(status): the user or role needs cluster:admin/opendistro/ism/policy/search, cluster:admin/opendistro/ism/policy/get and cluster:admin/opendistro/ism/policy/write"
            ) == true, "\(failed)")
    }

    @Test func aServerThatIsNotOpenSearchGetsNoTemplates() async throws {
        let proxy = try await FaultProxy.webPage(client: HTTPClient.shared)
        defer { proxy.stop() }
        let result = try await setup(Self.indices.merging(["URL": proxy.url]) { $1 })
        #expect(result.status == 1)
        #expect(
            result.output
                == "failed    cluster: URL does not point at OpenSearch (GET / answered 200 text/html, not OpenSearch's JSON with version.number)\n"
        )
        let puts = try await proxy.requests().filter { $0["method"] as? String == "PUT" }
        #expect(puts.isEmpty)
    }

    /// The extension index's template (health documents) maps numbers as double: an older one,
    /// without, is replaced, and a fraction after a first 0 keeps its value.
    @Test func anOlderTemplateIsReplacedAndHealthNumbersAreDoubles() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let probe = OpenSearchProbe(url: opensearch.url, client: HTTPClient.shared)
        let (put, _) = try await probe.call(
            .PUT, "/_index_template/sluice-extension",
            #"{"index_patterns":["s1-extension","s1-extension-*"],"priority":150,"template":{"mappings":{"properties":{"type":{"type":"keyword"}}}},"_meta":{"managed_by":"sluice","sluice_digest":"0123456789abcdef"}}"#
        )
        #expect(put == 200)
        let result = try await setup(Self.indices.merging(["URL": opensearch.url]) { $1 })
        #expect(
            result.output.contains(
                "changed   index template sluice-extension (s1-extension, s1-extension-*): replaced: its mappings were not these"
            ), "\(result.output)")
        for (id, p99) in [("h1", "0"), ("h2", "0.158")] {
            let (status, _) = try await probe.call(
                .PUT, "/s1-extension/_doc/\(id)",
                #"{"@timestamp":"2026-12-24T10:00:00Z","type":"sluice.health","addedMs":{"p99":\#(p99),"max":\#(p99)},"spool":{"waiting":3}}"#
            )
            #expect(status == 201)
        }
        let mapping = try await probe.mapping("s1-extension")
        let properties =
            ((mapping["s1-extension"] as? [String: Any])?["mappings"] as? [String: Any])?["properties"]
            as? [String: Any]
        let added = (properties?["addedMs"] as? [String: Any])?["properties"] as? [String: Any]
        #expect((added?["p99"] as? [String: Any])?["type"] as? String == "double", "\(mapping)")
        let spool = (properties?["spool"] as? [String: Any])?["properties"] as? [String: Any]
        #expect((spool?["waiting"] as? [String: Any])?["type"] as? String == "double")
        try await probe.call(.POST, "/s1-extension/_refresh")
        let (_, answer) = try await probe.call(
            .POST, "/s1-extension/_search", #"{"size":0,"aggs":{"p99":{"max":{"field":"addedMs.p99"}}}}"#)
        let aggregations = (answer as? [String: Any])?["aggregations"] as? [String: Any]
        #expect((aggregations?["p99"] as? [String: Any])?["value"] as? Double == 0.158, "\(String(describing: answer))")
    }

    @Test func aRefusedTemplateFailsWithThePermissionItNeeds() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.inject([
            ["kind": "status", "status": 403, "match": "_index_template/sluice-function", "count": 1]
        ])
        let result = try await setup(Self.indices.merging(["URL": proxy.url]) { $1 })
        #expect(result.status == 1)
        #expect(lines(result, "failed").count == 1, "\(result.output)")
        #expect(result.output.contains("index template sluice-function"))
        #expect(lines(result, "created").count == 3, "the others are still made")
    }

    @Test func theDashboardIsImportedWithTheSameSignInAndItsAnswerIsRead() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.requireBasicAuth(username: "sluice", password: "dashboards-pass")
        try await proxy.emulateDashboards()
        let environment = Self.indices.merging([
            "URL": proxy.url, "SLUICE_USERNAME": "sluice", "SLUICE_PASSWORD": "dashboards-pass",
        ]) { $1 }
        let arguments = ["--dashboards-url", proxy.url + "/_dashboards", "--tenant", "global"]
        let result = try await setup(environment, arguments)
        #expect(result.status == 0, "\(result.output)\(result.error)")
        let file = try await runProduct("sluice", ["opensearch", "dashboards"], environment: Self.indices)
        let lines = file.output.split(separator: "\n").count
        #expect(result.output.contains("imported  dashboards: \(lines) saved objects"), "\(result.output)")
        #expect(try await proxy.importedObjects().count == lines)

        let imports = try await proxy.requests().filter { ($0["path"] as? String ?? "").contains("saved_objects") }
        #expect(imports.count == 1)
        let request = try #require(imports.first)
        #expect(request["method"] as? String == "POST")
        #expect(request["path"] as? String == "/_dashboards/api/saved_objects/_import?overwrite=true")
        let headers = (request["headers"] as? [String: String]) ?? [:]
        let lowered = Dictionary(uniqueKeysWithValues: headers.map { ($0.key.lowercased(), $0.value) })
        #expect(lowered["osd-xsrf"] == "true")
        #expect(lowered["securitytenant"] == "global")
        #expect(lowered["authorization"]?.hasPrefix("Basic ") == true)
        #expect(lowered["content-type"]?.hasPrefix("multipart/form-data; boundary=") == true)
        #expect(lowered["content-encoding"] == nil, "Dashboards takes no compressed body")
        #expect(!(result.output + result.error).contains("dashboards-pass"))
    }

    @Test func anImportThatReportsErrorsIsAFailureWithTheReasons() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.emulateDashboards(failing: ["sluice-timeouts"])
        let result = try await setup(
            Self.indices.merging(["URL": proxy.url]) { $1 }, ["--dashboards-url", proxy.url + "/_dashboards"])
        #expect(result.status == 1)
        let failed = lines(result, "failed")
        #expect(failed.count == 1, "\(result.output)")
        #expect(failed.first?.contains("sluice-timeouts: unknown") == true, "\(failed)")
        #expect(failed.first?.contains("imported \(try await proxy.importedObjects().count) of") == true)
    }

    @Test func aRetentionOutOfRangeIsAUsageError() async throws {
        let result = try await setup(["URL": "http://127.0.0.1:1"], ["--retention-days", "0"])
        #expect(result.status == 64)
        #expect(result.error.contains("--retention-days must be from 1 to 3650"))
    }
}
