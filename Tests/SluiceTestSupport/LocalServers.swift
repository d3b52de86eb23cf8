public import AsyncHTTPClient
import Foundation
import LambdaSimulator
import NIOCore
public import NIOHTTP1
import SluiceJSON

/// A background server started by one of the repository's tools (`tools/opensearch`,
/// `tools/secretsmanager`) in a folder of its own, stopped by `stop()` or when released.
public final class ToolServer: @unchecked Sendable {
    public let url: String
    let tool: String
    public let folder: TemporaryFolder
    private var stopped = false

    /// Starts `tools/<tool> start --dir <own folder>` and reads the URL it prints.
    public init(tool: String) throws {
        self.tool = tool
        folder = try TemporaryFolder()
        // --parent-pid: the server exits by itself if this test process dies without stopping it.
        let result = try runTool(
            tool, ["start", "--dir", folder.path, "--parent-pid", "\(getpid())"], timeout: 120)
        guard result.status == 0, let line = result.output.split(separator: "\n").last else {
            throw ToolError("tools/\(tool) start failed (\(result.status)): \(result.error)")
        }
        url = String(line).trimmingCharacters(in: .whitespaces)
    }

    /// Stops the server without waiting for it: `tools/<tool> stop` (SIGTERM, then the wait for
    /// the exit) runs on a thread of its own, which keeps the folder until it is done. A test's
    /// `defer` that waited here would hold one of the cooperative pool's few threads.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        let (tool, folder) = (tool, folder)
        Thread.detachNewThread {
            _ = try? runTool(tool, ["stop", "--dir", folder.path], timeout: 30)
            withExtendedLifetime(folder) {}
        }
    }

    deinit { stop() }
}

/// The local OpenSearch-compatible server, one per test.
public func startOpenSearch() async throws -> ToolServer { try await offThePool { try ToolServer(tool: "opensearch") } }

public struct ToolError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a script of `tools/` to completion, blocking the calling thread: call it off the pool.
func runTool(_ name: String, _ arguments: [String], timeout: Double = 60) throws -> ProcessResult {
    try runProcessBlocking(packageRoot.appendingPathComponent("tools/\(name)").path, arguments, timeout: timeout)
}

/// The Python of the repository's venv (made by tools/bootstrap), else python3.
public var python: String {
    let venv = packageRoot.appendingPathComponent(".venv/bin/python").path
    return FileManager.default.isExecutableFile(atPath: venv) ? venv : "/usr/bin/python3"
}

/// The fault-injecting proxy of `Tests/Fixtures/faultproxy.py` in front of `upstream`.
public final class FaultProxy: @unchecked Sendable {
    public let url: String
    let process: Process
    let exit: ChildExit
    let client: HTTPClient
    let stdin = Pipe()

    /// Starts a proxy in front of `upstream`, off the cooperative pool.
    public static func start(upstream: String, client: HTTPClient) async throws -> FaultProxy {
        try await offThePool { try FaultProxy(upstream: upstream, client: client) }
    }

    init(upstream: String, client: HTTPClient) throws {
        self.client = client
        process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [
            packageRoot.appendingPathComponent("Tests/Fixtures/faultproxy.py").path, "--upstream", upstream,
            "--exit-on-stdin-eof",
        ]
        // The proxy exits when this pipe closes, which happens when this process ends however it ends.
        process.standardInput = stdin
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        exit = try ChildExit(running: process)
        // A bounded wait: a child spawned at the same moment may hold the pipe open too, so not even
        // the proxy's end would end this read.
        let deadline = Date().addingTimeInterval(60)
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            var readable = pollfd(fd: output.fileHandleForReading.fileDescriptor, events: Int16(POLLIN), revents: 0)
            let polled = poll(&readable, 1, Int32(max(0, deadline.timeIntervalSinceNow) * 1_000))
            if polled < 0 && errno == EINTR { continue }
            guard polled > 0 else {
                kill(exit.pid, SIGKILL)
                throw ToolError("the fault proxy did not say where it listens within 60 s")
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw ToolError("the fault proxy exited before listening") }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("listening ") else { throw ToolError("the fault proxy said: \(text)") }
        url = String(text.dropFirst("listening ".count))
    }

    /// Queues fault rules (see faultproxy.py): `[["kind": "status", "status": 503, "match": "_bulk"]]`.
    public func inject(_ rules: [[String: Any]]) async throws {
        try await control(.POST, "faults", rules)
    }

    /// A proxy to nothing that answers every request 200 with a web page: a `URL` that is not
    /// OpenSearch. The caller stops it.
    public static func webPage(client: HTTPClient) async throws -> FaultProxy {
        let proxy = try await FaultProxy.start(upstream: "http://127.0.0.1:1", client: client)
        try await proxy.inject([
            [
                "kind": "status", "status": 200, "count": 1000, "body": "<html><body>hello</body></html>",
                "headers": ["Content-Type": "text/html"],
            ]
        ])
        return proxy
    }

