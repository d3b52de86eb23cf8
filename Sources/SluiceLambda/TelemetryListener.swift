public import NIOCore
import NIOHTTP1
import NIOPosix

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

/// The HTTP endpoint the Telemetry API delivers to: every POST body is handed to `deliver`, and
/// its answer goes back only once `deliver` returns, so an acknowledgement can wait for a commit.
///
/// Bodies over `maxBodyBytes` are refused with 413 without being read into memory.
public final class TelemetryListener: Sendable {
    public typealias Deliver = @Sendable ([UInt8]) async -> DeliveryAnswer

    let channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
    let deliver: Deliver
    let maxBodyBytes: Int
    /// The port the listener is bound to.
    public let port: Int
    /// The address it is bound to.
    public let host: String

    private init(
        channel: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>,
        host: String, maxBodyBytes: Int, deliver: @escaping Deliver
    ) {
        self.channel = channel
        self.host = host
        self.port = channel.channel.localAddress?.port ?? 0
        self.maxBodyBytes = maxBodyBytes
        self.deliver = deliver
    }

    /// Binds `host:port` (port 0: a free one). Call `run()` to serve.
    public static func bind(
        host: String, port: Int = 0, maxBodyBytes: Int, deliver: @escaping Deliver
    ) async throws -> TelemetryListener {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                        wrappingChannelSynchronously: channel)
                }
            }
        return TelemetryListener(channel: channel, host: host, maxBodyBytes: maxBodyBytes, deliver: deliver)
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
        channel.channel.close(promise: nil)
    }

    private func serve(_ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            var refusal: DeliveryAnswer?
            for try await part in inbound {
                switch part {
                case .head(let request):
                    head = request
                    body.removeAll(keepingCapacity: true)
                    refusal = nil
                    if request.method != .POST {
                        refusal = DeliveryAnswer(status: 405, reason: "only POST is served here")
                    } else if let length = request.headers.first(name: "content-length").flatMap(Int.init),
                        length > maxBodyBytes
                    {
                        refusal = Self.tooLarge(maxBodyBytes)
                    }
                case .body(let chunk):
                    guard refusal == nil else { continue }
                    if body.count + chunk.readableBytes > maxBodyBytes {
                        refusal = Self.tooLarge(maxBodyBytes)
                        body = []
                    } else {
                        body.append(contentsOf: chunk.readableBytesView)
                    }
                case .end:
                    guard let request = head else { continue }
                    let answer: DeliveryAnswer
                    if let refusal {
                        answer = refusal
                    } else {
                        answer = await deliver(body)
                    }
                    body = []
                    let keepAlive = request.isKeepAlive && answer.status != 413
                    try await Self.write(answer, version: request.version, keepAlive: keepAlive, to: outbound)
                    head = nil
                    if !keepAlive { return }
                }
            }
        }
    }

    static func tooLarge(_ limit: Int) -> DeliveryAnswer {
        DeliveryAnswer(status: 413, reason: "delivery over \(limit) bytes")
    }

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
        try await outbound.write(.head(HTTPResponseHead(version: version, status: status, headers: headers)))
        if !text.isEmpty { try await outbound.write(.body(.byteBuffer(ByteBuffer(string: text)))) }
        try await outbound.write(.end(nil))
    }
}
