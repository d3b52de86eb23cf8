import NIOCore
import NIOHTTP1

/// Holds one connection of the listener to its `ListenerLimits`, between the HTTP decoder and the
/// listener's handler: answers what must be refused before the listener sees it (a body over the
/// limit at its Content-Length, headers over the decoder's limits, bytes that are not HTTP), and
/// closes the connection when the registry says it was idle or slow too long or must make room.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: ConnectionRegistry
    private var phase: ConnectionRegistry.Phase = .idle
    private var bodyBytes = 0
    private var responseOpen = false

    init(registry: ConnectionRegistry) {
        self.registry = registry
    }

    func channelActive(context: ChannelHandlerContext) {
        guard registry.admit(context.channel) else {
            context.close(promise: nil)
            return
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        registry.remove(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            bodyBytes = 0
            if let length = head.headers.first(name: "content-length").flatMap(Int.init),
                length > registry.limits.maxBodyBytes
            {
                refuse(context, status: 413, reason: Self.tooLargeReason(registry.limits.maxBodyBytes))
                return
            }
            enter(.receiving, context)
        case .body(let chunk):
            guard phase != .refused else { return }
            bodyBytes += chunk.readableBytes
            if bodyBytes > registry.limits.maxBodyBytes {
                refuse(context, status: 413, reason: Self.tooLargeReason(registry.limits.maxBodyBytes))
                return
            }
        case .end:
            // The refusal was answered already; the client has sent what it had, so closing now
            // resets nothing it still wants to read.
            guard phase != .refused else {
                context.close(promise: nil)
                return
            }
            enter(.answering, context)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: responseOpen = true
        case .body: break
        case .end:
            responseOpen = false
            if phase == .answering { enter(.idle, context) }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? HTTPParserError {
            // The decoder cannot go on after an error and closes the connection when this returns.
            let overflow = error == .headerOverflow
            registry.count(overflow ? \.headersTooLarge : \.malformed)
            if !responseOpen {
                let reason =
                    overflow
                    ? "headers over \(registry.limits.maxHeaderCount) fields or \(registry.limits.maxHeaderBytes) bytes"
                    : "not an HTTP/1.1 request"
                respond(context, status: overflow ? 431 : 400, reason: reason)
            }
        }
        context.fireErrorCaught(error)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let closing = event as? ConnectionRegistry.Closing else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if closing == .tooSlow, phase == .receiving, !responseOpen {
            respond(context, status: 408, reason: "the request did not arrive within \(registry.limits.requestTimeout)")
        }
        context.close(promise: nil)
    }

    static func tooLargeReason(_ limit: Int) -> String { "delivery over \(limit) bytes" }

    private func enter(_ phase: ConnectionRegistry.Phase, _ context: ChannelHandlerContext) {
        self.phase = phase
        registry.enter(phase, context.channel)
    }

    /// Answers now, without reading the rest of the request, and closes once it has arrived (or
    /// when the request limit runs out).
    private func refuse(_ context: ChannelHandlerContext, status: Int, reason: String) {
        registry.count(\.tooLarge)
        enter(.refused, context)
        if !responseOpen { respond(context, status: status, reason: reason) }
    }

    private func respond(_ context: ChannelHandlerContext, status: Int, reason: String) {
        let text = reason + "\n"
        let headers = HTTPHeaders([
            ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", String(text.utf8.count)),
            ("Connection", "close"),
        ])
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
