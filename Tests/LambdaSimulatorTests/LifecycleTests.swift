import Foundation
import LambdaSimulator
import SluiceTestSupport
import Testing

/// Freezes are real SIGSTOPs, timeouts reset the environment, the shutdown deadline is a SIGKILL,
/// and a killed extension is initialised again without losing buffered telemetry.
@Suite struct LifecycleTests {
    @Test func theFreezeIsASIGSTOPAndHoldsTelemetryUntilTheThaw() async throws {
        // A timeout long enough that invocation 1's report is still buffered when the freeze comes.
        let fixture = try MiniExtension(["MINI_TIMEOUT_MS": "250"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let first = try await simulator.invoke(logLines: 1)
            let pid = try #require(await simulator.extensionProcessId)
            #expect(await simulator.isFrozen)
            #expect(schedulerState(pid) == "T")

            // Frozen well past the buffering timeout: the platform delivers nothing meanwhile.
            try await simulator.idle(for: .milliseconds(600))
            #expect(schedulerState(pid) == "T")
            func reported(_ requestId: String) async -> Bool {
                await simulator.ledger().acknowledged(type: "platform.report").contains { $0.requestId == requestId }
            }
            #expect(!(await reported(first.requestId)))
            #expect(!fixture.storedEvents.contains { $0["type"] == "platform.report" })

            // The next invocation thaws it; invocation 1's report arrives during invocation 2, as on Lambda.
            let second = try await simulator.invoke(logLines: 1, handlerDuration: .milliseconds(400))
            #expect(second.initialization == nil)
            #expect(await reported(first.requestId))
            #expect(schedulerState(pid) == "T")
            #expect(fixture.storedEvents.contains { $0["type"] == "platform.report" })
        }
    }

    @Test func addedTimeRunsFromTheRuntimesEndToTheExtensionsNextCall() async throws {
        // Once: /next 600 ms after the INVOKE, past a 100 ms handler; afterwards at once.
        let fixture = try MiniExtension(["MINI_ON_INVOKE": "late:600"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let late = try await simulator.invoke(handlerDuration: .milliseconds(100))
            let added = try #require(late.addedTime)
            // The handler's end can come late on a loaded machine; the call to /next cannot come early.
            #expect(added > .zero)
            #expect(late.handlerDuration + added >= .milliseconds(590), "\(late.handlerDuration) + \(added)")
            #expect(added < .seconds(2))
            // Back in /next long before the handler ends: the extension adds nothing.
            let prompt = try await simulator.invoke(handlerDuration: .milliseconds(300))
            #expect(prompt.addedTime == .zero)
        }
    }

    @Test func anExtensionLateForNextTimesOutTheInvocationAndIsReset() async throws {
        let fixture = try MiniExtension(["MINI_ON_INVOKE": "late:900"]) {
            $0.functionTimeout = .milliseconds(500)
        }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let firstPid = try #require(await simulator.extensionProcessId)
            let late = try await simulator.invoke()
            #expect(late.timedOut)
            #expect(late.addedTime == nil)
            // The reset's SHUTDOWN reaches it when it is back in /next, before the deadline.
            let ledger = await simulator.ledger()
            let reset = try #require(ledger.shutdowns.last)
            #expect(reset.reason == .timeout)
            #expect(reset.eventDelivered)
            #expect(reset.exitStatus == .exited(0))
            #expect(!reset.killedAtDeadline)
            #expect(fixture.nextEvents.last?["shutdownReason"] == "timeout")
            #expect(await simulator.extensionProcessId == nil)

            // The next invocation initialises a new process (it misbehaves once only).
            let next = try await simulator.invoke()
            #expect(next.status == .success)
            #expect(next.initialization?.status == .success)
            #expect(next.initialization?.processId != firstPid)
            let statuses = await simulator.ledger().acknowledged(type: "platform.report").map { $0.record["status"] }
            #expect(statuses.first == "timeout")
        }
    }

    @Test func anExtensionThatNeverComesBackIsKilledAtTheResetDeadline() async throws {
        let fixture = try MiniExtension(["MINI_ON_INVOKE": "stall"]) { $0.functionTimeout = .milliseconds(300) }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            let started = ContinuousClock.now
            let stalled = try await simulator.invoke()
            let took = ContinuousClock.now - started
            #expect(stalled.timedOut)
            let reset = try #require(await simulator.ledger().shutdowns.last)
            #expect(reset.killedAtDeadline)
            #expect(!reset.eventDelivered)
            #expect(reset.exitStatus == .signalled(SIGKILL))
            #expect(reset.duration >= .milliseconds(1700) && reset.duration < .milliseconds(2500))
            #expect(took >= .milliseconds(2000))
        }
    }

