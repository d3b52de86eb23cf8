public import Foundation
import LambdaSimulator
public import SluiceSpool
public import SluiceTime

/// A folder of its own for one test, removed when the test ends.
public final class TemporaryFolder: Sendable {
    public let path: String

    public init() throws {
        var template = Array("/tmp/sluice-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }

    public func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand. Sleeps on it (`wallClock`) end when `advance` passes their
/// deadline, so a test moves waits and deadlines together instead of waiting out real time.
public final class ManualClock: Sendable {
    private struct State {
        var now: Int64
        var nextSleeper = 0
        var sleepers: [Int: (deadline: Int64, continuation: CheckedContinuation<Void, Never>)] = [:]
    }

    private let state: Locked<State>

    public init(_ start: Int64 = 1_764_000_000_000) { state = Locked(State(now: start)) }

    public var now: Int64 { state.withLock { $0.now } }

    /// How many tasks sleep on this clock now.
    public var sleeping: Int { state.withLock { $0.sleepers.count } }

    /// Moves the clock and wakes every sleep whose deadline it passed.
    public func advance(by milliseconds: Int64) {
        let due = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.now += milliseconds
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for key in due.keys { state.sleepers.removeValue(forKey: key) }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    /// This clock for the spool and the forwarder.
    public var wallClock: WallClock {
        WallClock(now: { [self] in self.now }, sleep: { [self] deadline in await self.sleep(until: deadline) })
    }

    private func sleep(until deadline: Int64) async {
        let id = state.withLock { state in
            defer { state.nextSleeper += 1 }
            return state.nextSleeper
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let due = state.withLock { state in
                    guard state.now < deadline, !Task.isCancelled else { return true }
                    state.sleepers[id] = (deadline, continuation)
                    return false
                }
                if due { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.sleepers.removeValue(forKey: id) }?.continuation.resume()
        }
    }
}

/// `count` records with ids that keep batches apart by `prefix`, about `bytes` each.
public func makeRecords(
    _ count: Int, prefix: String = "b0", index: String = "lambda-function", bytes: Int = 250, keyed: Bool = false
) -> [SpoolRecord] {
    (0..<count).map { position in
        let id = "\(prefix)-\(String(position, radix: 16))"
        let head = #"{"time":"2025-11-24T16:00:00.000Z","type":"function","record":""#
        let filler = String(repeating: "x", count: max(0, bytes - head.utf8.count - id.utf8.count - 2))
        return SpoolRecord(
            id: id, index: index, eventTime: 1_764_000_000_000 + Int64(position),
            document: Array((head + id + filler + #""}"#).utf8), keyed: keyed)
    }
}

/// A spool in `folder` with a manual clock and a 30 s lease.
public func openSpool(
    _ folder: TemporaryFolder, clock: ManualClock = ManualClock(), capBytes: Int = 64 << 20,
    policy: OverflowPolicy = .dropOldest, maxFileBytes: Int? = nil, name: String = "spool.sqlite"
) throws -> Spool {
    try Spool.open(
        SpoolConfiguration(
            path: folder.file(name), capBytes: capBytes, overflowPolicy: policy, maxFileBytes: maxFileBytes,
            leaseMilliseconds: 30_000, clock: clock.wallClock))
}

/// Overwrites one page in the middle of the spool file at `path` (the file keeps its size): damage
/// in the records' b-tree that the owner's open, which leaves the full check out, does not read,
/// and that a lease over those records does.
public func damageMiddlePage(of path: String) throws {
    let file = try Data(contentsOf: URL(fileURLWithPath: path))
    // The page size is the header's big-endian 16 bits at offset 16 (1 means 65,536).
    let stored = Int(file[16]) << 8 | Int(file[17])
    let pageSize = stored == 1 ? 65_536 : stored
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(file.count / 2 / pageSize * pageSize))
    try handle.write(contentsOf: Data((0..<pageSize).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 17) }))
}

/// The package's root folder, from this file's place in it.
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built executable of this package, found next to the running test bundle.
public func builtProduct(_ name: String) throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var folder = bundle.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    throw POSIXError(.ENOENT)
}

/// What a finished process printed and how it ended.
public struct ProcessResult: Sendable {
    public let status: Int32
    public let output: String
    public let error: String
}

/// Runs a built product of this package to completion (at most `timeout` seconds).
public func runProduct(
    _ name: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 60
) async throws -> ProcessResult {
    try await runProcess(try builtProduct(name), arguments, environment: environment, timeout: timeout)
}

/// Runs an executable to completion (at most `timeout` seconds), collecting its output. The wait
/// happens on a thread of its own (`offThePool`): a test that waited for a process on one of the
/// cooperative pool's few threads would stall every other test of the run for as long.
public func runProcess(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double = 60
) async throws -> ProcessResult {
    try await offThePool { try runProcessBlocking(executable, arguments, environment: environment, timeout: timeout) }
}

/// `runProcess` on the calling thread, for callers already off the pool.
func runProcessBlocking(
    _ executable: String, _ arguments: [String], environment: [String: String] = [:], timeout: Double
) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let output = Pipe()
    let error = Pipe()
    process.standardOutput = output
    process.standardError = error
    let exit = try ChildExit(running: process)
    // Read both pipes while the process runs, so a large output cannot block it.
    let collected = Locked<(Data, Data)>((Data(), Data()))
    let group = DispatchGroup()
    for (index, pipe) in [output, error].enumerated() {
        group.enter()
        DispatchQueue.global().async {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { if index == 0 { $0.0 = data } else { $0.1 = data } }
            group.leave()
        }
    }
    if group.wait(timeout: .now() + timeout) == .timedOut {
        kill(exit.pid, SIGKILL)
        _ = exit.waitBlocking()
        throw POSIXError(.ETIMEDOUT)
    }
    let status = exit.waitBlocking()
    let (out, err) = collected.withLock { $0 }
    return ProcessResult(
        status: status.code, output: String(decoding: out, as: UTF8.self),
        error: String(decoding: err, as: UTF8.self))
}

public func fileSize(_ path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
}

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
public struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs blocking work (starting a server, waiting for a process) on a thread of its own, so that
/// it never holds one of the few threads of Swift's cooperative pool that every async test and
/// the extension under test share (two on a two-core machine).
public func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try work() }) }
    }
}
