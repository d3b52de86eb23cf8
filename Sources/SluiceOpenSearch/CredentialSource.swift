import SluiceAWS
import SluiceHTTP
import SluiceTime

/// The headers that authenticate a request, and their refresh after a 401/403.
final class CredentialSource: Sendable {
    let auth: OpenSearchAuth
    let environment: [String: String]
    let httpClient: HTTP1Client
    private let cache = SecretCache()

    init(auth: OpenSearchAuth, environment: [String: String], httpClient: HTTP1Client) {
        self.auth = auth
        self.environment = environment
        self.httpClient = httpClient
    }

    /// Whether reading the credentials again could change them.
    var canRefresh: Bool {
        if case .secret = auth { return true }
        return false
    }

    func headers(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]
    ) async throws
        -> [(name: String, value: String)]
    {
        switch auth {
        case .none:
            return []
        case .basic(let username, let password):
            return [("Authorization", Self.basic(username, password))]
        case .secret(let id):
            let (username, password) = try await cache.credentials {
                try await SecretsManagerClient.fromEnvironment(self.environment, httpClient: self.httpClient)
                    .basicCredentials(id: id)
            }
            return [("Authorization", Self.basic(username, password))]
        case .sigV4(let service, let region):
            guard let credentials = AWSCredentials.fromEnvironment(environment) else {
                throw AWSError(
                    .missingCredentials,
                    "SigV4 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (Lambda sets them)")
            }
            return SigV4Signer(credentials: credentials, region: region, service: service)
                .sign(method: method, url: url, headers: headers, body: body, date: UTCTime.nowMilliseconds())
                .headers
        }
    }

    /// Forgets cached credentials so the next request reads them again.
    func refresh() async {
        await cache.forget()
    }

    static func basic(_ username: String, _ password: String) -> String {
        HTTPTarget.basicAuthorization("\(username):\(password)")
    }
}

/// The secret's username and password, fetched once and kept until a refresh.
actor SecretCache {
    private var value: (String, String)?

    func credentials(
        fetch: @Sendable () async throws -> (username: String, password: String)
    ) async throws
        -> (String, String)
    {
        if let value { return value }
        let fetched = try await fetch()
        value = (fetched.username, fetched.password)
        return (fetched.username, fetched.password)
    }

    func forget() { value = nil }
}
