import NIOCore
import NIOHTTP1
public import SluiceHTTP
import SluiceJSON
import SluiceTime

/// The Extensions API and Telemetry API of `AWS_LAMBDA_RUNTIME_API`, over HTTP.
public final class ExtensionsClient: ExtensionsAPI {
    let httpClient: HTTP1Client
    let base: String
    /// The extension's name: the file name it was started from in `/opt/extensions`.
    public let name: String
    private let identifier = Locked<String?>(nil)

    /// `runtimeAPI` is the value of `AWS_LAMBDA_RUNTIME_API` (host:port).
    public init(runtimeAPI: String, name: String, httpClient: HTTP1Client) {
        self.base = "http://" + runtimeAPI
        self.name = name
        self.httpClient = httpClient
    }

    /// A client for the Runtime API host: a short connect timeout (the API is on the same host),
    /// no deadline on a request (`/next` blocks for as long as the environment is idle), and no
    /// idle limit on the kept-alive connection (a freeze is not idleness). Plain HTTP, so it loads
    /// no trust roots: making it costs next to nothing on the cold start's critical path.
    public static func makeHTTPClient() -> HTTP1Client {
        HTTP1Client(settings: .init(connectTimeout: .seconds(2), idleTimeout: .hours(24 * 365)))
    }

    public func register() async throws(LambdaError) -> Registration {
        let (status, headers, body) = try await call(
            .POST, "/2020-01-01/extension/register", body: #"{"events":["INVOKE","SHUTDOWN"]}"#,
            headers: [("Lambda-Extension-Name", name), ("Lambda-Extension-Accept-Feature", "accountId")],
            identified: false)
        guard status == 200, let identifier = headers.first(name: "Lambda-Extension-Identifier") else {
            throw LambdaError(
                .refused,
                "register was refused (HTTP \(status)): \(Self.text(body)); the extension's file name must be \(name)",
                status: status)
        }
        self.identifier.withLock { $0 = identifier }
        let answer = JSONReader.document(body)
        func text(_ key: String) -> String? { answer.flatMap { $0.reader.string(key, of: $0.root) } }
        return Registration(
            identifier: identifier, functionName: text("functionName") ?? "",
            functionVersion: text("functionVersion") ?? "", handler: text("handler") ?? "",
            accountID: text("accountId"))
    }

    public func next() async throws(LambdaError) -> LifecycleEvent {
        let (status, _, body) = try await call(.GET, "/2020-01-01/extension/event/next", body: nil)
        guard status == 200 else {
            throw LambdaError(.refused, "event/next failed (HTTP \(status)): \(Self.text(body))", status: status)
        }
        guard let (event, root) = JSONReader.document(body), let eventType = event.string("eventType", of: root)
        else {
            throw LambdaError(
                .unreadableAnswer, "event/next sent an unreadable event: \(Self.text(body))", status: status)
        }
        // A deadline that is not a whole number of milliseconds is read as none (0), as before.
        let deadline = event.number(event.member("deadlineMs", of: root)).flatMap { Int64(exactly: $0) } ?? 0
        switch eventType.uppercased() {
        case "INVOKE":
            return .invoke(requestID: event.string("requestId", of: root) ?? "", deadline: deadline)
        case "SHUTDOWN":
            return .shutdown(
                reason: (event.string("shutdownReason", of: root) ?? "spindown").lowercased(), deadline: deadline)
        default:
            throw LambdaError(
                .unreadableAnswer, "event/next sent an unknown event type \(eventType)", status: status)
        }
    }

    public func subscribe(_ subscription: TelemetrySubscription) async throws(LambdaError) -> SubscriptionOutcome {
        let (status, _, body) = try await call(
            .PUT, "/2022-07-01/telemetry", body: subscription.body, headers: [("Content-Type", "application/json")])
        switch status {
        case 200: return .subscribed
        case 202: return .unsupported
        default:
            throw LambdaError(
                .refused, "the Telemetry API refused the subscription (HTTP \(status)): \(Self.text(body))",
                status: status)
        }
    }

    public func initError(type: String, message: String) async throws(LambdaError) {
        try await report("/2020-01-01/extension/init/error", type: type, message: message)
    }

    public func exitError(type: String, message: String) async throws(LambdaError) {
        try await report("/2020-01-01/extension/exit/error", type: type, message: message)
    }

    private func report(_ path: String, type: String, message: String) async throws(LambdaError) {
        let body =
            #"{"errorMessage":"# + JSONText.quoted(message) + #","errorType":"# + JSONText.quoted(type)
            + #","stackTrace":[]}"#
        let (status, _, answer) = try await call(
            .POST, path, body: body, headers: [("Lambda-Extension-Function-Error-Type", type)])
        guard (200..<300).contains(status) else {
            throw LambdaError(.refused, "\(path) failed (HTTP \(status)): \(Self.text(answer))", status: status)
        }
    }

    private func call(
        _ method: HTTPMethod, _ path: String, body: String?, headers: [(String, String)] = [], identified: Bool = true
    ) async throws(LambdaError) -> (Int, HTTPHeaders, [UInt8]) {
        var headers = headers.map { (name: $0.0, value: $0.1) }
        if identified, let identifier = identifier.withLock({ $0 }) {
            headers.append((name: "Lambda-Extension-Identifier", value: identifier))
        }
        do {
            let answer = try await httpClient.execute(
                method, base + path, headers: headers, body: Array((body ?? "").utf8), deadline: .distantFuture,
                maxAnswerBytes: 1 << 20)
            return (answer.status, answer.headers, answer.body)
        } catch {
            throw LambdaError(.unreachable, "\(method) \(base)\(path) failed: \(error)")
        }
    }

    static func text(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        return text.isEmpty ? "(no body)" : text
    }
}
