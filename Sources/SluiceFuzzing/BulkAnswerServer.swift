import NIOCore
import NIOHTTP1
import NIOPosix
import SluiceTime

/// A local HTTP server that plays OpenSearch for the `bulk` target: `GET /` says what the cluster
/// is, index creation succeeds, and every `_bulk` gets the answer set last.
final class BulkAnswerServer: Sendable {
    let port: Int
    private let channel: any Channel
    /// The status and body of the next `_bulk` answers.
    let answer: Locked<(status: Int, body: [UInt8])> = Locked((200, []))
    /// `_bulk` requests answered since the count was last reset.
    let bulkRequests = Locked(0)

    static func start() throws -> BulkAnswerServer {
        let box = Locked<BulkAnswerServer?>(nil)
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(server: box.withLock { $0! }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        let server = BulkAnswerServer(channel: channel, port: channel.localAddress?.port ?? 0)
        box.withLock { $0 = server }
        return server
    }

    private init(channel: any Channel, port: Int) {
        self.channel = channel
        self.port = port
    }

    func stop() { try? channel.close().wait() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let server: BulkAnswerServer
        var head: HTTPRequestHead?

        init(server: BulkAnswerServer) { self.server = server }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head else { return }
                let status: Int
                let body: [UInt8]
                if head.method == .GET {
                    (status, body) = (200, Array(#"{"version":{"distribution":"opensearch","number":"2.19.0"}}"#.utf8))
                } else if head.uri.hasPrefix("/_bulk") {
                    server.bulkRequests.withLock { $0 += 1 }
                    (status, body) = server.answer.withLock { $0 }
                } else {
                    (status, body) = (200, Array(#"{"acknowledged":true}"#.utf8))
                }
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "application/json")
                headers.add(name: "content-length", value: "\(body.count)")
                let response = HTTPResponseHead(
                    version: head.version, status: HTTPResponseStatus(statusCode: status), headers: headers)
                context.write(wrapOutboundOut(.head(response)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                self.head = nil
            }
        }
    }
}
