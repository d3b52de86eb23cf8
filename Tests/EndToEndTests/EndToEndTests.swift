import Foundation
import LambdaSimulator
import SluiceSpool
import SluiceTestSupport
import Testing

/// The built binary, the simulated platform and the local OpenSearch. Each test names the failure
/// of the AWS sample (LAMBDA_REFERENCE.md §5) it covers, and asserts that every event the platform
/// saw acknowledged is in OpenSearch exactly once and that no invocation failed because of Sluice.
@Suite struct EndToEndTests {
    /// Sample failures 4, 5, 6: freezes of random length between invocations, then a normal shutdown.
    @Test func fiftyInvocationsWithRandomFreezesThenShutdown() async throws {
        try await EndToEndRig.with { rig, simulator in
            var random = SeededRandom(seed: 50)
            try await simulator.start()
            for _ in 0..<50 {
                try await simulator.invoke(
                    logLines: Int.random(in: 1...20, using: &random),
                    handlerDuration: .milliseconds(Int.random(in: 1...30, using: &random)))
                try await simulator.idle(for: .milliseconds(Int.random(in: 0...200, using: &random)))
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            #expect(!shutdown.killedAtDeadline)
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            #expect(ledger.acknowledgedMarkers.count == ledger.invocations.map(\.markers.count).reduce(0, +))
            #expect(try rig.statistics().rows == 0)
        }
    }

    /// Sample failures 3 and 12: a freeze in the middle of a bulk request, long enough for the
    /// server side to drop the connection; the re-send after the thaw must not index twice.
    @Test func aFreezeInTheMiddleOfABulkRequest() async throws {
        try await EndToEndRig.with(environment: ["SLUICE_FLUSH": "background"]) { rig, simulator in
            try await simulator.start()
            try await simulator.invoke(logLines: 5)
            try await rig.proxy.inject([["kind": "stall", "match": "_bulk", "seconds": 1, "count": 1]])
            // The invocation ends while the stalled request is in flight; the freeze outlasts it.
            try await simulator.invoke(logLines: 50, handlerDuration: .milliseconds(100))
            try await simulator.idle(for: .milliseconds(2_500))
            for _ in 0..<3 { try await simulator.invoke(logLines: 5) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            let outcomes = try await rig.proxy.requests().compactMap { $0["outcome"] as? String }
            #expect(outcomes.contains("stall"))
        }
    }

    /// Sample failures 1, 2, 3: OpenSearch unreachable during invocations 10–30, back afterwards.
    @Test func openSearchDownDuringInvocationsTenToThirty() async throws {
        try await EndToEndRig.with { rig, simulator in
            try await simulator.start()
            for invocation in 0..<40 {
                if invocation == 10 {
                    try await rig.proxy.inject([["kind": "reset", "match": "", "count": 100_000]])
                }
                if invocation == 30 { try await rig.proxy.clearFaults() }
                try await simulator.invoke(logLines: 10)
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            #expect(try rig.statistics().counters.retried > 0, "the outage was seen")
        }
    }

    /// Sample failure 6 (and 12): kill -9 at random points, during a delivery, a bulk request or a
    /// settle; the environment initialises again and nothing acknowledged is lost or doubled.
    @Test(arguments: 1...10)
    func killNineAtRandomPoints(seed: UInt64) async throws {
        try await EndToEndRig.with { rig, simulator in
            var random = SeededRandom(seed: seed)
            try await simulator.start()
            let killAt = Int.random(in: 1...4, using: &random)
            for invocation in 0..<6 {
                if invocation == killAt {
                    let delay = Int.random(in: 0...60, using: &random)
                    async let running = try? simulator.invoke(logLines: 200, handlerDuration: .milliseconds(40))
                    try await Task.sleep(for: .milliseconds(delay))
                    await simulator.kill9()
                    _ = await running
                } else {
                    try await simulator.invoke(logLines: Int.random(in: 10...200, using: &random))
                }
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            #expect(ledger.initializations.count >= 2, "killed and initialised again")
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
        }
    }

    /// Sample failures 7 and 9-style bad input: malformed deliveries are answered 4xx and change
    /// nothing else.
    @Test func malformedDeliveriesAreRefusedAndChangeNothingElse() async throws {
        try await EndToEndRig.with { rig, simulator in
            try await simulator.start()
            try await simulator.invoke(logLines: 10)
            let bad: [[UInt8]] = [
                Array("this is not JSON".utf8),
                Array(#"{"time":"2026-11-25T10:00:00Z","type":"function","record":"x"}"#.utf8),
                Array(#"[{"time":12,"type":"function","record":"x"}]"#.utf8),
                Array(#"[{"time":"2026-11-25T10:00:00Z","type":["function"],"record":"x"}]"#.utf8),
                Array(repeating: UInt8(ascii: " "), count: 5 << 20),
            ]
            for body in bad {
                let (status, reason) = try await simulator.deliverRaw(body)
                #expect((400..<500).contains(status), "\(status) \(reason)")
            }
            for _ in 0..<5 { try await simulator.invoke(logLines: 10) }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            rig.expectNoInvocationHarmed(ledger)
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)
            #expect(try rig.statistics().counters.malformed == 4, "the oversized one never reached validation")
        }
    }

    /// Sample failure 5: SHUTDOWN with a backlog larger than what fits in the deadline: what fits is
    /// shipped, the process exits before SIGKILL, the rest is counted as left at shutdown.
    @Test func shutdownWithALargeBacklog() async throws {
        try await EndToEndRig.with { rig, simulator in
            try await simulator.start()
            try await rig.proxy.inject([["kind": "reset", "match": "", "count": 100_000]])
            for _ in 0..<20 { try await simulator.invoke(logLines: 1_000, handlerDuration: .milliseconds(5)) }
            try await rig.proxy.clearFaults()
            let before = try rig.statistics().rows
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            #expect(!shutdown.killedAtDeadline)
            #expect(shutdown.duration < .milliseconds(1_700))
            let statistics = try rig.statistics()
            #expect(before > 10_000)
            #expect(statistics.counters.leftAtShutdown == statistics.rows)
            let indexed = try await rig.indexedKeys().values.reduce(0, +)
            #expect(indexed > 0, "what fitted was shipped")
            #expect(indexed + statistics.rows >= before, "everything is either in OpenSearch or in the spool")
        }
    }
}
