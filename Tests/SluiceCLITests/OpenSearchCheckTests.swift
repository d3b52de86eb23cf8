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

    @Test func credentialsInTheURLAreNotPrinted() async throws {
        let result = try await check(["URL": "http://admin:s3cr3t-in-url@127.0.0.1:1"])
        #expect(result.status == 1)
        #expect(!(result.output + result.error).contains("s3cr3t-in-url"), "\(result.output)")
    }
}
