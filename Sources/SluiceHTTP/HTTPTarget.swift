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

    /// `url` without its user info, for messages: a password in a URL is never printed.
    public static func redacted(_ url: String) -> String {
        guard let scheme = url.firstRange(of: "://") else { return url }
        let rest: Substring = url[scheme.upperBound...]
        let authorityEnd: String.Index = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        let tail: Substring = rest[rest.index(after: at)...]
        return String(url[..<scheme.upperBound]) + "(credentials hidden)@" + tail
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
        let secure: Bool
        var rest: Substring
        if url.hasPrefix("https://") {
            secure = true
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            secure = false
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        rest = rest[authorityEnd...]
        guard !rest.contains("#"), !rest.contains(" ") else { return nil }
        var userinfo: String?
        if let at = authority.lastIndex(of: "@") {
            userinfo = Self.percentDecoded(authority[..<at])
            authority = authority[authority.index(after: at)...]
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { return nil }
        var port = secure ? 443 : 80
        if let portText {
            guard let number = Int(portText), (1...65_535).contains(number) else { return nil }
            port = number
        }
        self.secure = secure
        self.host = String(host)
        self.port = port
        self.pathAndQuery = rest.hasPrefix("/") ? String(rest) : "/" + rest
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
