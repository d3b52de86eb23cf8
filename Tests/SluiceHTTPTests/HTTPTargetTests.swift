import Foundation
import SluiceHTTP
import Testing

@Suite struct HTTPTargetTests {
    @Test func basicAuthorizationIsStandardBase64WithPadding() {
        // Every length modulo 3, bytes of every value: the same as Foundation's encoder.
        var bytes: [UInt8] = []
        for length in 0..<70 {
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(
                HTTPTarget.basicAuthorization(text) == "Basic " + Data(text.utf8).base64EncodedString(),
                "\(length) bytes")
            bytes.append(UInt8(truncatingIfNeeded: length * 37 + 11) & 0x7F)
        }
        #expect(HTTPTarget.basicAuthorization("user:pässword") == "Basic dXNlcjpww6Rzc3dvcmQ=")
    }

    @Test(arguments: [
        ("http://user:hunter2@127.0.0.1:9200/p", "http://(credentials hidden)@127.0.0.1:9200/p"),
        ("HTTPS://user:hunter2@127.0.0.1:41007", "HTTPS://(credentials hidden)@127.0.0.1:41007"),
        ("user:hunter2@127.0.0.1:41001", "(credentials hidden)@127.0.0.1:41001"),
        ("hxxp://user:hunter2@127.0.0.1", "hxxp://(credentials hidden)@127.0.0.1"),
        ("http://user:hun/ter2@127.0.0.1:41001", "http://(credentials hidden)@127.0.0.1:41001"),
        ("http://user:hun#ter2@127.0.0.1", "http://(credentials hidden)@127.0.0.1"),
        ("http://user:hun?ter2@127.0.0.1", "http://(credentials hidden)@127.0.0.1"),
        ("http://user:hun@ter2@127.0.0.1", "http://(credentials hidden)@127.0.0.1"),
        ("https:/user:hunter2@127.0.0.1", "(credentials hidden)@127.0.0.1"),
        ("user:hun://ter2@127.0.0.1", "(credentials hidden)@127.0.0.1"),
        ("http://user:hun://ter2@127.0.0.1", "http://(credentials hidden)@127.0.0.1"),
        ("http://127.0.0.1:9200/prefix", "http://127.0.0.1:9200/prefix"),
    ])
    func redactionHidesEverythingUpToTheLastAtWhateverTheShape(url: String, redacted: String) {
        #expect(HTTPTarget.redacted(url) == redacted)
        #expect(!HTTPTarget.redacted(url).contains("hunter2") && !HTTPTarget.redacted(url).contains("ter2"))
    }

    @Test func theSchemeIsReadInAnyCase() throws {
        let target = try #require(HTTPTarget("HTTPS://Search.example.com:9200/prefix"))
        #expect(target.secure && target.port == 9200 && target.pathAndQuery == "/prefix")
        #expect(HTTPTarget("Http://127.0.0.1")?.secure == false)
        #expect(HTTPTarget("hxxp://127.0.0.1") == nil)
    }

    @Test(arguments: [
        ("ftp://host", HTTPTarget.Problem.notHTTP),
        ("http://", .noHost),
        ("http://127.0.0.1:99999", .portOutOfRange(99999)),
        ("http://127.0.0.1:0", .portOutOfRange(0)),
        ("http://127.0.0.1:http", .badPort),
        ("http://127.0.0.1:41001#x", .fragment),
        ("http://127.0.0.1/a b", .space),
        ("http://[::1", .unclosedBracket),
        ("http://[::1]x", .afterBracket),
    ])
    func anUnusableURLSaysWhy(url: String, problem: HTTPTarget.Problem) {
        guard case .failure(let found) = HTTPTarget.parse(url) else {
            Issue.record("\(url) parsed")
            return
        }
        #expect(found == problem, "\(url)")
        #expect(HTTPTarget(url) == nil)
    }

    @Test func anEndpointWithAnAtAfterItsHostIsARawDelimiterInThePassword() {
        // Read as a request URL it is host "user", port 1; as an endpoint it is a mistyped password.
        #expect(HTTPTarget("http://user:1/ter2@127.0.0.1")?.host == "user")
        guard case .failure(let problem) = HTTPTarget.parse("http://user:1/ter2@127.0.0.1", endpoint: true) else {
            Issue.record("parsed")
            return
        }
        #expect(problem == .rawDelimiterInUserinfo)
        #expect(!problem.description.contains("ter2"))
        // Percent-encoded, it is the user info it was meant to be.
        let encoded = HTTPTarget.parse("http://user:hun%2Fter2@127.0.0.1:41001", endpoint: true)
        guard case .success(let target) = encoded else {
            Issue.record("\(encoded)")
            return
        }
        #expect(target.host == "127.0.0.1" && target.username == "user" && target.hasCredentials)
    }
}
