import AsyncHTTPClient
import NIOCore
import SluiceLambda
import SluiceTestSupport
import SluiceTime
import Testing

/// The listener over real HTTP: the answer waits for the handler, oversized bodies are refused
/// unread, and a connection serves many deliveries.
struct TelemetryListenerTests {
    /// How long a test waits for the listener to answer or close: the listener serves connections
    /// on the shared cooperative pool, which forty suites running at once (synchronous ones among
    /// them, each holding a thread while a subprocess runs) can keep busy for over ten seconds on
    /// two cores; the waits end as soon as the answer is there.
    static let patience = 30.0

    @Test func everyPostReachesTheHandlerAndGetsItsAnswer() async throws {
        let received = Locked<[[UInt8]]>([])
        try await withListener(maxBodyBytes: 1_000) { body in
            received.withLock { $0.append(body) }
            return body == Array("bad".utf8) ? DeliveryAnswer(status: 400, reason: "not JSON") : .accepted
        } _: { url, client in
            for round in 0..<5 {
                let (status, _) = try await post(client, url, "delivery \(round)")
                #expect(status == 200)
            }
            let (status, reason) = try await post(client, url, "bad")
            #expect(status == 400)
            #expect(reason == "not JSON\n")
        }
        #expect(received.withLock { $0.count } == 6)
        #expect(received.withLock { $0.first } == Array("delivery 0".utf8))
    }

    /// A connection keeps its body buffer from one delivery to the next (up to 1 MiB): each
    /// delivery is still exactly its own bytes, longer or shorter than the one before, and one past
    /// the kept size too.
    @Test func eachDeliveryIsItsOwnBytesWhateverCameBeforeOnTheConnection() async throws {
        let received = Locked<[[UInt8]]>([])
        let sizes = [200_000, 12, 300_000, 70_000, 2_000_000, 40, 150_000]
        let bodies = sizes.enumerated().map { round, size in
            String((0..<size).map { Character(Unicode.Scalar(UInt8(97 + ($0 + round) % 26))) })
        }
        try await withListener(maxBodyBytes: 4 << 20) { body in
            received.withLock { $0.append(body) }
            return .accepted
        } _: { url, client in
            for body in bodies {
                let (status, _) = try await post(client, url, body)
                #expect(status == 200)
            }
        }
        let got = received.withLock { $0 }
        #expect(got.count == bodies.count)
        for (index, body) in zip(got, bodies).enumerated() {
            #expect(body.0 == Array(body.1.utf8), "delivery \(index) (\(sizes[index]) bytes)")
        }
    }