    /// Demands this basic-auth user from now on (nil: no auth).
    public func requireBasicAuth(username: String?, password: String?) async throws {
        try await control(.POST, "auth", ["username": username as Any, "password": password as Any])
    }

    /// Answers the ISM policy API itself, as OpenSearch does (the local server has none).
    public func emulateISM(_ enabled: Bool = true) async throws {
        try await control(.POST, "ism", ["enabled": enabled])
    }

    /// Answers OpenSearch Dashboards' saved-object import itself, as Dashboards does; the objects
    /// whose ids are in `failing` fail to import.
    public func emulateDashboards(_ enabled: Bool = true, failing: [String] = []) async throws {
        try await control(.POST, "dashboards", ["enabled": enabled, "fail": failing])
    }

    /// The saved objects imported through the proxy, by id.
    public func importedObjects() async throws -> [String: Any] {
        let data = try await control(.GET, "dashboards", nil)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// The ISM policies the proxy holds, by id.
    public func ismPolicies() async throws -> [String: Any] {
        let data = try await control(.GET, "ism", nil)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    public func limitBody(bytes: Int?) async throws {
        try await control(.POST, "max-body", ["bytes": bytes as Any])
    }

    /// Clears every fault rule, the request log, auth and the body limit: OpenSearch is reachable again.
    public func clearFaults() async throws {
        try await control(.POST, "reset", [String: Any]())
    }

    /// Every request proxied so far: method, path, headers, body_bytes, outcome, status.
    public func requests() async throws -> [[String: Any]] {
        let data = try await control(.GET, "requests", nil)
        return (try JSONSerialization.jsonObject(with: data) as? [[String: Any]]) ?? []
    }

    @discardableResult
    func control(_ method: HTTPMethod, _ path: String, _ body: Any?) async throws -> Data {
        var request = HTTPClientRequest(url: "\(url)/__proxy/\(path)")
        request.method = method
        if let body {
            let json = try JSONSerialization.data(withJSONObject: body)
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        let response = try await client.execute(request, timeout: .seconds(10))
        let data = try await response.body.collect(upTo: 64 << 20)
        guard response.status == .ok else { throw ToolError("proxy control \(path): \(response.status)") }
        return Data(Array(buffer: data))
    }

    public func stop() {
        if exit.status == nil {
            kill(exit.pid, SIGKILL)
            _ = exit.waitBlocking()
        }
    }

    deinit { stop() }
}

/// Small calls to the local OpenSearch for assertions.
public struct OpenSearchProbe: Sendable {
    public let url: String
    public let client: HTTPClient

    public init(url: String, client: HTTPClient) {
        self.url = url
        self.client = client
    }

    @discardableResult
    public func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> (Int, Any?) {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 256 << 20)
        return (Int(response.status.code), try? JSONSerialization.jsonObject(with: Data(Array(buffer: data))))
    }

    /// Documents in `index` after a refresh.
    public func count(_ index: String) async throws -> Int {
        try await call(.POST, "/\(index)/_refresh")
        let (_, body) = try await call(.GET, "/\(index)/_count")
        return ((body as? [String: Any])?["count"] as? Int) ?? -1
    }

    /// The `_source` of every document in `index`, by `_id`, however many: pages of `size` in `_id`
    /// order (a search answers at most 10,000 hits).
    public func documents(_ index: String, size: Int = 10_000) async throws -> [String: [String: Any]] {
        try await call(.POST, "/\(index)/_refresh")
        var out: [String: [String: Any]] = [:]
        var after: String?
        while true {
            let cursor = after.map { #","search_after":[\#(JSONText.quoted($0))]"# } ?? ""
            let (_, body) = try await call(
                .POST, "/\(index)/_search",
                #"{"size":\#(size),"sort":[{"_id":"asc"}]\#(cursor),"query":{"match_all":{}}}"#)
            let hits = (((body as? [String: Any])?["hits"] as? [String: Any])?["hits"] as? [[String: Any]]) ?? []
            for hit in hits {
                if let id = hit["_id"] as? String { out[id] = hit["_source"] as? [String: Any] ?? [:] }
            }
            guard hits.count == size, let last = hits.last?["_id"] as? String else { return out }
            after = last
        }
    }

    /// The mapping of `index`.
    public func mapping(_ index: String) async throws -> [String: Any] {
        let (_, body) = try await call(.GET, "/\(index)/_mapping")
        return body as? [String: Any] ?? [:]
    }
}
