import AsyncHTTPClient
import Foundation
import SluiceTestSupport
import Testing

/// `sluice opensearch check`, run as the built binary with the extension's variables, against the
/// local OpenSearch, a proxy that demands another password, a closed port and bad URLs.
@Suite struct OpenSearchCheckTests {
    func check(_ environment: [String: String]) async throws -> ProcessResult {
        try await runProduct("sluice", ["opensearch", "check"], environment: environment, timeout: 60)
    }

    /// The last line: what to do.
    func fix(_ result: ProcessResult) -> String {
        result.output.split(separator: "\n").last.map(String.init) ?? ""
    }

    @Test func aReachableClusterPassesEveryStep() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let result = try await check(["URL": opensearch.url, "FUNCTION_INDEX": "check-ok-fn"])
        #expect(result.status == 0, "\(result.output)\(result.error)")
        for step in [
            "configuration", "address", "connection", "sign-in", "cluster", "create index", "write", "clean up",
        ] {
            #expect(result.output.contains("ok    \(step)"), "\(step): \(result.output)")
        }
        #expect(result.output.contains("flat_object yes"))
        #expect(result.output.contains("note  retention"), "the local OpenSearch has no ISM")
        #expect(fix(result) == "ready: Sluice can ship to OpenSearch as configured")
        // It cleaned up after itself.
        let probe = OpenSearchProbe(url: opensearch.url, client: HTTPClient.shared)
        let (status, _) = try await probe.call(.GET, "/check-ok-fn-sluice-check")
        #expect(status == 404)
    }

    @Test func aBadRuleIsANoteWhenOpenAndTheFixWhenClosed() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let open = try await check(["URL": opensearch.url, "SLUICE_MASK": "phone", "FUNCTION_INDEX": "check-rule-fn"])
        #expect(open.status == 0, "\(open.output)")
        #expect(open.output.contains("note  rules         SLUICE_MASK: item 1, \"phone\""), "\(open.output)")
        // The extension would refuse to start: the check says so, and connects no further.
        let closed = try await check(["URL": opensearch.url, "SLUICE_MASK": "phone", "SLUICE_FAIL_MODE": "closed"])
        #expect(closed.status == 1)
        #expect(closed.output.contains("FAIL  rules"), "\(closed.output)")
        #expect(!closed.output.contains("connection"), "\(closed.output)")
        #expect(fix(closed).hasSuffix("SLUICE_FAIL_MODE=closed: sluice does not start until it is fixed"))
    }

    @Test func aWrongPasswordSaysWhichVariablesAndNeverShowsIt() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.requireBasicAuth(username: "sluice", password: "the-right-one")
        let result = try await check([
            "URL": proxy.url, "SLUICE_USERNAME": "sluice", "SLUICE_PASSWORD": "not-the-password-7731",
        ])
        #expect(result.status == 1)
        #expect(result.output.contains("FAIL  sign-in       GET / answered 401"), "\(result.output)")
        #expect(fix(result).hasPrefix("fix: the cluster refused SLUICE_USERNAME and SLUICE_PASSWORD"))
        #expect(!(result.output + result.error).contains("not-the-password-7731"))

        // With the right one, the same proxy lets it through.
        let right = try await check([
            "URL": proxy.url, "SLUICE_USERNAME": "sluice", "SLUICE_PASSWORD": "the-right-one",
            "FUNCTION_INDEX": "check-auth-fn",
        ])
        #expect(right.status == 0, "\(right.output)")
    }

    @Test func aClosedPortNamesThePort() async throws {
        let result = try await check(["URL": "http://127.0.0.1:1"])
        #expect(result.status == 1)
        #expect(result.output.contains("FAIL  connection"))
        #expect(
            fix(result)
                == "fix: nothing listens at http://127.0.0.1:1: check the port in URL and that the cluster is up")
    }

    @Test(arguments: [
        ("not-a-url", "fix: URL=not-a-url is not an http(s) URL"),
        ("https://search-nowhere.invalid", "fix: check the host in URL"),
        ("", "fix: URL is not set"),
    ])
    func aBadURLSaysWhatIsWrongWithIt(url: String, expected: String) async throws {
        let result = try await check(url.isEmpty ? [:] : ["URL": url])
        #expect(result.status == 1)
        #expect(fix(result).hasPrefix(expected), "\(result.output)")
    }

    @Test(arguments: [
        "http://admin:s3cr3t-in-url@127.0.0.1:1", "HTTPS://admin:s3cr3t-in-url@127.0.0.1:1",
        "admin:s3cr3t-in-url@127.0.0.1:1", "hxxp://admin:s3cr3t-in-url@127.0.0.1:1",
        "http://admin:s3cr3t/in-url@127.0.0.1:1", "http://admin:s3cr3t#in-url@127.0.0.1:1",
        "http://admin:s3cr3t?in-url@127.0.0.1:1", "http://admin:1/s3cr3t-in-url@127.0.0.1:1",
    ])
    func credentialsInTheURLAreNotPrintedWhateverItsShape(url: String) async throws {
        let result = try await check(["URL": url])
        #expect(result.status == 1)
        #expect(!(result.output + result.error).contains("s3cr3t"), "\(result.output)")
        #expect(result.output.contains("(credentials hidden)@127.0.0.1:1"), "\(result.output)")
    }

    @Test(arguments: [
        ("http://127.0.0.1:99999", "fix: URL=http://127.0.0.1:99999 cannot be used: the port 99999 is out of range"),
        ("http://127.0.0.1:41001#x", "fix: URL=http://127.0.0.1:41001#x cannot be used: it has a #fragment"),
        ("http://[::1", "fix: URL=http://[::1 cannot be used: an IPv6 address in [ has no closing ]"),
    ])
    func aURLTheClientCannotUseFailsAtTheConfigurationWithTheReason(url: String, expected: String) async throws {
        let result = try await check(["URL": url])
        #expect(result.status == 1)
        #expect(result.output.hasPrefix("FAIL  configuration"), "\(result.output)")
        #expect(result.output.split(separator: "\n").count == 2, "one FAIL line and the fix: \(result.output)")
        #expect(fix(result).hasPrefix(expected), "\(result.output)")
    }

    @Test func credentialsInTheURLAreTheSignInAndARefusalSaysSo() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.requireBasicAuth(username: "sluice", password: "the-right-one")
        let wrong = proxy.url.replacing("http://", with: "http://sluice:not-it-5521@")
        let result = try await check(["URL": wrong])
        #expect(result.status == 1)
        #expect(result.output.contains("sign-in basic from URL as sluice"), "\(result.output)")
        #expect(fix(result).hasPrefix("fix: the cluster refused the user and password in URL"), "\(result.output)")
        #expect(!(result.output + result.error).contains("not-it-5521"))

        let right = proxy.url.replacing("http://", with: "http://sluice:the-right-one@")
        let passed = try await check(["URL": right, "FUNCTION_INDEX": "check-url-auth-fn"])
        #expect(passed.status == 0, "\(passed.output)")
        #expect(passed.output.contains("ok    sign-in       basic from URL as sluice"), "\(passed.output)")
    }

    @Test func aServerThatIsNotOpenSearchFailsAtTheConnection() async throws {
        // Whatever is asked, a web page: no step after the connection may pass.
        let proxy = try await FaultProxy.webPage(client: HTTPClient.shared)
        defer { proxy.stop() }
        let result = try await check(["URL": proxy.url])
        #expect(result.status == 1)
        #expect(
            result.output.contains(
                "FAIL  connection    URL does not point at OpenSearch (GET / answered 200 text/html, not OpenSearch's JSON with version.number)"
            ), "\(result.output)")
        // Nothing after the connection: no sign-in, cluster, index or write step.
        #expect(result.output.split(separator: "\n").count == 4, "\(result.output)")
        #expect(fix(result).hasPrefix("fix: set URL to the cluster's endpoint"))
    }

    @Test func refusedISMIsAWarningNotNoISM() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.inject([["kind": "status", "status": 403, "match": "_plugins/_ism", "count": 10]])
        let result = try await check(["URL": proxy.url, "FUNCTION_INDEX": "check-ism-403-fn"])
        #expect(result.status == 0, "shipping needs no ISM: \(result.output)")
        #expect(!result.output.contains("no ISM here"), "\(result.output)")
        #expect(
            result.output.contains("warn  retention     GET /_plugins/_ism/policies answered 403"), "\(result.output)")
        #expect(result.output.contains("cluster:admin/opendistro/ism/policy/search"))
        #expect(fix(result) == "ready: Sluice can ship to OpenSearch as configured (but see the warning above)")
    }

    @Test func aServerErrorCreatingTheIndexIsNotCalledAPermission() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: HTTPClient.shared)
        defer { proxy.stop() }
        try await proxy.inject([["kind": "status", "status": 500, "match": "check-500-fn-sluice-check", "count": 1]])
        let result = try await check(["URL": proxy.url, "FUNCTION_INDEX": "check-500-fn"])
        #expect(result.status == 1)
        #expect(result.output.contains("FAIL  create index  PUT /check-500-fn-sluice-check answered HTTP 500"))
        #expect(fix(result).hasPrefix("fix: the cluster failed with a server error (not a permission)"))
    }

    @Test func httpsToAPlainHTTPPortSaysSoAndPrintsNoInternalPath() async throws {
        let proxy = try await FaultProxy.start(upstream: "http://127.0.0.1:1", client: HTTPClient.shared)
        defer { proxy.stop() }
        let result = try await check(["URL": proxy.url.replacing("http://", with: "https://")])
        #expect(result.status == 1)
        #expect(result.output.contains("answered without TLS"), "\(result.output)")
        #expect(!result.output.contains(" at /") && !result.output.contains(".build"), "\(result.output)")
        #expect(fix(result).hasPrefix("fix: the server answered without TLS: use http:// in URL"), "\(result.output)")
    }

    @Test func aPasswordWithoutAUserIsANoteWhenOpen() async throws {
        let result = try await check(["URL": "http://127.0.0.1:1", "SLUICE_PASSWORD": "lonely-pw-3318"])
        #expect(
            result.output.contains(
                "note  configuration SLUICE_PASSWORD is set without SLUICE_USERNAME: set SLUICE_USERNAME too"),
            "\(result.output)")
        #expect(!(result.output + result.error).contains("lonely-pw-3318"))
    }
}
