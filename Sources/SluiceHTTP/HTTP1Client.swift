public import NIOCore
public import NIOHTTP1
import NIOPosix
public import NIOSSL
import SluiceTime

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The answer to a request, read whole.
public struct HTTP1Answer: Sendable {
    public let status: Int
    public let headers: HTTPHeaders
    public let body: [UInt8]
}

/// Why a request got no answer, in words a user can act on.
public struct HTTP1Error: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Not an absolute `http`/`https` URL with a host.
        case badURL
        /// The host name does not resolve.
        case unresolved
        /// Nothing listens at the address.
        case refused
        /// No connection within the connect timeout.
        case connectTimeout
        /// The TLS handshake failed (a certificate that does not verify, most often).
        case tls
        /// No whole answer before the request's deadline.
        case timeout
        /// The connection closed or was reset before the answer ended.
        case closed
        /// The answer's body is over the limit the caller set.
        case tooLarge
        /// The bytes that came back are not an HTTP/1.1 answer.
        case malformed
        /// The task that waited for the answer was cancelled.
        case cancelled
        /// The client was shut down.
        case shutDown
        /// Anything else the network said.
        case other
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// Whether the request ran out of time (connecting or waiting for the answer).
    public var isTimeout: Bool { kind == .timeout || kind == .connectTimeout }
}

/// An HTTP/1.1 client with what Sluice needs and nothing else: keep-alive connections per origin,
/// TLS with certificate verification, a deadline per request, a bound on the answer's size, and
/// errors that say what happened. It replaced a general-purpose client whose HTTP/2, proxy,
/// redirect, cookie and tracing code made up a tenth of the layer's binary, and whose creation was
/// the largest step of a cold start.
///
/// A connection serves one request at a time; a request takes an idle connection to its origin or
/// opens one, and gives it back when the answer allows keep-alive. An idle connection older than
/// `Settings.idleTimeout` is closed rather than reused (after a freeze, the server has closed it).
public final class HTTP1Client: Sendable {
    public struct Settings: Sendable {
        /// The longest a connection (TCP and, for `https`, TLS) may take to open.
        public var connectTimeout: TimeAmount
        /// An idle connection older than this is closed rather than reused.
        public var idleTimeout: TimeAmount
        /// Idle connections kept per origin.
        public var maxIdlePerOrigin: Int
        /// For `https`: trust roots and certificate verification.
        public var tls: TLSConfiguration

        public init(
            connectTimeout: TimeAmount = .seconds(2), idleTimeout: TimeAmount = .seconds(60), maxIdlePerOrigin: Int = 4,
            tls: TLSConfiguration = .makeClientConfiguration()
        ) {
            self.connectTimeout = connectTimeout
            self.idleTimeout = idleTimeout
            self.maxIdlePerOrigin = maxIdlePerOrigin
            self.tls = tls
        }
    }

    public let settings: Settings
    private let group: any EventLoopGroup = HTTP1Client.callersEventLoops

    /// Where a client (or the telemetry listener) made now runs its connections: on the event loop
    /// the caller runs on, if it runs on one, else on NIO's shared group. The extension runs all of
    /// its work on its main thread's event loop, and a thread of NIO's group would be one more that
    /// Lambda stops and wakes at every freeze and thaw.
    public static var callersEventLoops: any EventLoopGroup {
        MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton
    }

    private struct Idle {
        let connection: Connection
        let since: NIODeadline
    }

    private struct State {
        var idle: [HTTPTarget.Origin: [Idle]] = [:]
        var open: [ObjectIdentifier: Connection] = [:]
        var shutDown = false
        /// Made at the first `https` request: loading the trust roots costs a plain-HTTP client nothing.
        var tlsContext: NIOSSLContext?
    }

    private let state = Locked(State())

    /// A URL taken apart, with the headers made from it.
    private struct Prepared: Sendable {
        let target: HTTPTarget
        let hostHeader: String
        let basicAuthorization: String?
    }

    /// The URLs requested so far, each parsed once: the extension requests the same few all its
    /// life (`/next` at every invocation), and parsing one was 6,000 instructions.
    private let prepared = Locked<[String: Prepared]>([:])

    private func prepare(_ url: String) -> Prepared? {
        if let known = prepared.withLock({ $0[url] }) { return known }
        guard let target = HTTPTarget(url) else { return nil }
        let made = Prepared(
            target: target, hostHeader: target.hostHeader, basicAuthorization: target.basicAuthorization)
        prepared.withLock { if $0.count < 64 { $0[url] = made } }
        return made
    }

