import Foundation
import SluiceAWS
import SluiceTestSupport
import SluiceTime
import Testing

/// The signer against vectors from botocore's signer (Tests/Fixtures/sigv4/generate.py).
@Suite struct SigV4SignerTests {
    struct Vector: Decodable, CustomTestStringConvertible {
        struct Expected: Decodable {
            let canonical_request: String
            let string_to_sign: String
            let authorization: String
            let x_amz_date: String
            let x_amz_security_token: String?
            let headers_after_signing: [String: String]
        }
        let name: String
        let service: String
        let region: String
        let method: String
        let url: String
        let headers: [String: String]
        let body_base64: String
        let access_key_id: String
        let secret_access_key: String
        let session_token: String?
        let expected: Expected

        var testDescription: String { name }
    }

    static let vectors: [Vector] = {
        let file = packageRoot.appendingPathComponent("Tests/Fixtures/sigv4/vectors.json")
        return (try? JSONDecoder().decode([Vector].self, from: Data(contentsOf: file))) ?? []
    }()

    @Test func vectorsCoverEveryServiceWeSign() {
        #expect(Set(Self.vectors.map(\.service)) == ["es", "aoss", "secretsmanager"])
        #expect(Self.vectors.contains { $0.session_token != nil })
        #expect(Self.vectors.contains { $0.headers["Content-Encoding"] == "gzip" })
    }

    @Test(arguments: vectors)
    func signsLikeBotocore(vector: Vector) throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: vector.access_key_id, secretAccessKey: vector.secret_access_key,
                sessionToken: vector.session_token),
            region: vector.region, service: vector.service)
        let body = try #require(Data(base64Encoded: vector.body_base64))
        let signature = signer.sign(
            method: vector.method, url: vector.url, headers: vector.headers.map { ($0.key, $0.value) },
            body: Array(body), date: UTCTime.parseISO8601("2026-11-25T12:00:00Z")!)
        #expect(signature.canonicalRequest == vector.expected.canonical_request)
        #expect(signature.stringToSign == vector.expected.string_to_sign)
        let added = Dictionary(uniqueKeysWithValues: signature.headers.map { ($0.name.lowercased(), $0.value) })
        #expect(added["authorization"] == vector.expected.authorization)
        #expect(added["x-amz-date"] == vector.expected.x_amz_date)
        #expect(added["x-amz-security-token"] == vector.expected.x_amz_security_token)
        // Together with the given headers, exactly the headers botocore's request carries.
        var all = Dictionary(uniqueKeysWithValues: vector.headers.map { ($0.key.lowercased(), $0.value) })
        all.merge(added) { $1 }
        let expected = Dictionary(
            uniqueKeysWithValues: vector.expected.headers_after_signing.map { ($0.key.lowercased(), $0.value) })
        #expect(all == expected)
    }

    @Test func credentialsNeverPrintTheirSecret() {
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "hush", sessionToken: "tok")
        #expect(!"\(credentials)".contains("hush"))
        #expect(!"\(credentials)".contains("tok"))
    }
}
