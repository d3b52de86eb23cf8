public import NIOCore
import NIOHTTP1
import NIOPosix
import SluiceHTTP

/// How the listener answers one delivery.
public struct DeliveryAnswer: Sendable, Equatable {
    public var status: Int
    /// A short plain-text reason (for a refusal), or empty.
    public var reason: String

    public init(status: Int, reason: String = "") {
        self.status = status
        self.reason = reason
    }

    public static let accepted = DeliveryAnswer(status: 200)
}

/// A host and port for a listener, resolved: name resolution blocks (a name that does not resolve
/// asks the DNS servers), so it can be done off the event loop, ahead of the bind.
public struct ListenerAddress: Sendable {
    let address: SocketAddress
    /// The host as given.
    public let host: String

    /// Resolves `host` (port 0: a free one when bound); throws when it does not resolve.
    public static func resolve(_ host: String, port: Int = 0) throws -> ListenerAddress {
        ListenerAddress(address: try SocketAddress.makeAddressResolvingHost(host, port: port), host: host)
    }
}

/// The HTTP endpoint the Telemetry API delivers to: every POST body is handed to `deliver`, and
/// its answer goes back only once `deliver` returns, so an acknowledgement can wait for a commit.
///
/// Every connection is held to `ListenerLimits` (body, headers, connections, idle and slow time) by
/// its `ConnectionGuard`: what is over a limit is answered before the handler sees it.
public final class TelemetryListener: Sendable {
    public typealias Deliver = @Sendable ([UInt8]) async -> DeliveryAnswer

    let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    let deliver: Deliver
    let registry: ConnectionRegistry
    /// The port the listener is bound to.
    public let port: Int
    /// The address it is bound to.
    public let host: String

    private init(
        channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        host: String, registry: ConnectionRegistry, deliver: @escaping Deliver
    ) {
        self.channel = channel
        self.host = host
        self.port = channel.channel.localAddress?.port ?? 0
        self.registry = registry
        self.deliver = deliver
    }

    /// The limits every connection is held to.
    public var limits: ListenerLimits { registry.limits }

    /// What was refused or closed since the listener started, by reason.
    public var refusals: ListenerRefusals { registry.refusals }

    /// Connections open now.
    public var openConnections: Int { registry.openConnections }

    /// Binds `host:port` (port 0: a free one) with the default limits and `maxBodyBytes`.
    public static func bind(
        host: String, port: Int = 0, maxBodyBytes: Int, deliver: @escaping Deliver
    ) async throws -> TelemetryListener {
        try await bind(host: host, port: port, limits: ListenerLimits(maxBodyBytes: maxBodyBytes), deliver: deliver)
    }

    /// Binds `host:port` (port 0: a free one). Call `run()` to serve.
    public static func bind(
        host: String, port: Int = 0, limits: ListenerLimits, deliver: @escaping Deliver
    ) async throws -> TelemetryListener {
        try await bind(ListenerAddress.resolve(host, port: port), limits: limits, deliver: deliver)
    }

    /// Binds an address resolved beforehand. Call `run()` to serve.
    public static func bind(
        _ address: ListenerAddress, limits: ListenerLimits, deliver: @escaping Deliver
    ) async throws -> TelemetryListener {
        let host = address.host
        let registry = ConnectionRegistry(limits: limits)
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderFieldCount = limits.maxHeaderCount
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        let channel = try await ServerBootstrap(group: HTTP1Client.callersEventLoops)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(to: address.address) { channel in
                channel.eventLoop.makeCompletedFuture {
                    // The guard answers protocol errors itself (431 for headers over the limits).
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: false, withEncoderConfiguration: .init(),
                        withDecoderLimitConfiguration: decoderLimits)
                    try channel.pipeline.syncOperations.addHandler(ConnectionGuard(registry: registry))
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        registry.start(on: channel.channel.eventLoop)
        return TelemetryListener(channel: channel, host: host, registry: registry, deliver: deliver)
    }

    /// Serves until the task is cancelled or `close()` is called.
    public func run() async {
        await withDiscardingTaskGroup { group in
            do {
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask { await self.serve(connection) }
                    }
                }
            } catch {
                // The server channel closed: nothing more to accept.
            }
            // Keep-alive connections would otherwise hold `run()` open for as long as the client likes.
            group.cancelAll()
        }
    }

    /// Stops accepting connections and ends open ones; `run()` then returns.
    public func close() {
        registry.stop()
        channel.channel.close(promise: nil)
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let request):
                    head = request
                    body.removeAll(keepingCapacity: true)
                    // Room for the whole body at once (the guard refused a length over the limit):
                    // grown by doubling, a delivery's body was copied and paged in two more times.
                    if let length = request.headers.first(name: "content-length").flatMap(Int.init), length > 0 {
                        body.reserveCapacity(min(length, registry.limits.maxBodyBytes))
                    }
                case .body(let chunk):
                    // The guard has refused bodies over the limit before they get here.
                    body.append(contentsOf: chunk.readableBytesView)
                case .end:
                    guard let request = head else { continue }
                    let answer =
                        request.method == .POST
                        ? await deliver(body) : DeliveryAnswer(status: 405, reason: "only POST is served here")
                    // The next delivery on this connection reuses the buffer: a body past malloc's
                    // 64 KiB threshold is mapped for itself, and every delivery's pages were faulted
                    // in again (1.4 % of the extension's CPU). One larger than `keptBodyBytes` is let go.
                    if body.capacity > Self.keptBodyBytes { body = [] } else { body.removeAll(keepingCapacity: true) }
                    let keepAlive = request.isKeepAlive
                    try await Self.write(answer, version: request.version, keepAlive: keepAlive, to: outbound)
                    head = nil
                    if !keepAlive { return }
                }
            }
        }
    }

    /// The largest body buffer a connection keeps between deliveries: a busy function's deliveries
    /// are about 250 KB (`SLUICE_BUFFER_MAX_BYTES`, 256 KiB of records by default, with their JSON
    /// around them). Past it (a larger setting), a body is again mapped for itself, and none of it
    /// stays resident while the environment is idle.
    static let keptBodyBytes = 1 << 20

    private static func write(
        _ answer: DeliveryAnswer, version: HTTPVersion, keepAlive: Bool,
        to outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) async throws {
        let text = answer.reason.isEmpty ? "" : answer.reason + "\n"
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: String(text.utf8.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let status = HTTPResponseStatus(statusCode: answer.status)
        // One write of the whole answer: one hop to the event loop and one flush, not three.
        var parts: [HTTPServerResponsePart] = [
            .head(HTTPResponseHead(version: version, status: status, headers: headers))
        ]
        if !text.isEmpty { parts.append(.body(.byteBuffer(ByteBuffer(string: text)))) }
        parts.append(.end(nil))
        try await outbound.write(contentsOf: parts)
    }
}
