import SluiceDigest
import SluiceJSON
import SluiceTime

/// AWS Signature Version 4 for one service in one region (`es`, `aoss`, `secretsmanager`).
public struct SigV4Signer: Sendable {
    public let credentials: AWSCredentials
    public let region: String
    public let service: String

    /// Whether requests carry (and sign) `X-Amz-Content-Sha256`: OpenSearch Service and Serverless
    /// require it; other services take the payload hash from the canonical request alone.
    public let signsContentHashHeader: Bool

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.signsContentHashHeader = service == "es" || service == "aoss"
    }

    /// What signing produced: the headers to add, and the intermediate strings for tests.
    public struct Signature: Sendable {
        /// `Authorization`, `X-Amz-Date`, `X-Amz-Content-Sha256` and, with a session token,
        /// `X-Amz-Security-Token`.
        public let headers: [(name: String, value: String)]
        public let canonicalRequest: String
        public let stringToSign: String
    }

    /// Headers that proxies and clients change on the way, so they are never signed.
    static let unsigned: Set<String> = ["user-agent", "expect", "x-amzn-trace-id", "content-length", "connection"]

    /// Signs a request. `headers` are the ones the request will carry (Host is derived from `url`
    /// when absent); `url` is the full URL as sent, its path and query percent-encoded. The result's
    /// headers are the ones to add.
    public func sign(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8],
        date milliseconds: Int64
    ) -> Signature {
        let target = RequestTarget(url)
        let amzDate = UTCTime.compact(milliseconds: milliseconds)
        let day = String(amzDate.prefix(8))
        let payloadHash = Hex.encode(SHA256.hash(body))

        var signed: [String: String] = [:]
        for (name, value) in headers where !Self.unsigned.contains(name.lowercased()) {
            let key = name.lowercased()
            let trimmed = Self.trimmed(value)
            signed[key] = signed[key].map { $0 + "," + trimmed } ?? trimmed
        }
        if signed["host"] == nil { signed["host"] = target.hostHeader }
        signed["x-amz-date"] = amzDate
        if signsContentHashHeader { signed["x-amz-content-sha256"] = payloadHash }
        if let token = credentials.sessionToken { signed["x-amz-security-token"] = token }
        let names = signed.keys.sorted()

        let canonicalRequest = [
            method.uppercased(),
            Self.canonicalPath(target.path),
            Self.canonicalQuery(target.query),
            names.map { "\($0):\(signed[$0]!)\n" }.joined(),
            names.joined(separator: ";"),
            payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", amzDate, scope, Hex.encode(SHA256.hash(canonicalRequest.utf8)),
        ].joined(separator: "\n")

        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [day, region, service, "aws4_request"] {
            key = HMACSHA256.code(key: key, message: part.utf8)
        }
        let signature = Hex.encode(HMACSHA256.code(key: key, message: stringToSign.utf8))

        var added: [(name: String, value: String)] = [
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
                    + "SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
            ),
            ("X-Amz-Date", amzDate),
        ]
        if signsContentHashHeader && !headers.contains(where: { $0.name.lowercased() == "x-amz-content-sha256" }) {
            added.append(("X-Amz-Content-Sha256", payloadHash))
        }
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }
        return Signature(headers: added, canonicalRequest: canonicalRequest, stringToSign: stringToSign)
    }

    /// The path, each segment percent-encoded once more as SigV4 requires for every service but S3.
    static func canonicalPath(_ path: String) -> String {
        let path = path.isEmpty ? "/" : path
        return path.split(separator: "/", omittingEmptySubsequences: false)
            .map { percentEncode(String($0)) }
            .joined(separator: "/")
    }

    /// Query parameters decoded, re-encoded strictly, and sorted by name and then value.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs: [(name: String, value: String)] = []
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentEncode(percentDecode(String(parts[0])))
            let value = parts.count > 1 ? percentEncode(percentDecode(String(parts[1]))) : ""
            pairs.append((name, value))
        }
        pairs.sort { left, right in left.name == right.name ? left.value < right.value : left.name < right.name }
        return pairs.map { pair in pair.name + "=" + pair.value }.joined(separator: "&")
    }

    /// RFC 3986 encoding: everything but unreserved characters.
    static func percentEncode(_ text: String) -> String {
        var out = ""
        let digits = Array("0123456789ABCDEF".utf8)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(digits[Int(byte & 0xF)]))
            }
        }
        return out
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x7E
    }

    static func percentDecode(_ text: String) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func trimmed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
