import AsyncHTTPClient
import NIOCore
import SluiceAWS
import SluiceHTTP
import SluiceTestSupport
import Testing

/// `GetSecretValue` against a local Secrets Manager that checks SigV4 signatures.
@Suite(.timeLimit(.minutes(2))) struct SecretsManagerTests {
    /// The client's deadline per request here: the local server (moto) can take seconds to answer
    /// while forty suites share two cores, which the production default (5 s) is not meant for.
    static let timeout = TimeAmount.seconds(30)
    /// The local Secrets Manager (set up over its own client) and the client the code under test uses.
    func withSecrets(_ body: (LocalSecrets, HTTP1Client) async throws -> Void) async throws {
        let control = HTTPClient(eventLoopGroupProvider: .singleton)
        let client = HTTP1Client()
        do {
            let secrets = try await LocalSecrets.start(client: control)
            defer { secrets.server.stop() }
            try await body(secrets, client)
        } catch {
            await client.shutdown()
            try? await control.shutdown()
            throw error
        }
        await client.shutdown()
        try await control.shutdown()
    }

    @Test func readsTheCurrentValueAfterARotation() async throws {
        try await withSecrets { secrets, client in
            try await secrets.put(id: "sluice/opensearch", username: "admin", password: "first")
            let manager = try SecretsManagerClient.fromEnvironment(
                secrets.environment, httpClient: client, timeout: Self.timeout)
            let first = try await manager.basicCredentials(id: "sluice/opensearch")
            #expect(first.username == "admin" && first.password == "first")

            try await secrets.put(id: "sluice/opensearch", username: "admin", password: "second")
            #expect(try await manager.basicCredentials(id: "sluice/opensearch").password == "second")
        }
    }

    @Test func aBadSignatureOrAMissingSecretIsARejectionThatSaysWhatToCheck() async throws {
        try await withSecrets { secrets, client in
            var environment = secrets.environment
            environment["AWS_SECRET_ACCESS_KEY"] = "not-the-key"
            let forged = try SecretsManagerClient.fromEnvironment(
                environment, httpClient: client, timeout: Self.timeout)
            let refused = try await #require(throws: AWSError.self) { try await forged.secretString(id: "any") }
            #expect(refused.code == .rejected)
            #expect(refused.status == 403)
            #expect(!refused.message.contains("not-the-key"), "no secret in the message")

            let manager = try SecretsManagerClient.fromEnvironment(
                secrets.environment, httpClient: client, timeout: Self.timeout)
            let missing = try await #require(throws: AWSError.self) { try await manager.secretString(id: "nope") }
            #expect(missing.code == .rejected)
            #expect(missing.message.contains("nope"))
        }
    }

    @Test func aSecretThatIsNotUsernameAndPasswordIsABadResponse() async throws {
        try await withSecrets { secrets, client in
            try await secrets.put(id: "plain", value: "hunter2")
            let manager = try SecretsManagerClient.fromEnvironment(
                secrets.environment, httpClient: client, timeout: Self.timeout)
            #expect(try await manager.secretString(id: "plain") == "hunter2")
            let error = try await #require(throws: AWSError.self) { try await manager.basicCredentials(id: "plain") }
            #expect(error.code == .badResponse)
            #expect(!error.message.contains("hunter2"))
            let noCredentials = try #require(throws: AWSError.self) {
                try SecretsManagerClient.fromEnvironment([:], httpClient: client)
            }
            #expect(noCredentials.code == .missingCredentials)
        }
    }
}
