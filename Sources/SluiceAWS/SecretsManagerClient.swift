public import NIOCore
import NIOHTTP1
public import SluiceHTTP
import SluiceJSON
import SluiceTime

/// `GetSecretValue` over SigV4, with the endpoint overridable for tests
/// (`AWS_ENDPOINT_URL_SECRETS_MANAGER`, then `AWS_ENDPOINT_URL`).
public struct SecretsManagerClient: Sendable {
    public let httpClient: HTTP1Client
    public let endpoint: String
    public let signer: SigV4Signer
    public let timeout: TimeAmount

    public init(httpClient: HTTP1Client, endpoint: String, signer: SigV4Signer, timeout: TimeAmount = .seconds(5)) {
        self.httpClient = httpClient
        self.endpoint = endpoint
        self.signer = signer
        self.timeout = timeout
    }

    /// The client Lambda's environment describes: its credentials and region, and an endpoint
    /// override if one is set.
    public static func fromEnvironment(
        _ environment: [String: String], httpClient: HTTP1Client, timeout: TimeAmount = .seconds(5)
    ) throws
        -> SecretsManagerClient
    {
        guard let credentials = AWSCredentials.fromEnvironment(environment) else {
            throw AWSError(
                .missingCredentials,
                "AUTH_SECRET is set but AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not in the environment; "
                    + "Lambda sets them for the function's role, so run inside Lambda or export them")
        }
        let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"] ?? "us-east-1"
        let endpoint =
            environment["AWS_ENDPOINT_URL_SECRETS_MANAGER"] ?? environment["AWS_ENDPOINT_URL"]
            ?? "https://secretsmanager.\(region).amazonaws.com"
        return SecretsManagerClient(
            httpClient: httpClient, endpoint: endpoint,
            signer: SigV4Signer(credentials: credentials, region: region, service: "secretsmanager"), timeout: timeout)
    }

    /// The `SecretString` of a secret.
    public func secretString(id: String) async throws -> String {
        let body = Array(#"{"SecretId":"#.utf8) + JSONText.stringToken(id) + [UInt8(ascii: "}")]
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/x-amz-json-1.1"),
            ("X-Amz-Target", "secretsmanager.GetSecretValue"),
        ]
        let url = endpoint.hasSuffix("/") ? endpoint : endpoint + "/"
        headers +=
            signer.sign(method: "POST", url: url, headers: headers, body: body, date: UTCTime.nowMilliseconds())
            .headers
        let answer: HTTP1Answer
        do {
            answer = try await httpClient.execute(
                .POST, url, headers: headers, body: body, deadline: .now() + timeout, maxAnswerBytes: 1 << 20)
        } catch {
            throw AWSError(.unavailable, "Secrets Manager at \(endpoint) could not be reached: \(error)")
        }
        let status = answer.status
        guard (200..<300).contains(status) else {
            let detail = String(decoding: answer.body.prefix(300), as: UTF8.self)
            throw AWSError(
                status >= 500 || status == 429 ? .unavailable : .rejected,
                "Secrets Manager answered \(status) for secret \(id): \(detail)"
                    + (status == 400 || status == 403
                        ? " (check AUTH_SECRET and that the function's role may secretsmanager:GetSecretValue it)"
                        : ""),
                status: status)
        }
        return try Self.secretString(fromAnswer: answer.body, id: id)
    }

    /// The `SecretString` of the body of a 2xx `GetSecretValue` answer for secret `id`.
    public static func secretString(fromAnswer body: [UInt8], id: String) throws -> String {
        guard let (answer, root) = JSONReader.document(body), let secret = answer.string("SecretString", of: root)
        else {
            throw AWSError(.badResponse, "Secrets Manager's answer for secret \(id) has no SecretString")
        }
        return secret
    }

    /// The `{username, password}` JSON of a secret.
    public func basicCredentials(id: String) async throws -> (username: String, password: String) {
        try Self.basicCredentials(fromSecret: try await secretString(id: id), id: id)
    }

    /// The `{username, password}` of the text of secret `id`.
    public static func basicCredentials(
        fromSecret secret: String, id: String
    ) throws -> (
        username: String, password: String
    ) {
        guard let (basic, root) = JSONReader.document(Array(secret.utf8)),
            let username = basic.string("username", of: root), let password = basic.string("password", of: root)
        else {
            throw AWSError(
                .badResponse, "secret \(id) is not JSON with string fields \"username\" and \"password\"")
        }
        return (username, password)
    }
}
