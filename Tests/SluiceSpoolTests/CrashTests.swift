import Foundation
import LambdaSimulator
import SluiceTestSupport
import Testing

@testable import SluiceSpool

/// The spool's durability claim: a process killed with SIGKILL leaves exactly its committed records.
@Suite struct CrashTests {
    /// Runs `sluice-dev fill` and reads its `committed N` / `giant` lines. Its waits (a line, the
    /// exit) happen off the cooperative pool; one test at a time uses it.
    final class Writer: @unchecked Sendable {
        let process = Process()
        let exit: ChildExit
        private let output = Pipe()
        private var buffer = Data()

        init(path: String, arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: try builtProduct("sluice-dev"))
            process.arguments = ["fill", "--path", path] + arguments
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            exit = try ChildExit(running: process)
        }

        var isRunning: Bool { exit.status == nil }

        /// The next line, or nil once the writer has exited.
        func nextLine() async throws -> String? {
            try await offThePool { self.readLine() }
        }

        /// The next line, read on the calling thread.
        func readLine() -> String? {
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...newline)
                    return line
                }
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
            }
        }

        func kill() async throws {
            try await offThePool { self.killNow() }
        }

        func killNow() {
            Foundation.kill(exit.pid, SIGKILL)
            _ = exit.waitBlocking()
        }

        deinit {
            if isRunning { killNow() }
        }
    }

    @Test func killedInTheMiddleOfAnAppendLeavesExactlyTheCommittedRecords() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        let writer = try Writer(
            path: path,
            arguments: ["--batches", "3", "--batch-size", "500", "--giant", "400000", "--record-bytes", "300"])
        // The giant batch is written to the WAL as SQLite's cache fills; once the WAL has grown by a
        // few megabytes the transaction is certainly open and uncommitted. Kill it there. From the
        // `giant` line to the kill, all of it runs on a thread of its own: a task of the pool could
        // be kept waiting past the moment by other suites' work, and the transaction would commit
        // unseen.
        let (committed, grew, runningAtKill) = try await offThePool { [writer] in
            var committed = 0
            while let line = writer.readLine(), line != "giant" {
                committed = Int(line.split(separator: " ").last!) ?? -1
            }
            let wal = path + "-wal"
            let walAtStart = fileSize(wal)
            let deadline = Date().addingTimeInterval(30)
            var grew = false
            while !grew && Date() < deadline && writer.isRunning {
                grew = fileSize(wal) > walAtStart + 4 << 20
                if !grew { usleep(1_000) }
            }
            let running = writer.isRunning
            writer.killNow()
            return (committed, grew, running)
        }
        #expect(committed == 1500)
        #expect(grew, "the giant transaction never spilled into the WAL")
        #expect(runningAtKill, "the giant batch finished before it could be killed")
        #expect(writer.exit.status == .signalled(SIGKILL))

        let spool = try openSpool(folder)
        #expect(spool.quarantinedPath == nil, "the killed writer left a sound file")
        #expect(try spool.statistics().rows == 1500)
        #expect(try spool.check().problems.isEmpty)
        #expect(try spool.append(makeRecords(10)).stored == 10)
    }

    @Test(arguments: 0..<5)
    func killedAtARandomMomentLosesNoCommittedBatch(seed: Int) async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        var random = SeededRandom(seed: UInt64(seed))
        let writer = try Writer(path: path, arguments: ["--batches", "100000", "--batch-size", "100"])
        let linesBeforeKill = Int.random(in: 1...40, using: &random)
        var announced = 0
        for _ in 0..<linesBeforeKill {
            guard let line = try await writer.nextLine() else { break }
            announced = Int(line.split(separator: " ").last!)!
        }
        try await Task.sleep(for: .microseconds(Int.random(in: 0...3_000, using: &random)))
        try await writer.kill()

        let rows = try openSpool(folder).statistics().rows
        // A commit may land between the last line read and the kill, never half a batch.
        #expect(rows >= announced)
        #expect(rows % 100 == 0, "\(rows) rows: a batch was half committed")
        #expect(try openSpool(folder).check().problems.isEmpty)
    }
}
