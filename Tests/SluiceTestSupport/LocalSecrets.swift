public import AsyncHTTPClient
import Foundation
import NIOCore
public import SluiceAWS
import SluiceTime

/// The local Secrets Manager (moto) with signature checking on, and the calls a test needs to
/// create and rotate a secret.
public struct LocalSecrets: Sendable {
    public let server: ToolServer
    /// A role session moto accepts: the credentials Lambda would give the function.
    public let session: AWSCredentials
    public let client: HTTPClient

    /// Starts a local Secrets Manager with signature checking, off the cooperative pool.
    public static func start(client: HTTPClient) async throws -> LocalSecrets {
        try await offThePool { try LocalSecrets(client: client) }
    }

    init(client: HTTPClient) throws {
        server = try ToolServer(tool: "secretsmanager")
        let result = try runTool("secretsmanager", ["verify-signatures", "--dir", server.folder.path])
        guard result.status == 0,
            let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any],
            let session = json["session"] as? [String: String], let key = session["access_key_id"],
            let secret = session["secret_access_key"], let token = session["session_token"]
        else { throw ToolError("tools/secretsmanager verify-signatures failed: \(result.error)") }
        self.session = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: token)
        self.client = client
    }

    /// The environment a Lambda function would have, pointed at this server.
    public var environment: [String: String] {
        [
            "AWS_ACCESS_KEY_ID": session.accessKeyID, "AWS_SECRET_ACCESS_KEY": session.secretAccessKey,
            "AWS_SESSION_TOKEN": session.sessionToken ?? "", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": server.url,
        ]
    }

    /// Creates the secret, or gives it a new value (a rotation).
    public func put(id: String, username: String, password: String) async throws {
        let value = String(
            decoding: try JSONSerialization.data(withJSONObject: ["username": username, "password": password]),
            as: UTF8.self)
        try await put(id: id, value: value)
    }

    /// Creates the secret with any string value, or gives it that value.
    public func put(id: String, value: String) async throws {
        let created = try await call("CreateSecret", ["Name": id, "SecretString": value])
        if created == 400 {
            _ = try await call("PutSecretValue", ["SecretId": id, "SecretString": value])
        }
    }

    /// A signed Secrets Manager call; returns the HTTP status.
    func call(_ action: String, _ body: [String: String]) async throws -> Int {
        let payload = Array(try JSONSerialization.data(withJSONObject: body))
        let url = server.url + "/"
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", "secretsmanager.\(action)"),
        ]
        headers +=
            SigV4Signer(credentials: session, region: "us-east-1", service: "secretsmanager")
            .sign(method: "POST", url: url, headers: headers, body: payload, date: UTCTime.nowMilliseconds()).headers
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: payload))
        let response = try await client.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return Int(response.status.code)
    }
}