    @Test func aShutdownPastItsDeadlineEndsInSIGKILL() async throws {
        let fixture = try MiniExtension(["MINI_ON_SHUTDOWN": "hang", "MINI_EXIT_ERROR": "1"])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            try await simulator.invoke()
            let pid = try #require(await simulator.extensionProcessId)
            let report = try await simulator.shutdown(reason: ShutdownReason(rawValue: "SPINDOWN"))
            #expect(report.eventDelivered)
            #expect(report.killedAtDeadline)
            #expect(report.exitStatus == .signalled(SIGKILL))
            #expect(report.reportedError == "Extension.ScriptedExit")
            #expect(report.duration >= .milliseconds(1700) && report.duration < .milliseconds(2500))
            #expect(fixture.nextEvents.last?["shutdownReason"] == "SPINDOWN")
            let deadline = try #require(fixture.nextEvents.last?["deadlineMs"]?.numberValue)
            let now = Date().timeIntervalSince1970 * 1000
            #expect(deadline <= now + 50 && deadline > now - 1000)
            #expect(schedulerState(pid) == nil)
        }
    }

    @Test func aKilledExtensionIsInitialisedAgainAndItsTelemetryIsDeliveredToTheNewOne() async throws {
        // The first delivery is held for 4 s, a window no loaded machine misses; the restarted
        // process answers at once.
        let fixture = try MiniExtension([
            "MINI_ACK_DELAY_MS": "4000", "MINI_ACK_DELAY_ONCE": "1", "MINI_ON_SHUTDOWN": "drain:400",
        ])
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            let firstInit = try await simulator.start()
            // Killed in the middle of a delivery: the extension has the batch, the platform no answer.
            let receiving = await waitFor(seconds: 10) { !fixture.records("deliveries.jsonl").isEmpty }
            #expect(receiving)
            await simulator.kill9()
            #expect(await simulator.extensionProcessId == nil)
            #expect(await simulator.ledger().acknowledged.isEmpty)

            let invocation = try await simulator.invoke(logLines: 3)
            let secondInit = try #require(invocation.initialization)
            #expect(secondInit.processId != firstInit.processId)
            #expect(invocation.status == .success)
            try await simulator.shutdown()

            let ledger = await simulator.ledger()
            #expect(ledger.failedDeliveries >= 1)
            #expect(ledger.acknowledgedMarkers == Set(invocation.markers))
            // The first process's init records were still buffered and reached the second one.
            #expect(ledger.acknowledged(type: "platform.initStart").count == 2)
            #expect(ledger.emitted == ledger.acknowledged.count)
            let stored = Set(fixture.storedEvents)
            #expect(ledger.acknowledged.allSatisfy { stored.contains($0.delivered) })
        }
    }

    /// The state letter of `/proc/<pid>/stat` (`T` when stopped), nil when the process is gone.
    /// Whether this machine has a cgroup CPU controller the tests may write (v2 or v1).
    static let cgroupCPUControllerWritable: Bool = {
        let controllers = (try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8)) ?? ""
        if controllers.split(whereSeparator: \.isWhitespace).contains("cpu") {
            return access("/sys/fs/cgroup", W_OK) == 0
        }
        return access("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", F_OK) == 0 && access("/sys/fs/cgroup/cpu", W_OK) == 0
    }()

    @Test(.enabled(if: cgroupCPUControllerWritable))
    func aSmallFunctionsExtensionRunsOnItsShareOfACPUAsLambdaGivesIt() async throws {
        let fixture = try MiniExtension {
            $0.memorySizeMB = 128
            $0.limitsCPUByMemory = true
        }
        var folders: [String] = []
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            try await simulator.start()
            // The first process, and the one the platform starts after a kill, are both in it.
            for round in 0..<2 {
                if round == 1 {
                    await simulator.kill9()
                    try await simulator.invoke(logLines: 1)
                }
                let pid = try #require(await simulator.extensionProcessId)
                let folder = try #require(cpuCgroupFolder(pid), "no CPU cgroup for \(pid)")
                #expect(folder.contains("sluice-simulator-"), "\(folder)")
                // 128 / 1,769 of a CPU: 7,235 µs in every 100 ms.
                let quota =
                    (try? String(contentsOfFile: folder + "/cpu.max", encoding: .utf8))
                    ?? (try? String(contentsOfFile: folder + "/cpu.cfs_quota_us", encoding: .utf8)) ?? ""
                #expect(quota.hasPrefix("7235"), "\(quota)")
                folders.append(folder)
            }
            #expect(folders[0] == folders[1])
        }
        // Removed with the simulator.
        #expect(access(folders[0], F_OK) != 0)
    }

    /// The end of a child is seen when it ends, also while a process it started lives on with every
    /// descriptor it inherited: among them the socket whose closing is Foundation's only news of
    /// the end. (A child another thread spawned at that moment inherits it the same way; a test
    /// that waited on Foundation's word alone then waited as long as that child lived.)
    @Test func anEndIsSeenWhileADescendantKeepsTheInheritedDescriptors() async throws {
        let folder = try TemporaryFolder()
        let pidFile = folder.file("descendant")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", #"sleep 20 & echo $! > "$0"; exit 3"#, pidFile]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let child = try ChildExit(running: process)
        let status = await child.wait()
        let descendant = try #require(
            Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        defer { kill(descendant, SIGKILL) }
        #expect(status == .exited(3))
        // Running or sleeping: not gone, and not a zombie either.
        let state = try String(contentsOfFile: "/proc/\(descendant)/stat", encoding: .utf8)
            .split(separator: ")").last?.split(separator: " ").first
        #expect(state == "S" || state == "R", "the end was seen only once the descendant had ended")
    }

    /// The folder of the cgroup that holds `pid`'s CPU controller (v2, or v1's `cpu` hierarchy).
    private func cpuCgroupFolder(_ pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            if parts[1].split(separator: ",").contains("cpu") {
                return "/sys/fs/cgroup/cpu" + parts[2]
            }
            if parts[0] == "0", parts[2] != "/", access("/sys/fs/cgroup\(parts[2])/cpu.max", F_OK) == 0 {
                return "/sys/fs/cgroup" + parts[2]
            }
        }
        return nil
    }

    private func schedulerState(_ pid: Int32) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(after: close)...].first { $0 != " " }
    }
}
