import Foundation
import NIOConcurrencyHelpers

/// The extension as a real child process: its own process group (so a freeze or a kill reaches
/// everything it started, as Lambda's cgroup freeze does), its output read line by line, its end observed.
final class ExtensionProcess: @unchecked Sendable {
    let pid: Int32
    /// Lines the process wrote to stdout or stderr, as they come.
    let lines: AsyncStream<String>
    private let process: Process
    private let ending: ChildExit
    private let ownGroup: Bool

    /// Starts `path` with exactly `environment` (nothing inherited from this process); `onExit` is
    /// called once, on an arbitrary thread, when the process has ended.
    init(
        path: String, arguments: [String], environment: [String: String],
        onExit: @escaping @Sendable (ExitStatus) -> Void
    ) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        let (lines, sink) = AsyncStream.makeStream(of: String.self)
        self.lines = lines
        ending = try ChildExit(running: process, onExit: onExit)
        pid = ending.pid
        ownGroup = getpgid(pid) == pid
        // Both streams feed one line sequence; the stream ends when both pipes are closed.
        let open = NIOLockedValueBox(2)
        for pipe in [output, errors] {
            let handle = pipe.fileHandleForReading
            Thread.detachNewThread {
                ExtensionProcess.readLines(handle) { sink.yield($0) }
                if open.withLockedValue({ count in
                    count -= 1
                    return count == 0
                }) {
                    sink.finish()
                }
            }
        }
    }

    var exitStatus: ExitStatus? { ending.status }

    /// Sends `signal` to the process and everything it started.
    func send(_ signal: Int32) {
        guard exitStatus == nil else { return }
        kill(ownGroup ? -pid : pid, signal)
    }

    func waitForExit() async -> ExitStatus { await ending.wait() }

    /// The scheduler state letter of `/proc/<pid>/stat` (`T` when stopped), nil when it is gone.
    var schedulerState: Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[close...].dropFirst().first { $0 != " " }
    }

    /// The peak resident memory (VmHWM) in MB, rounded up; nil when unknown.
    var peakMemoryMB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return nil }
        return (kilobytes + 1023) / 1024
    }

    private static func readLines(_ handle: FileHandle, _ line: (String) -> Void) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(handle.fileDescriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            pending += chunk[0..<count]
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                line(String(decoding: pending[..<newline], as: UTF8.self))
                pending.removeSubrange(...newline)
            }
        }
        if !pending.isEmpty { line(String(decoding: pending, as: UTF8.self)) }
        try? handle.close()
    }
}
