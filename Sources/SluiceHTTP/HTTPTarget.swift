/// Where a request goes: an `http` or `https` URL taken apart, strictly (no fragment, no spaces).
public struct HTTPTarget: Sendable, Hashable {
    public let secure: Bool
    /// The host as written, without the brackets of an IPv6 literal.
    public let host: String
    public let port: Int
    /// The path and query, starting with `/`.
    public let pathAndQuery: String
    /// `user:password` of the URL, percent-decoded: sent as Basic authentication, as curl does.
    let userinfo: String?

    /// The `Authorization` header for the URL's user info.
    var basicAuthorization: String? { userinfo.map(Self.basicAuthorization) }

    /// The `Authorization` header value of HTTP Basic authentication for `user:password`.
    public static func basicAuthorization(_ userAndPassword: String) -> String {
        "Basic " + Base64.encode(userAndPassword.utf8)
    }

    /// `url` without its user info, for messages: a password in a URL is never printed, whatever
    /// the URL's shape. Everything from after the scheme's `://` (or from the start, when there is
    /// none) to the last `@` is hidden: a password may hold a raw `/`, `?`, `#` or `@` that a parser
    /// would take for the end of the user info, so no end but the last `@` is safe to trust. A
    /// `://` counts only after a scheme's characters (a password may hold one too).
    public static func redacted(_ url: String) -> String {
        var rest: Substring = url[...]
        if let separator = url.firstRange(of: "://"),
            !url[..<separator.lowerBound].isEmpty,
            url[..<separator.lowerBound].allSatisfy({
                $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".")
            })
        {
            rest = url[separator.upperBound...]
        }
        guard let at = rest.lastIndex(of: "@") else { return url }
        return String(url[..<rest.startIndex]) + "(credentials hidden)@" + rest[rest.index(after: at)...]
    }

    /// Whether the URL carries a user and password (sent as Basic authentication).
    public var hasCredentials: Bool { userinfo != nil }

    /// The user of the URL's user info, for messages (never the password).
    public var username: String? {
        userinfo.map { String($0.prefix { $0 != ":" }) }
    }

    /// The pool's key: requests to one origin share connections.
    var origin: Origin { Origin(secure: secure, host: host, port: port) }

    struct Origin: Hashable {
        let secure: Bool
        let host: String
        let port: Int
    }

    /// The `Host` header: the port only when it is not the scheme's own.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }

    /// Whether the host is an address rather than a name (no SNI, no name to check a certificate for).
    var hostIsAddress: Bool {
        host.contains(":")
            || (!host.isEmpty && host.utf8.allSatisfy { $0 == UInt8(ascii: ".") || ($0 >= 48 && $0 <= 57) })
    }

    /// Parses `url`; nil when it is not an absolute `http`/`https` URL with a host.
    public init?(_ url: String) {
        guard case .success(let target) = Self.parse(url) else { return nil }
        self = target
    }

    /// Why a URL cannot be used; each says what to write instead. None quotes the URL's user info.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case notHTTP
        case noHost
        /// Not echoed: with a raw `/` in a password, what reads as the port is part of it.
        case badPort
        case portOutOfRange(Int)
        case fragment
        case space
        case unclosedBracket
        case afterBracket
        /// An `@` after the host part: a user info with a raw `/`, `?` or `#` (or `@`).
        case rawDelimiterInUserinfo

        public var description: String {
            switch self {
            case .notHTTP: "it does not begin with http:// or https://"
            case .noHost: "it names no host"
            case .badPort: "what follows the host's : is not a port number: write e.g. :9200"
            case .portOutOfRange(let port): "the port \(port) is out of range: a port is 1 to 65535"
            case .fragment: "it has a #fragment, which no request can send: remove it"
            case .space: "it holds a space: percent-encode it as %20"
            case .unclosedBracket: "an IPv6 address in [ has no closing ]: write e.g. http://[::1]:9200"
            case .afterBracket: "after an IPv6 address's ] only :PORT may follow"
            case .rawDelimiterInUserinfo:
                "there is an @ after the host part: percent-encode /, ?, # and @ in the user and password (%2F, %3F, %23, %40)"
            }
        }
    }

    /// Parses `url` as `init?` does, saying why when it cannot: the scheme in any case
    /// (`HTTPS://` is `https://`), the user info up to the last `@` of the authority, a host (an
    /// IPv6 literal in brackets), a port from 1 to 65535, and a path and query without a fragment.
    /// `endpoint`: `url` is a base URL that a user wrote (an OpenSearch endpoint), whose path
    /// has no reason to hold an `@`: one there is a password's `/`, `?` or `#` left raw.
    public static func parse(_ url: String, endpoint: Bool = false) -> Result<HTTPTarget, Problem> {
        let secure: Bool
        var rest: Substring
        let scheme = url.prefix(8).lowercased()
        if scheme.hasPrefix("https://") {
            secure = true
            rest = url.dropFirst(8)
        } else if scheme.hasPrefix("http://") {
            secure = false
            rest = url.dropFirst(7)
        } else {
            return .failure(.notHTTP)
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        if endpoint, rest.contains("@") { return .failure(.rawDelimiterInUserinfo) }
        var userinfo: String?
        if let at = authority.lastIndex(of: "@") {
            userinfo = Self.percentDecoded(authority[..<at])
            authority = authority[authority.index(after: at)...]
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(.unclosedBracket) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(.afterBracket) }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return .failure(.noHost) }
        var port = secure ? 443 : 80
        if let portText {
            guard let number = Int(portText) else { return .failure(.badPort) }
            guard (1...65_535).contains(number) else { return .failure(.portOutOfRange(number)) }
            port = number
        }
        if rest.contains("#") { return .failure(.fragment) }
        if authority.contains(" ") || rest.contains(" ") { return .failure(.space) }
        return .success(
            HTTPTarget(
                secure: secure, host: String(host), port: port,
                pathAndQuery: rest.hasPrefix("/") ? String(rest) : "/" + rest, userinfo: userinfo))
    }

    private init(secure: Bool, host: String, port: Int, pathAndQuery: String, userinfo: String?) {
        self.secure = secure
        self.host = host
        self.port = port
        self.pathAndQuery = pathAndQuery
        self.userinfo = userinfo
    }

    /// `text` with each `%XX` replaced by its byte; a `%` not followed by two hex digits stays.
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case 48...57: byte - 48
            case 65...70: byte - 55
            case 97...102: byte - 87
            default: nil
            }
        }
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let high = hex(utf8[utf8.startIndex]),
                let low = hex(utf8[utf8.startIndex + 1])
            {
                bytes.append(high << 4 | low)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
