import NIOCore
import NIOHTTP1
import NIOPosix

/// One HTTP request to the platform's API.
struct PlatformRequest: Sendable {
    let method: HTTPMethod
    let path: String
    let headers: HTTPHeaders
    let body: [UInt8]
    /// When the whole request had arrived.
    var receivedAt = ContinuousClock.now
}

/// The platform's answer.
struct PlatformResponse: Sendable {
    var status: Int
    var headers: [(String, String)] = []
    var body: [UInt8] = []

    static func json(_ status: Int, _ value: JSON, headers: [(String, String)] = []) -> PlatformResponse {
        PlatformResponse(
            status: status, headers: [("Content-Type", "application/json")] + headers,
            body: Array(value.serialized.utf8))
    }

    /// The platform's error shape: `{"errorType", "errorMessage"}`.
    static func error(_ status: Int, _ errorType: String, _ message: String) -> PlatformResponse {
        json(status, ["errorType": .string(errorType), "errorMessage": .string(message)])
    }
}

/// The HTTP server behind `AWS_LAMBDA_RUNTIME_API`, on a free loopback port. Every request is handed
/// to `handler`, which may take as long as it likes (`/next` waits for the next event).
final class PlatformServer: Sendable {
    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    let port: Int
    private let channel: NIOAsyncChannel<Connection, Never>
    private let serving: Task<Void, Never>

    init(handler: @escaping @Sendable (PlatformRequest) async -> PlatformResponse) async throws {
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        port = channel.channel.localAddress?.port ?? 0
        serving = Task(executorPreference: PlatformExecutor.shared) { [channel] in
            try? await withThrowingDiscardingTaskGroup { group in
                try await channel.executeThenClose { connections in
                    for try await connection in connections {
                        group.addTask(executorPreference: PlatformExecutor.shared) {
                            await PlatformServer.serve(connection, handler)
                        }
                    }
                }
            }
        }
    }

    /// Closes the listening socket and every open connection.
    func close() async {
        try? await channel.channel.close()
        serving.cancel()
        await serving.value
    }

    private static func serve(
        _ connection: Connection, _ handler: @escaping @Sendable (PlatformRequest) async -> PlatformResponse
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let requestHead):
                    head = requestHead
                    body = []
                case .body(let buffer):
                    body += buffer.readableBytesView
                case .end:
                    guard let requestHead = head else { continue }
                    let response = await handler(
                        PlatformRequest(
                            method: requestHead.method, path: requestHead.uri, headers: requestHead.headers, body: body
                        ))
                    var headers = HTTPHeaders(response.headers)
                    headers.add(name: "Content-Length", value: String(response.body.count))
                    try await outbound.write(
                        .head(
                            HTTPResponseHead(
                                version: requestHead.version, status: HTTPResponseStatus(statusCode: response.status),
                                headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                    try await outbound.write(.end(nil))
                    if !requestHead.isKeepAlive { return }
                }
            }
        }
    }
}
