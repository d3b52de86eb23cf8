import AsyncHTTPClient
import Foundation
import LambdaSimulator
import SluiceSpool
import SluiceTestSupport
import Testing

/// The long run: the extension (the layer's binary when `SLUICE_EXTENSION_BINARY` names it) under
/// the simulator for `SLUICE_SOAK_MINUTES`, with random freezes, kills at random points, OpenSearch
/// outages, 429 and 503 storms, malformed and oversized deliveries, and secret rotations, then the
/// exact check (every acknowledged event in OpenSearch once, every summary equal to its report)
/// and resident memory and spool size over time. Runs only when asked: `tools/soak`.
@Suite(.serialized) struct SoakTests {
    static let minutes = ProcessInfo.processInfo.environment["SLUICE_SOAK_MINUTES"].flatMap(Double.init)

    /// What the run did and measured.
    struct Tally {
        var invocations = 0
        var kills = 0
        var outages = 0
        var storms = 0
        var malformed = 0
        var rotations = 0
        var freezes = 0
        /// (seconds into the run, resident kB of the extension, spool file and WAL bytes).
        var samples: [(Double, Int, Int)] = []
        /// The most records waiting in the spool at once.
        var mostWaiting = 0
    }

    /// The run's minutes, and ten more for the build-up and the check: a hang fails the test
    /// instead of holding CI (or a long run) to its own limit.
    static let limit = Int((minutes ?? 1).rounded(.up)) + 10

