import SluiceAWS

/// `secret`: the body of a Secrets Manager `GetSecretValue` answer, then the secret's text as the
/// `{username, password}` of basic auth.
///
/// Where the reference reader finds an unambiguous `SecretString` (no duplicate key, no lone
/// surrogate) the client must return exactly it, and likewise the username and password; anything
/// else must be refused with a `bad_response` error that names the secret.
enum SecretOracle {
    static let id = "fuzz/secret"

    static func check(_ body: [UInt8]) -> [String] {
        var problems: [String] = []
        let reference = ReferenceJSON.parse(body)
        let unambiguous = reference.map { !$0.hasDuplicateKeys } ?? false
        let expected = unambiguous ? reference?.member("SecretString")?.text : nil
        let secret: String
        do {
            secret = try SecretsManagerClient.secretString(fromAnswer: body, id: id)
        } catch {
            problems += refusal(error)
            if let expected { problems.append("refused an answer whose SecretString is \(expected.debugDescription)") }
            return problems
        }
        if let expected, expected != secret {
            problems.append(
                "read SecretString \(secret.debugDescription) where the answer has \(expected.debugDescription)")
        }
        if reference == nil, unambiguous {
            problems.append("read a SecretString from an answer that is not JSON")
        }
        let inner = ReferenceJSON.parse(Array(secret.utf8))
        let innerUnambiguous = inner.map { !$0.hasDuplicateKeys } ?? false
        let username = innerUnambiguous ? inner?.member("username")?.text : nil
        let password = innerUnambiguous ? inner?.member("password")?.text : nil
        do {
            let basic = try SecretsManagerClient.basicCredentials(fromSecret: secret, id: id)
            if let username, let password, basic != (username, password) {
                problems.append("read credentials \(basic) where the secret has \((username, password))")
            }
        } catch {
            problems += refusal(error)
            if username != nil, password != nil { problems.append("refused a secret with a username and a password") }
        }
        return problems
    }

    static func refusal(_ error: any Error) -> [String] {
        guard let error = error as? AWSError else { return ["refused with \(type(of: error)), not an AWSError"] }
        var problems: [String] = []
        if error.code != .badResponse { problems.append("refused with code \(error.code), not bad_response") }
        if !error.message.contains(id) { problems.append("the refusal does not name the secret: \(error.message)") }
        return problems
    }
}