    @Test func oversizedBodiesAndOtherMethodsAreRefused() async throws {
        let calls = Locked(0)
        try await withListener(maxBodyBytes: 100) { _ in
            calls.withLock { $0 += 1 }
            return .accepted
        } _: { url, client in
            let (status, reason) = try await post(client, url, String(repeating: "x", count: 101))
            #expect(status == 413)
            #expect(reason.contains("over 100 bytes"))
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await client.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 405)
            #expect(try await post(client, url, String(repeating: "x", count: 100)).0 == 200)
            // A large body is answered before it has all arrived. A client still sending it may see the
            // 413, or, if it closes the connection on an early answer as this one does, a write that
            // failed; either way the handler never sees it and the listener holds none of it.
            for _ in 0..<5 {
                let status = try? await post(client, url, String(repeating: "x", count: 6 << 20)).0
                #expect(status == nil || status == 413)
            }
        }
        #expect(calls.withLock { $0 } == 1)
    }

    @Test func aBodyOverTheLimitIsAnsweredAtItsContentLengthWithoutWaitingForIt() async throws {
        let calls = Locked(0)
        try await withListener(limits: ListenerLimits(maxBodyBytes: 1_000)) { _ in
            calls.withLock { $0 += 1 }
            return .accepted
        } _: { listener, _, _ in
            let connection = try await RawConnection.open(port: listener.port)
            defer { connection.close() }
            // The head promises ten megabytes; not one byte of them is sent.
            await connection.send("POST /telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
            #expect(await waitFor(seconds: Self.patience) { connection.answer.contains("over 1000 bytes") })
            #expect(connection.answer.hasPrefix("HTTP/1.1 413"))
            #expect(connection.answer.contains("Connection: close"))
            #expect(listener.refusals.tooLarge == 1)
            // A body without a Content-Length is refused as it passes the limit, and the connection closed
            // once the client has sent the rest.
            let chunked = try await RawConnection.open(port: listener.port)
            defer { chunked.close() }
            await chunked.send("POST /telemetry HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
            await chunked.send("7d0\r\n" + String(repeating: "x", count: 2_000) + "\r\n")
            #expect(await waitFor(seconds: Self.patience) { chunked.answer.hasPrefix("HTTP/1.1 413") })
            await chunked.send("0\r\n\r\n")
            #expect(await waitFor(seconds: Self.patience) { chunked.isClosed })
            #expect(listener.refusals.tooLarge == 2)
        }
        #expect(calls.withLock { $0 } == 0)
    }

    @Test func headersOverTheLimitsAndBytesThatAreNotHTTPAreAnswered() async throws {
        let limits = ListenerLimits(maxBodyBytes: 1_000, maxHeaderCount: 8, maxHeaderBytes: 512)
        try await withListener(limits: limits) { _ in
            .accepted
        } _: { listener, url, client in
            let many = (0..<9).map { "X-Field-\($0): v\r\n" }.joined()
            let long = "X-Long: " + String(repeating: "v", count: 600) + "\r\n"
            for headers in [many, long] {
                let connection = try await RawConnection.open(port: listener.port)
                defer { connection.close() }
                await connection.send(
                    "POST /telemetry HTTP/1.1\r\nHost: x\r\n" + headers + "Content-Length: 2\r\n\r\n[]")
                #expect(await waitFor(seconds: Self.patience) { connection.isClosed })
                #expect(connection.answer.hasPrefix("HTTP/1.1 431"), "\(connection.answer)")
            }
            let garbage = try await RawConnection.open(port: listener.port)
            defer { garbage.close() }
            await garbage.send("\u{16}\u{03}\u{01} not HTTP at all\r\n\r\n")
            #expect(await waitFor(seconds: Self.patience) { garbage.isClosed })
            #expect(garbage.answer.hasPrefix("HTTP/1.1 400"))
            #expect(listener.refusals.headersTooLarge == 2)
            #expect(listener.refusals.malformed == 1)
            // Within the limits all is well.
            let fields = (0..<6).map { "X-Field-\($0): v\r\n" }.joined()
            let fine = try await RawConnection.open(port: listener.port)
            defer { fine.close() }
            await fine.send("POST /telemetry HTTP/1.1\r\nHost: x\r\n" + fields + "Content-Length: 2\r\n\r\n[]")
            #expect(await waitFor(seconds: Self.patience) { fine.answer.hasPrefix("HTTP/1.1 200") })
            #expect(try await post(client, url, "[]").0 == 200)
        }
    }

    @Test func idleConnectionsAndHeadsThatNeverEndAreClosed() async throws {
        // The request limit is out of reach: only idleness can close these.
        let limits = ListenerLimits(
            maxBodyBytes: 1_000, idleTimeout: .milliseconds(400), requestTimeout: .seconds(3_600),
            tick: .milliseconds(50))
        try await withListener(limits: limits) { _ in
            .accepted
        } _: { listener, url, client in
            let idle = try await RawConnection.open(port: listener.port)
            defer { idle.close() }
            let slowHead = try await RawConnection.open(port: listener.port)
            defer { slowHead.close() }
            await slowHead.send("POST /telemetry HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            for connection in [idle, slowHead] {
                #expect(await waitFor(seconds: 30) { connection.isClosed })
                #expect(connection.answer.isEmpty)
            }
            #expect(listener.refusals.idleClosed == 2, "a head that never ends is idleness")
            #expect(await waitFor(seconds: Self.patience) { listener.openConnections == 0 })
            #expect(try await post(client, url, "[]").0 == 200)
        }
    }

    @Test func aRequestWhoseBodyNeverEndsIsAnswered408AndClosed() async throws {
        // The idle limit is out of reach: only the request limit can close it.
        let limits = ListenerLimits(
            maxBodyBytes: 1_000, idleTimeout: .seconds(3_600), requestTimeout: .milliseconds(400),
            tick: .milliseconds(50))
        try await withListener(limits: limits) { _ in
            .accepted
        } _: { listener, url, client in
            let slowBody = try await RawConnection.open(port: listener.port)
            defer { slowBody.close() }
            await slowBody.send("POST /telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[")
            #expect(await waitFor(seconds: 30) { slowBody.isClosed })
            #expect(slowBody.answer.hasPrefix("HTTP/1.1 408"))
            #expect(listener.refusals.timedOut == 1)
            #expect(listener.refusals.idleClosed == 0)
            #expect(try await post(client, url, "[]").0 == 200)
        }
    }

    /// Hundreds of connections that sit idle, dribble a head or never finish a body: the listener
    /// holds at most its limit open, and the platform's deliveries go through all along.
    @Test func hundredsOfIdleAndSlowConnectionsNeverStopTheDeliveries() async throws {
        let accepted = Locked(0)
        let limits = ListenerLimits(maxBodyBytes: 1 << 20)
        try await withListener(limits: limits) { _ in
            accepted.withLock { $0 += 1 }
            return .accepted
        } _: { listener, url, client in
            var abusers: [RawConnection] = []
            defer { for connection in abusers { connection.close() } }
            for number in 0..<300 {
                let connection = try await RawConnection.open(port: listener.port)
                abusers.append(connection)
                switch number % 3 {
                case 0: break
                case 1: await connection.send("POST /telemetry HTTP/1.1\r\nHost: x\r\n")
                default: await connection.send("POST /telemetry HTTP/1.1\r\nContent-Length: 1000\r\n\r\n[")
                }
                if number % 30 == 29 {
                    #expect(try await post(client, url, "[]").0 == 200, "a delivery among \(number + 1) abusers")
                }
            }
            for _ in 0..<20 { #expect(try await post(client, url, "[]").0 == 200) }
            #expect(listener.openConnections <= limits.maxConnections)
            // Under a loaded machine some reach the idle limit before a newer one evicts them.
            let refusals = listener.refusals
            #expect(refusals.evicted + refusals.idleClosed + refusals.timedOut >= 300 - limits.maxConnections)
            #expect(refusals.evicted > 0)
        }
        #expect(accepted.withLock { $0 } == 30)
    }

    /// At the connection limit a newcomer closes a connection that never delivered, even one in the
    /// middle of its head, before the kept-alive connection that delivered and now waits idle: the
    /// platform's next delivery on it is not reset.
    @Test func aConnectionThatDeliveredOutlastsOnesThatNever() async throws {
        // A fine tick, so that the awake clock tells the delivered connection's wait from the others'.
        let limits = ListenerLimits(maxBodyBytes: 1_000, maxConnections: 4, tick: .milliseconds(5))
        let delivery = "POST /telemetry HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n[]"
        try await withListener(limits: limits) { _ in
            .accepted
        } _: { listener, _, _ in
            let platform = try await RawConnection.open(port: listener.port)
            defer { platform.close() }
            await platform.send(delivery)
            #expect(await waitFor(seconds: Self.patience) { platform.answer.hasPrefix("HTTP/1.1 200") })
            var others: [RawConnection] = []
            defer { for connection in others { connection.close() } }
            for number in 0..<limits.maxConnections + 2 {
                let connection = try await RawConnection.open(port: listener.port)
                others.append(connection)
                await connection.send("POST /telemetry HTTP/1.1\r\nHost: x\r\n")
                // Admitted (and so counted) once the listener has read the half head.
                #expect(await waitFor(seconds: Self.patience) { listener.openConnections == min(number + 2, 4) })
            }
            #expect(await waitFor(seconds: Self.patience) { others.filter(\.isClosed).count == 3 })
            #expect(listener.refusals.evicted == 3)
            #expect(!platform.isClosed)
            await platform.send(delivery)
            #expect(
                await waitFor(seconds: Self.patience) {
                    platform.answer.components(separatedBy: "HTTP/1.1 200").count == 3
                })
        }
    }

    private func withListener(
        maxBodyBytes: Int, _ deliver: @escaping TelemetryListener.Deliver,
        _ body: (String, HTTPClient) async throws -> Void
    ) async throws {
        try await withListener(limits: ListenerLimits(maxBodyBytes: maxBodyBytes), deliver) { _, url, client in
            try await body(url, client)
        }
    }

    private func withListener(
        limits: ListenerLimits, _ deliver: @escaping TelemetryListener.Deliver,
        _ body: (TelemetryListener, String, HTTPClient) async throws -> Void
    ) async throws {
        let listener = try await TelemetryListener.bind(host: "127.0.0.1", limits: limits, deliver: deliver)
        let serving = Task { await listener.run() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body(listener, "http://127.0.0.1:\(listener.port)/telemetry", client)
        } catch {
            try? await client.shutdown()
            listener.close()
            await serving.value
            throw error
        }
        try await client.shutdown()
        listener.close()
        await serving.value
    }

    private func post(_ client: HTTPClient, _ url: String, _ text: String) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: text))
        let response = try await client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    }
}