    public init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// Sends one request and reads its answer whole. `deadline` bounds all of it: connecting,
    /// sending, and the answer's last byte. An answer body over `maxAnswerBytes` is an error.
    public func execute(
        _ method: HTTPMethod, _ url: String, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
        deadline: NIODeadline, maxAnswerBytes: Int = 64 << 20
    ) async throws(HTTP1Error) -> HTTP1Answer {
        guard let prepared = prepare(url) else {
            throw HTTP1Error(.badURL, "not an http:// or https:// URL with a host: \(HTTPTarget.redacted(url))")
        }
        let target = prepared.target
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: target.pathAndQuery)
        head.headers.add(name: "Host", value: prepared.hostHeader)
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let basic = prepared.basicAuthorization, !head.headers.contains(name: "Authorization") {
            head.headers.add(name: "Authorization", value: basic)
        }
        if !body.isEmpty || method == .POST || method == .PUT {
            head.headers.replaceOrAdd(name: "Content-Length", value: String(body.count))
        }
        var fresh = false
        var answer: (HTTPResponseHead, ByteBuffer)
        var connection: Connection
        while true {
            let reused: Bool
            (connection, reused) = try await self.connection(to: target, deadline: deadline, fresh: fresh)
            do {
                answer = try await withTaskCancellationHandler {
                    try await connection.send(head, body: body, limit: maxAnswerBytes, deadline: deadline).get()
                } onCancel: { [connection] in
                    connection.fail(HTTP1Error(.cancelled, "the request was cancelled"))
                }
                break
            } catch {
                connection.close()
                // A kept-alive connection the server closed while it sat idle (its idle limit, a
                // restart, a freeze of this process) ends before one byte of the answer: the request
                // goes once more, on a new connection. The pool's other idle connections to the
                // origin are as old, so none of them is taken either.
                if reused, !fresh, let ended = error as? ConnectionEnded, !ended.answerStarted,
                    Self.describe(ended.underlying, target).kind == .closed
                {
                    fresh = true
                    continue
                }
                throw Self.describe(error, target)
            }
        }
        let (responseHead, data) = answer
        if responseHead.isKeepAlive {
            release(connection, target.origin)
        } else {
            connection.close()
        }
        return HTTP1Answer(
            status: Int(responseHead.status.code), headers: responseHead.headers, body: Array(buffer: data))
    }

    /// Closes every connection; requests in flight fail, later ones are refused.
    public func shutdown() async {
        let open = state.withLock { state in
            state.shutDown = true
            state.idle = [:]
            return Array(state.open.values)
        }
        for connection in open {
            connection.fail(HTTP1Error(.shutDown, "the HTTP client was shut down"))
            try? await connection.channel.close()
        }
    }

    /// An idle connection to the origin that is still open and fresh (unless `fresh` asks for a new
    /// one, and closes the idle ones), else a new one; `reused` tells which.
    private func connection(
        to target: HTTPTarget, deadline: NIODeadline, fresh: Bool
    ) async throws(HTTP1Error) -> (Connection, reused: Bool) {
        let now = NIODeadline.now()
        let taken: (reused: Connection?, stale: [Connection], tlsContext: NIOSSLContext?)? = state.withLock { state in
            guard !state.shutDown else { return nil }
            var stale: [Connection] = []
            var found: Connection?
            while found == nil, let idle = state.idle[target.origin]?.popLast() {
                if !fresh && idle.connection.channel.isActive && now - idle.since < settings.idleTimeout {
                    found = idle.connection
                } else {
                    stale.append(idle.connection)
                }
            }
            return (found, stale, state.tlsContext)
        }
        guard let (reused, stale, tlsContext) = taken else {
            throw HTTP1Error(.shutDown, "the HTTP client was shut down")
        }
        for connection in stale { connection.close() }
        if let reused { return (reused, true) }
        return (try await open(target, deadline: deadline, tlsContext: tlsContext), false)
    }

    private func open(
        _ target: HTTPTarget, deadline: NIODeadline, tlsContext: NIOSSLContext?
    ) async throws(HTTP1Error) -> Connection {
        var context = tlsContext
        if target.secure, context == nil {
            do {
                context = try NIOSSLContext(configuration: settings.tls)
            } catch {
                throw HTTP1Error(.tls, "TLS could not be set up: \(error)")
            }
            state.withLock { $0.tlsContext = context }
        }
        let serverName = target.secure && !target.hostIsAddress ? target.host : nil
        var handler = AnswerHandler()
        let channel: any Channel
        // The connect timeout bounds one attempt, the deadline all of them: an attempt that timed
        // out (a lost SYN, a server too busy to accept) is made again while the deadline allows,
        // five attempts at most (a request with no deadline must still end).
        var attempts = 0
        while true {
            attempts += 1
            let remaining = deadline - .now()
            guard remaining > .zero else {
                throw HTTP1Error(.timeout, "no answer from \(target.hostHeader) before the request's deadline")
            }
            handler = AnswerHandler()
            let attempt = handler
            do {
                let bootstrap = ClientBootstrap(group: group)
                    .connectTimeout(min(settings.connectTimeout, remaining))
                    .channelOption(.socketOption(.tcp_nodelay), value: 1)
                    .channelInitializer { [context] channel in
                        channel.eventLoop.makeCompletedFuture {
                            let pipeline = channel.pipeline.syncOperations
                            if let context {
                                try pipeline.addHandler(
                                    NIOSSLClientHandler(context: context, serverHostname: serverName))
                            }
                            try pipeline.addHTTPClientHandlers()
                            try pipeline.addHandler(attempt)
                        }
                    }
                // An address is connected to as it is: the name resolver runs every lookup of an event
                // loop on one serial queue, where a slow lookup elsewhere would hold up a loopback connect.
                if target.hostIsAddress {
                    channel = try await bootstrap.connect(
                        to: try SocketAddress(ipAddress: target.host, port: target.port)
                    ).get()
                } else {
                    channel = try await bootstrap.connect(host: target.host, port: target.port).get()
                }
                break
            } catch {
                let failure = Self.describe(error, target)
                guard failure.kind == .connectTimeout, attempts < 5, deadline - .now() > .zero else { throw failure }
            }
        }
        let connection = Connection(channel: channel, handler: handler)
        let admitted = state.withLock { state in
            guard !state.shutDown else { return false }
            state.open[ObjectIdentifier(connection)] = connection
            return true
        }
        guard admitted else {
            connection.close()
            throw HTTP1Error(.shutDown, "the HTTP client was shut down")
        }
        // A connection the server closes leaves the pool at once, not when a request finds it closed.
        let origin = target.origin
        channel.closeFuture.whenComplete { [weak self] _ in
            self?.state.withLock { state in
                state.open.removeValue(forKey: ObjectIdentifier(connection))
                state.idle[origin]?.removeAll { $0.connection === connection }
            }
        }
        return connection
    }

    /// Gives a connection whose answer ended back to the pool, or closes it when the pool is full.
    private func release(_ connection: Connection, _ origin: HTTPTarget.Origin) {
        let kept = state.withLock { state in
            guard !state.shutDown, connection.channel.isActive,
                state.idle[origin, default: []].count < settings.maxIdlePerOrigin
            else { return false }
            state.idle[origin, default: []].append(Idle(connection: connection, since: .now()))
            return true
        }
        if !kept { connection.close() }
    }

    /// A TLS library error in words: a server that answered in plain HTTP is said to be one, and
    /// the library's source locations (paths of the machine it was built on) are left out.
    static func tlsFailure(_ what: String, _ error: any Error, address: String) -> HTTP1Error {
        var text = "\(error)"
        if text.contains("WRONG_VERSION_NUMBER") {
            return HTTP1Error(.tls, "\(address) answered without TLS: it is not a TLS port")
        }
        // BoringSSL writes `… at /path/to/file.cc:123]`: keep what comes before, drop the place.
        while let at = text.firstRange(of: " at /") {
            let end = text[at.upperBound...].firstIndex { $0 == "]" || $0 == ")" || $0 == "," } ?? text.endIndex
            text.removeSubrange(at.lowerBound..<end)
        }
        return HTTP1Error(.tls, "\(what): \(text)")
    }

    /// The error as an `HTTP1Error` that names the address and what went wrong.
    static func describe(_ error: any Error, _ target: HTTPTarget) -> HTTP1Error {
        let address = "\(target.host):\(target.port)"
        switch error {
        case let error as ConnectionEnded:
            return describe(error.underlying, target)
        case let error as HTTP1Error:
            return error
        case ChannelError.connectTimeout(let amount):
            return HTTP1Error(
                .connectTimeout,
                "no connection to \(address) within \(amount.nanoseconds / 1_000_000) ms (connect timeout)")
        case let error as NIOConnectionError:
            if error.connectionErrors.isEmpty, error.dnsAError != nil || error.dnsAAAAError != nil {
                return HTTP1Error(.unresolved, "\(target.host) does not resolve")
            }
            if let first = error.connectionErrors.first {
                return describe(first.error, target)
            }
            return HTTP1Error(.other, "no connection to \(address)")
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED: return HTTP1Error(.refused, "connection refused by \(address)")
            case ECONNRESET, EPIPE: return HTTP1Error(.closed, "\(address) reset the connection")
            case ETIMEDOUT: return HTTP1Error(.connectTimeout, "the connection to \(address) timed out")
            case EHOSTUNREACH, ENETUNREACH: return HTTP1Error(.other, "\(address) is unreachable")
            default: return HTTP1Error(.other, "\(address): \(String(cString: strerror(error.errnoCode)))")
            }
        case let error as NIOSSLError:
            return tlsFailure("TLS handshake with \(target.host) failed", error, address: address)
        case let error as BoringSSLError:
            return tlsFailure("TLS with \(target.host) failed", error, address: address)
        case let error as NIOSSLExtraError:
            return tlsFailure("TLS with \(target.host) failed", error, address: address)
        case is HTTPParserError:
            return HTTP1Error(.malformed, "\(address) did not answer in HTTP/1.1: \(error)")
        case is CancellationError:
            return HTTP1Error(.cancelled, "the request was cancelled")
        default:
            return HTTP1Error(.other, "\(address): \(error)")
        }
    }
}