    @Test(.enabled(if: minutes != nil), .timeLimit(.minutes(limit)))
    func soak() async throws {
        let duration = (Self.minutes ?? 1) * 60
        let seed = ProcessInfo.processInfo.environment["SLUICE_SOAK_SEED"].flatMap(UInt64.init) ?? 20_261_203
        let secrets = try await LocalSecrets.start(client: HTTPClient.shared)
        defer { secrets.server.stop() }
        var password = "first"
        try await secrets.put(id: "sluice/soak", username: "sluice", password: password)
        var environment = secrets.environment
        environment["AUTH_SECRET"] = "sluice/soak"
        // Outages and storms must not make dead letters of events that would ship a moment later.
        environment["SLUICE_RETRY_MAX_ATTEMPTS"] = "1000"
        var tally = Tally()
        var harmless: Set<String> = []
        // The platform's credentials for the function are the ones the local Secrets Manager takes.
        let session = secrets.session
        try await EndToEndRig.with(
            environment: environment,
            configure: { configuration in
                configuration.region = "us-east-1"
                configuration.accessKeyId = session.accessKeyID
                configuration.secretAccessKey = session.secretAccessKey
                configuration.sessionToken = session.sessionToken ?? ""
            }
        ) { rig, simulator in
            try await rig.proxy.requireBasicAuth(username: "sluice", password: password)
            var random = SeededRandom(seed: seed)
            let started = Date()
            func elapsed() -> Double { Date().timeIntervalSince(started) }
            func every(_ count: Double) -> Double { duration / count }
            var next = (
                kill: every(25), outage: every(8) / 2, storm: every(8), malformed: every(10), rotation: every(5)
            )
            var lastSample = -1.0
            try await simulator.start()
            while elapsed() < duration {
                let now = elapsed()
                if now >= next.kill {
                    next.kill += every(25)
                    tally.kills += 1
                    let delay = Int.random(in: 0...80, using: &random)
                    async let running = try? simulator.invoke(
                        logLines: Int.random(in: 20...200, using: &random), handlerDuration: .milliseconds(40))
                    try await Task.sleep(for: .milliseconds(delay))
                    await simulator.kill9()
                    if let report = await running { harmless.insert(report.requestId) }
                    tally.invocations += 1
                    continue
                }
                if now >= next.outage {
                    next.outage += every(8)
                    tally.outages += 1
                    try await rig.proxy.inject([
                        ["kind": "reset", "match": "_bulk", "count": Int.random(in: 2...8, using: &random)]
                    ])
                }
                if now >= next.storm {
                    next.storm += every(8)
                    tally.storms += 1
                    let status = Bool.random(using: &random) ? 429 : 503
                    try await rig.proxy.inject([
                        [
                            "kind": "status", "status": status, "match": "_bulk",
                            "count": Int.random(in: 2...8, using: &random), "headers": ["Retry-After": "0"],
                        ]
                    ])
                }
                if now >= next.rotation {
                    next.rotation += every(5)
                    tally.rotations += 1
                    password = "rotated-\(tally.rotations)"
                    try await secrets.put(id: "sluice/soak", username: "sluice", password: password)
                    try await rig.proxy.requireBasicAuth(username: "sluice", password: password)
                }
                _ = try await simulator.invoke(
                    logLines: Int.random(in: 1...120, using: &random),
                    logLinePadding: Int.random(in: 0...900, using: &random),
                    handlerDuration: .milliseconds(Int.random(in: 1...30, using: &random)))
                tally.invocations += 1
                // Only a running extension has a listener to refuse them.
                if now >= next.malformed {
                    next.malformed += every(10)
                    tally.malformed += 2
                    let bad = try await simulator.deliverRaw(Array("not JSON at all".utf8))
                    #expect((400..<500).contains(bad.status))
                    // Answered 413 before it has all been sent; the upload may be cut off instead.
                    let huge = try? await simulator.deliverRaw(Array(repeating: UInt8(ascii: " "), count: 6 << 20))
                    #expect(huge == nil || huge?.status == 413)
                }
                // Frozen between invocations for ms, tenths, or now and then seconds.
                let freeze = Double.random(in: 0..<1, using: &random)
                let idle =
                    freeze < 0.7
                    ? Int.random(in: 0...50, using: &random)
                    : freeze < 0.97
                        ? Int.random(in: 50...500, using: &random) : Int.random(in: 1_000...4_000, using: &random)
                if idle > 0 { tally.freezes += 1 }
                try await simulator.idle(for: .milliseconds(idle))
                if elapsed() - lastSample >= 1, let pid = await simulator.extensionProcessId {
                    lastSample = elapsed()
                    tally.samples.append((lastSample, Self.residentKilobytes(pid), Self.spoolBytes(rig.spoolPath)))
                    tally.mostWaiting = max(tally.mostWaiting, (try? rig.statistics().rows) ?? 0)
                }
            }
            try await rig.proxy.clearFaults()
            // The faults stop: invocations long enough to ship the backlog the last ones left, so
            // that SHUTDOWN has little to do and the check can be exact. At least one: a kill that
            // came last left no extension running, and the next invoke starts one, as Lambda does.
            let draining = Date()
            var waiting = Int.max
            while waiting > 500, Date().timeIntervalSince(draining) < 120 {
                _ = try await simulator.invoke(logLines: 1, handlerDuration: .milliseconds(300))
                tally.invocations += 1
                waiting = try rig.statistics().rows
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            let harmed = ledger.invocations.filter { $0.status != .success && !harmless.contains($0.requestId) }
            #expect(harmed.isEmpty, "invocations harmed without a kill: \(harmed.prefix(3).map(\.requestId))")
            let statistics = try rig.statistics()
            if statistics.rows > 0 {
                // What explains a SHUTDOWN that left records: the last process's start, what the
                // extension complained of last, and its own account of the shutdown.
                let output = await simulator.extensionOutput()
                let told = output.filter {
                    $0.contains("warning") || $0.contains("error") || $0.contains("sluice is running")
                        || $0.contains("sluice shut down")
                }
                print(
                    "soak: the extension's starts, complaints and shutdown, last:\n"
                        + told.suffix(16).joined(separator: "\n"))
                // And everything the last process said, from its start to its shutdown line.
                print("soak: the last process's output:\n" + Self.lastProcess(output))
            }
            #expect(statistics.counters.dropped == 0)
            #expect(statistics.counters.deadLettered == 0)
            // Left at SHUTDOWN (a backlog the deadline did not fit) would be shipped by the next
            // environment's extension; this one ships the rest itself so the check is exact.
            #expect(statistics.rows == 0, "the last SHUTDOWN left \(statistics.rows) records")
            let lost = try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            var expected: [String: Int] = [:]
            for event in ledger.acknowledged {
                let record = try JSONSerialization.jsonObject(
                    with: Data(event.record.serialized.utf8), options: .fragmentsAllowed)
                expected[try EndToEndRig.key(type: event.type, time: event.time, record: record), default: 0] += 1
            }
            let duplicated = try await rig.indexedKeys().reduce(0) { total, entry in
                total + max(0, entry.value - max(1, expected[entry.key] ?? 0))
            }
            Self.report(tally, lost: lost, duplicated: duplicated, ledger: ledger, duration: duration)
        }
    }

    /// The table `tools/soak` prints, and the level-off checks on memory and the spool file.
    static func report(_ tally: Tally, lost: Int, duplicated: Int, ledger: PlatformLedger, duration: Double) {
        let tenth = duration / 10
        let first = tally.samples.filter { $0.0 < tenth }.map(\.1).max() ?? 0
        let rest = tally.samples.filter { $0.0 >= tenth }.map(\.1).max() ?? 0
        let lastTenth = tally.samples.filter { $0.0 >= duration - tenth }.map(\.1).max() ?? 0
        let spool = tally.samples.map(\.2).max() ?? 0
        let lines = [
            "| minutes | invocations | inits | kills | freezes | outages | storms | malformed | rotations | events | lost | duplicated | peak RSS, first tenth | peak RSS, after it | peak RSS, last tenth | most records waiting | largest spool file |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            "| \(duration / 60) | \(tally.invocations) | \(ledger.initializations.count) | \(tally.kills) | \(tally.freezes) | \(tally.outages) | \(tally.storms) | \(tally.malformed) | \(tally.rotations) | \(ledger.acknowledged.count) | \(lost) | \(duplicated) | \(first / 1024) MiB | \(rest / 1024) MiB | \(lastTenth / 1024) MiB | \(tally.mostWaiting) | \(spool >> 20) MiB |",
        ]
        print("soak:\n" + lines.joined(separator: "\n"))
        print(
            "soak samples (s, RSS kB, spool bytes): "
                + tally.samples.map { "\(Int($0.0)):\($0.1):\($0.2)" }.joined(separator: " "))
        #expect(first > 0 && rest > 0, "resident memory was sampled")
        // A first tenth of a few seconds has not reached the steady state yet: judged on long runs.
        if duration >= 300 {
            #expect(Double(rest) <= 1.1 * Double(first), "resident memory levels off: \(first) kB then \(rest) kB")
        }
        #expect(spool <= 64 << 20, "the spool file stays under its cap")
    }

    /// The lines of the extension's last process, from its start line on.
    static func lastProcess(_ output: [String]) -> String {
        let start = output.lastIndex { $0.contains("sluice is running") } ?? 0
        return output[start...].joined(separator: "\n")
    }

    static func residentKilobytes(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    static func spoolBytes(_ path: String) -> Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }
}
