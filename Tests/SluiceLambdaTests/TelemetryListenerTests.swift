import AsyncHTTPClient
import NIOCore
import SluiceLambda
import Synchronization
import Testing

/// The listener over real HTTP: the answer waits for the handler, oversized bodies are refused
/// unread, and a connection serves many deliveries.
struct TelemetryListenerTests {
    @Test func everyPostReachesTheHandlerAndGetsItsAnswer() async throws {
        let received = Mutex<[[UInt8]]>([])
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

    @Test func oversizedBodiesAndOtherMethodsAreRefused() async throws {
        let calls = Mutex(0)
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
        }
        #expect(calls.withLock { $0 } == 1)
    }

    private func withListener(
        maxBodyBytes: Int, _ deliver: @escaping TelemetryListener.Deliver,
        _ body: (String, HTTPClient) async throws -> Void
    ) async throws {
        let listener = try await TelemetryListener.bind(host: "127.0.0.1", maxBodyBytes: maxBodyBytes, deliver: deliver)
        let serving = Task { await listener.run() }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            try await body("http://127.0.0.1:\(listener.port)/telemetry", client)
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
