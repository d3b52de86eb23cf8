import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SluiceHTTP
import SluiceTestSupport
import SluiceTime
import Testing

/// The shipped HTTP client against a real server on loopback: keep-alive, what ends it, deadlines,
/// limits, cancellation, refusals, and TLS that verifies certificates.
@Suite(.timeLimit(.minutes(5))) struct HTTP1ClientTests {
    /// How long a request that must succeed may take: the suite shares NIO's event loops and two
    /// cores with forty others; the wait ends as soon as the answer is there.
    static let patience: Int64 = 60

    @Test func answersComeWholeAndOneConnectionServesRequestAfterRequest() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            for round in 0..<3 {
                let answer = try await client.execute(
                    .POST, server.url + "/echo?round=\(round)", headers: [("X-Test", "yes")],
                    body: Array("body \(round)".utf8), deadline: .now() + .seconds(Self.patience))
                #expect(answer.status == 200)
                #expect(answer.body == Array("body \(round)".utf8))
                #expect(answer.headers.first(name: "x-uri") == "/echo?round=\(round)")
                #expect(answer.headers.first(name: "x-host") == "127.0.0.1:\(server.port)")
                #expect(answer.headers.first(name: "x-test") == "yes")
            }
            #expect(server.connections == 1)
            // A GET without a body sends no Content-Length; a POST without one says 0.
            let get = try await client.execute(.GET, server.url + "/echo", deadline: .now() + .seconds(Self.patience))
            #expect(get.headers.first(name: "x-content-length") == "none")
            let post = try await client.execute(.POST, server.url + "/echo", deadline: .now() + .seconds(Self.patience))
            #expect(post.headers.first(name: "x-content-length") == "0")
            // User info in the URL is Basic authentication, as curl sends it; a header given wins.
            let withUser = try await client.execute(
                .GET, "http://admin:p%40ss@127.0.0.1:\(server.port)/echo", deadline: .now() + .seconds(Self.patience))
            #expect(withUser.headers.first(name: "x-authorization") == "Basic YWRtaW46cEBzcw==")
            #expect(withUser.headers.first(name: "x-host") == "127.0.0.1:\(server.port)")
            let given = try await client.execute(
                .GET, "http://admin:pw@127.0.0.1:\(server.port)/echo", headers: [("Authorization", "Bearer t")],
                deadline: .now() + .seconds(Self.patience))
            #expect(given.headers.first(name: "x-authorization") == "Bearer t")
        }
    }

    @Test func anAnswerThatClosesTheConnectionAndAStaleIdleOneAreNotReused() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            #expect(try await status(of: server.url + "/close", with: client) == 200)
            #expect(try await status(of: server.url + "/echo", with: client) == 200)
            #expect(server.connections == 2)

            let fresh = HTTP1Client(settings: .init(idleTimeout: .zero))
            defer { Task { await fresh.shutdown() } }
            for _ in 0..<2 {
                #expect(try await status(of: server.url + "/echo", with: fresh) == 200)
            }
            #expect(server.connections == 4)
        }
    }

    /// A kept-alive connection the server closed just as a request went out (its idle limit, a
    /// freeze of this process): the request goes again on a new connection, once.
    @Test func aKeptAliveConnectionClosedUnderARequestIsReplacedOnce() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            #expect(try await status(of: server.url + "/echo", with: client) == 200)
            server.dropNext(1)
            let answer = try await client.execute(
                .POST, server.url + "/echo", body: Array("again".utf8), deadline: .now() + .seconds(Self.patience))
            #expect(answer.status == 200 && answer.body == Array("again".utf8))
            #expect(server.connections == 2)
            #expect(server.requests == 3)

            // A new connection closed without an answer is an error, not a loop.
            let fresh = HTTP1Client()
            defer { Task { await fresh.shutdown() } }
            server.dropNext(5)
            let error = await #expect(throws: HTTP1Error.self) {
                try await fresh.execute(.GET, server.url + "/echo", deadline: .now() + .seconds(Self.patience))
            }
            #expect(error?.kind == .closed)
            #expect(error?.description == "the server closed the connection without answering")
            #expect(server.requests == 4)
        }
    }

    @Test func aDeadlineEndsAWaitForAnAnswerThatNeverComes() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            let started = NIODeadline.now()
            let error = await #expect(throws: HTTP1Error.self) {
                try await client.execute(.GET, server.url + "/silent", deadline: .now() + .milliseconds(200))
            }
            #expect(error?.kind == .timeout)
            #expect(error?.isTimeout == true)
            #expect(error?.description.contains("timeout") == true)
            #expect(NIODeadline.now() - started < .seconds(30))
            // The connection that timed out is not reused: the next request gets its answer.
            #expect(try await status(of: server.url + "/echo", with: client) == 200)
        }
    }

    @Test func anAnswerOverTheLimitIsAnErrorNotAnAllocation() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            let error = await #expect(throws: HTTP1Error.self) {
                try await client.execute(
                    .GET, server.url + "/big", deadline: .now() + .seconds(Self.patience), maxAnswerBytes: 1_000)
            }
            #expect(error?.kind == .tooLarge)
            let whole = try await client.execute(
                .GET, server.url + "/big", deadline: .now() + .seconds(Self.patience), maxAnswerBytes: 2_000)
            #expect(whole.body.count == 2_000)
        }
    }

    @Test func aCancelledTaskEndsItsRequest() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            let request = Task {
                try await client.execute(.GET, server.url + "/silent", deadline: .now() + .seconds(600))
            }
            #expect(await waitFor(seconds: 30) { server.requests >= 1 })
            request.cancel()
            let error = await #expect(throws: HTTP1Error.self) { try await request.value }
            #expect(error?.kind == .cancelled)
        }
    }

    @Test func refusalsBadURLsAndAShutDownClientSayWhatHappened() async throws {
        let client = HTTP1Client()
        let port = try await closedPort()
        let refused = await #expect(throws: HTTP1Error.self) {
            try await client.execute(.GET, "http://127.0.0.1:\(port)/", deadline: .now() + .seconds(Self.patience))
        }
        #expect(refused?.kind == .refused)
        #expect(refused?.description == "connection refused by 127.0.0.1:\(port)")
        for url in ["ftp://host/", "http://", "http://user:pw@/", "http://host:99999/", "host:9200"] {
            let bad = await #expect(throws: HTTP1Error.self) {
                try await client.execute(.GET, url, deadline: .now() + .seconds(Self.patience))
            }
            #expect(bad?.kind == .badURL, "\(url)")
            #expect(bad?.description.contains("pw") == false)
        }
        await client.shutdown()
        let after = await #expect(throws: HTTP1Error.self) {
            try await client.execute(.GET, "http://127.0.0.1:\(port)/", deadline: .now() + .seconds(Self.patience))
        }
        #expect(after?.kind == .shutDown)
    }

    @Test func tlsVerifiesTheCertificateAgainstTheTrustRootsAndTheName() async throws {
        let folder = try TemporaryFolder()
        let (certificate, key) = try await selfSignedCertificate(in: folder, name: "localhost")
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate.fromPEMFile(certificate)[0])],
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        try await withServer(tls: tls) { server async throws in
            let url = "https://localhost:\(server.port)/echo"
            // The system's roots do not hold a self-signed certificate.
            let verifying = HTTP1Client()
            defer { Task { await verifying.shutdown() } }
            let untrusted = await #expect(throws: HTTP1Error.self) {
                try await verifying.execute(.GET, url, deadline: .now() + .seconds(Self.patience))
            }
            #expect(untrusted?.kind == .tls)
            #expect(untrusted?.description.contains("CERTIFICATE_VERIFY_FAILED") == true)

            // Trusted, under its own name.
            var trusting = TLSConfiguration.makeClientConfiguration()
            trusting.trustRoots = .file(certificate)
            let trusted = HTTP1Client(settings: .init(tls: trusting))
            defer { Task { await trusted.shutdown() } }
            let answer = try await trusted.execute(
                .POST, url, body: Array("secret".utf8), deadline: .now() + .seconds(Self.patience))
            #expect(answer.status == 200 && answer.body == Array("secret".utf8))
            #expect(answer.headers.first(name: "x-host") == "localhost:\(server.port)")

            // Verification off (SLUICE_TLS_VERIFY=false): encrypted, not verified.
            var unverified = TLSConfiguration.makeClientConfiguration()
            unverified.certificateVerification = .none
            let blind = HTTP1Client(settings: .init(tls: unverified))
            defer { Task { await blind.shutdown() } }
            #expect(try await status(of: url, with: blind) == 200)
        }

        // A trusted certificate under a name it was not issued for.
        let (elsewhere, elsewhereKey) = try await selfSignedCertificate(in: folder, name: "elsewhere.test")
        let misnamedTLS = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate.fromPEMFile(elsewhere)[0])],
            privateKey: .privateKey(try NIOSSLPrivateKey(file: elsewhereKey, format: .pem)))
        try await withServer(tls: misnamedTLS) { server async throws in
            var trusting = TLSConfiguration.makeClientConfiguration()
            trusting.trustRoots = .file(elsewhere)
            let client = HTTP1Client(settings: .init(tls: trusting))
            defer { Task { await client.shutdown() } }
            let misnamed = await #expect(throws: HTTP1Error.self) {
                try await client.execute(
                    .GET, "https://localhost:\(server.port)/echo", deadline: .now() + .seconds(Self.patience))
            }
            #expect(misnamed?.kind == .tls)
        }
    }

    @Test func httpsToAPlainPortSaysTheServerAnsweredWithoutTLSAndNamesNoPath() async throws {
        try await withServer { server async throws in
            let client = HTTP1Client()
            defer { Task { await client.shutdown() } }
            let plain = await #expect(throws: HTTP1Error.self) {
                try await client.execute(
                    .GET, "https://127.0.0.1:\(server.port)/echo", deadline: .now() + .seconds(Self.patience))
            }
            #expect(plain?.kind == .tls)
            #expect(plain?.description == "127.0.0.1:\(server.port) answered without TLS: it is not a TLS port")
        }
    }

    /// The status of a GET (a helper: `#expect` cannot take a call with a typed throw).
    private func status(of url: String, with client: HTTP1Client) async throws -> Int {
        try await client.execute(.GET, url, deadline: .now() + .seconds(Self.patience)).status
    }

    // MARK: - The server

    /// A loopback HTTP/1.1 server: `/echo` answers the body with what it saw in headers, `/close`
    /// answers and closes, `/silent` never answers, `/big` answers 2,000 bytes.
    final class Server: Sendable {
        let channel: any Channel
        let counts = Locked((connections: 0, requests: 0, drop: 0))
        var port: Int { channel.localAddress?.port ?? 0 }
        let scheme: String
        var url: String { "\(scheme)://127.0.0.1:\(port)" }
        var connections: Int { counts.withLock { $0.connections } }
        var requests: Int { counts.withLock { $0.requests } }
        /// The next `count` requests are not answered: their connection is closed instead.
        func dropNext(_ count: Int) { counts.withLock { $0.drop = count } }

        init(tls: TLSConfiguration?) async throws {
            let context = try tls.map { try NIOSSLContext(configuration: $0) }
            scheme = tls == nil ? "http" : "https"
            let counts = counts
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    counts.withLock { $0.connections += 1 }
                    return channel.eventLoop.makeCompletedFuture {
                        if let context {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                        }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(Responder(counts: counts))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        func stop() async {
            try? await channel.close()
        }
    }

    final class Responder: ChannelInboundHandler, Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let counts: Locked<(connections: Int, requests: Int, drop: Int)>
        let request = Locked<(HTTPRequestHead?, [UInt8])>((nil, []))

        init(counts: Locked<(connections: Int, requests: Int, drop: Int)>) { self.counts = counts }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): request.withLock { $0 = (head, []) }
            case .body(let chunk): request.withLock { $0.1 += Array(buffer: chunk) }
            case .end:
                let drop = counts.withLock { counts in
                    counts.requests += 1
                    defer { counts.drop = max(0, counts.drop - 1) }
                    return counts.drop > 0
                }
                if drop {
                    context.close(promise: nil)
                    return
                }
                let (head, body) = request.withLock { $0 }
                guard let head else { return }
                var headers = HTTPHeaders()
                var answer = body
                switch head.uri.split(separator: "?").first ?? "" {
                case "/silent": return
                case "/big": answer = Array(repeating: UInt8(ascii: "x"), count: 2_000)
                case "/close": headers.add(name: "Connection", value: "close")
                default: break
                }
                headers.add(name: "X-URI", value: head.uri)
                headers.add(name: "X-Host", value: head.headers.first(name: "host") ?? "none")
                headers.add(name: "X-Test", value: head.headers.first(name: "x-test") ?? "none")
                headers.add(name: "X-Authorization", value: head.headers.first(name: "authorization") ?? "none")
                headers.add(name: "X-Content-Length", value: head.headers.first(name: "content-length") ?? "none")
                headers.add(name: "Content-Length", value: String(answer.count))
                let close = head.uri == "/close"
                context.write(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                    promise: nil)
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: answer)))), promise: nil)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                    if close { channel.close(promise: nil) }
                }
            }
        }
    }

    private func withServer(tls: TLSConfiguration? = nil, _ body: (Server) async throws -> Void) async throws {
        let server = try await Server(tls: tls)
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// A port nothing listens on: bound, then closed.
    private func closedPort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    /// A self-signed certificate for `name` and its key, as PEM files made by openssl.
    private func selfSignedCertificate(in folder: TemporaryFolder, name: String) async throws -> (String, String) {
        let certificate = folder.path + "/\(name).pem"
        let key = folder.path + "/\(name).key"
        let result = try await runProcess(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)", "-keyout", key, "-out", certificate,
            ])
        guard result.status == 0 else { throw ToolError("openssl failed: \(result.error)") }
        return (certificate, key)
    }
}
