import Foundation
import Synchronization
import Testing

@testable import SluiceSpool

/// A folder of its own for one test, removed when the test ends.
final class TemporaryFolder: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/sluice-test-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIXError(.EIO) }
        path = String(cString: made)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let value: Mutex<Int64>

    init(_ start: Int64 = 1_764_000_000_000) { value = Mutex(start) }

    var now: Int64 { value.withLock { $0 } }

    func advance(by milliseconds: Int64) { value.withLock { $0 += milliseconds } }

    var spoolClock: SpoolClock { SpoolClock { [self] in self.now } }
}

/// `count` records with time-ordered ids, `prefix` keeping batches apart, ~`bytes` each.
func makeRecords(_ count: Int, prefix: String = "b0", index: String = "lambda-function", bytes: Int = 250)
    -> [SpoolRecord]
{
    (0..<count).map { position in
        let id = "\(prefix)-\(String(position, radix: 16))"
        let head = #"{"time":"2026-11-25T13:00:00.000Z","type":"function","record":""#
        let filler = String(repeating: "x", count: max(0, bytes - head.utf8.count - id.utf8.count - 2))
        return SpoolRecord(
            id: id, index: index, eventTime: 1_764_000_000_000 + Int64(position),
            document: Array((head + id + filler + #""}"#).utf8))
    }
}

func openSpool(
    _ folder: TemporaryFolder, clock: ManualClock = ManualClock(), capBytes: Int = 64 << 20,
    policy: OverflowPolicy = .dropOldest, maxFileBytes: Int? = nil, name: String = "spool.sqlite"
) throws -> Spool {
    try Spool.open(
        SpoolConfiguration(
            path: folder.file(name), capBytes: capBytes, overflowPolicy: policy, maxFileBytes: maxFileBytes,
            leaseMilliseconds: 30_000, clock: clock.spoolClock))
}

/// The package's root folder, from this file's place in it.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// A built executable of this package, next to the test bundle.
func builtProduct(_ name: String) throws -> String {
    let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var folder = bundle.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = folder.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        folder = folder.deletingLastPathComponent()
    }
    throw POSIXError(.ENOENT)
}