/// One connection and the handler that reads its answers.
final class Connection: Sendable {
    let channel: any Channel
    /// Touched only in tasks on the channel's event loop.
    private let handler: AnswerHandler

    init(channel: any Channel, handler: AnswerHandler) {
        self.channel = channel
        self.handler = handler
    }

    /// Writes the request and returns the answer's head and body, failing at `deadline`.
    func send(
        _ head: HTTPRequestHead, body: [UInt8], limit: Int, deadline: NIODeadline
    ) -> EventLoopFuture<(HTTPResponseHead, ByteBuffer)> {
        let channel = channel
        let handler = handler
        return channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: (HTTPResponseHead, ByteBuffer).self)
            guard handler.begin(promise, limit: limit) else { return promise.futureResult }
            let timer = channel.eventLoop.scheduleTask(deadline: deadline) {
                handler.fail(HTTP1Error(.timeout, "no answer before the request's deadline (timeout)"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in timer.cancel() }
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if !body.isEmpty {
                channel.write(
                    HTTPClientRequestPart.body(.byteBuffer(channel.allocator.buffer(bytes: body))), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }
    }

    /// Fails the request in flight, if any, and closes the connection.
    func fail(_ error: HTTP1Error) {
        let handler = handler
        let channel = channel
        channel.eventLoop.execute {
            handler.fail(error)
            channel.close(promise: nil)
        }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Why a request on a connection failed, and whether any of its answer had arrived (if none had, a
/// kept-alive connection the server had closed can be replaced and the request sent again).
struct ConnectionEnded: Error {
    let underlying: any Error
    let answerStarted: Bool
}

/// Collects one answer at a time. Made before its channel, so that the pipeline can be built in
/// one step; from then on touched only on the channel's event loop (`Connection` reaches it in
/// tasks submitted there), hence the unchecked conformance.
final class AnswerHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPClientResponsePart

    private var promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>?
    /// What ended the connection while no request waited (a TLS handshake that failed as the
    /// connection opened): the next request fails with it rather than with a bare "closed".
    private var failure: (any Error)?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var limit = 0

    /// Waits for the next answer; false (and the promise failed) when the connection has ended.
    func begin(_ promise: EventLoopPromise<(HTTPResponseHead, ByteBuffer)>, limit: Int) -> Bool {
        if let failure {
            promise.fail(ConnectionEnded(underlying: failure, answerStarted: false))
            return false
        }
        self.promise = promise
        self.head = nil
        self.body = nil
        self.limit = limit
        return true
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body(var chunk):
            guard promise != nil else { return }
            if (body?.readableBytes ?? 0) + chunk.readableBytes > limit {
                fail(HTTP1Error(.tooLarge, "the answer is over \(limit) bytes"))
                context.close(promise: nil)
                return
            }
            if body == nil {
                body = chunk
            } else {
                body!.writeBuffer(&chunk)
            }
        case .end:
            guard let promise, let head else { return }
            self.promise = nil
            promise.succeed((head, body ?? context.channel.allocator.buffer(capacity: 0)))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let closed = HTTP1Error(
            .closed,
            head == nil
                ? "the server closed the connection without answering" : "the connection closed before the answer ended"
        )
        if failure == nil { failure = closed }
        fail(closed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if failure == nil { failure = error }
        fail(error)
        context.close(promise: nil)
    }

    /// Fails the request in flight, if any, saying whether any of its answer had come.
    func fail(_ error: any Error) {
        guard let promise else { return }
        self.promise = nil
        promise.fail(ConnectionEnded(underlying: error, answerStarted: head != nil))
    }
}
