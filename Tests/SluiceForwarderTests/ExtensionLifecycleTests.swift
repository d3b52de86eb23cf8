import AsyncHTTPClient
import Foundation
import InMemoryLogging
import Logging
import NIOCore
import SluiceForwarder
import SluiceLambda
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

/// The whole path in one process: register → subscribe → deliveries → spool → the local
/// OpenSearch → SHUTDOWN, with a scripted platform.
struct ExtensionLifecycleTests {
    @Test func everyDeliveredEventIsInOpenSearchOnceAndShutdownEndsBeforeTheDeadline() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let client = HTTPClient.shared
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: client)
        defer { proxy.stop() }
        let folder = try TemporaryFolder()
        let prefix = "life-" + UUID().uuidString.lowercased().prefix(8)
        let environment = [
            "URL": proxy.url, "PLATFORM_INDEX": "\(prefix)-platform", "FUNCTION_INDEX": "\(prefix)-function",
            "EXTENSION_INDEX": "\(prefix)-extension", "INVOCATION_INDEX": "\(prefix)-invocations",
            "SLUICE_SPOOL_PATH": folder.file("spool.sqlite"), "AWS_REGION": "eu-west-1",
            "SLUICE_BUFFER_TIMEOUT_MS": "25",
        ]
        let platform = ScriptedPlatform()
        let logs = InMemoryLogHandler()
        // The forwarder's clock is the test's: SHUTDOWN's deadline, its quiet time and every wait of
        // the drain are on it, so no wall-clock window decides the test on a loaded machine.
        let clock = ManualClock(UTCTime.nowMilliseconds())
        let exit = ExitWatch()
        let running = exit.run(environment, platform: platform, clock: clock, logs: logs)
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        let destination = try #require(await platform.destination)
        let subscription = try #require(await platform.subscription)
        #expect(subscription.types == ["platform", "function", "extension"])
        #expect(subscription.schemaVersion == "2022-12-13")

        // Init telemetry arrives before the first invoke; nothing may go to OpenSearch yet.
        let platformEvents = TelemetryFixtures.eventJSON.enumerated().filter {
            TelemetryFixtures.events[$0.offset].type.hasPrefix("platform.")
        }.map(\.element)
        #expect(try await post(client, destination, TelemetryFixtures.delivery(platformEvents)).0 == 200)
        #expect(try await proxy.requests().isEmpty, "nothing on the network before the first /next")

        for invocation in 0..<5 {
            await platform.send(.invoke(requestID: "req-\(invocation)", deadline: UTCTime.nowMilliseconds() + 3_000))
            let body = TelemetryFixtures.logLines(100, marker: "inv\(invocation)")
            #expect(try await post(client, destination, body).0 == 200)
            if invocation == 2 {
                // A lost 200: the platform sends the same batch again.
                #expect(try await post(client, destination, body).0 == 200)
            }
            #expect(await waitFor(seconds: 30) { await platform.nextCalls == invocation + 2 })
        }
        let (status, reason) = try await post(client, destination, Array("[{]".utf8))
        #expect(status == 400)
        #expect(reason.contains("expected"))

        let deadline = clock.now + 2_000
        await platform.send(.shutdown(reason: "spindown", deadline: deadline))
        // Time moves only once everything has shipped: then the quiet time for late deliveries
        // passes on the test clock, and the drain ends long before the deadline.
        let spoolPath = folder.file("spool.sqlite")
        #expect(
            await waitFor(seconds: 30) {
                (try? Spool.open(SpoolConfiguration(path: spoolPath), access: .readOnly).statistics().rows) == 0
            }, "everything shipped")
        #expect(await exit.advance(clock, by: 10, until: deadline), "exited")
        #expect(await running.value == 0)
        #expect(clock.now < deadline - 200, "exited before the deadline, within the quiet time")

        let probe = OpenSearchProbe(url: opensearch.url, client: client)
        let lines = try await probe.documents("\(prefix)-function")
        let messages = lines.values.compactMap { $0["message"] as? String }
        #expect(messages.count == 500)
        #expect(Set(messages).count == 500, "each line once")
        #expect(try await probe.count("\(prefix)-platform") == platformEvents.count)
        // The fixtures hold one invocation (a start and its report): its summary is a document too.
        let summaries = try await probe.documents("\(prefix)-invocations").values
        #expect(summaries.map { $0["requestId"] as? String } == ["6d68ca91-49c9-448d-89b8-7ca3e6dc66aa"])
        #expect(await platform.errors.isEmpty)

        let spool = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .readOnly)
        let statistics = try spool.statistics()
        #expect(statistics.rows == 0)
        // The re-delivered batch is caught by the spool while its first copy waits there, and by
        // OpenSearch (409 on the same ids) once it has shipped; either way each line is there once.
        // The extension's health: one with the first delivery (this minute's), one at SHUTDOWN.
        let health = try await probe.documents("\(prefix)-extension").values.filter {
            $0["type"] as? String == "sluice.health"
        }
        #expect(health.compactMap { $0["reason"] as? String }.sorted() == ["interval", "shutdown"])
        let written = platformEvents.count + 600 + summaries.count + health.count
        #expect(statistics.counters.received == written)
        #expect(statistics.counters.stored + statistics.counters.duplicate == written)
        #expect(statistics.counters.malformed == 1)
        #expect(statistics.counters.leftAtShutdown == 0)
        let summary = logs.entries.filter { $0.message.description == "sluice shut down" }
        #expect(summary.count == 1)
        #expect(summary.first?.metadata["left_in_spool"]?.description == "0")
    }

    /// A request that hangs (the connection open, no answer) when SHUTDOWN comes is abandoned
    /// (the index requests before it were answered at once on the test's clock, so after the
    /// 100 ms floor), and its batch goes again on a new connection: before, it held the drain until
    /// the request timeout (10 s), and the records stayed in the spool.
    ///
    /// A cluster that hangs every request: each is abandoned in turn, what waits stays in the
    /// spool, counted, and the summary says how long the last request had gone unanswered.
    @Test(arguments: [1, 1_000])
    func aRequestThatHangsAtShutdownIsAbandonedAndItsBatchGoesAgain(hanging: Int) async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let client = HTTPClient.shared
        let proxy = try await FaultProxy.start(upstream: opensearch.url, client: client)
        defer { proxy.stop() }
        try await proxy.inject([["kind": "stall", "match": "_bulk", "count": hanging, "seconds": 60]])
        let folder = try TemporaryFolder()
        let prefix = "hang-" + UUID().uuidString.lowercased().prefix(8)
        let platform = ScriptedPlatform()
        let logs = InMemoryLogHandler()
        let clock = ManualClock(UTCTime.nowMilliseconds())
        let exit = ExitWatch()
        let running = exit.run(
            [
                "URL": proxy.url, "PLATFORM_INDEX": "\(prefix)-platform", "FUNCTION_INDEX": "\(prefix)-function",
                "EXTENSION_INDEX": "\(prefix)-extension", "INVOCATION_INDEX": "\(prefix)-invocations",
                "SLUICE_SPOOL_PATH": folder.file("spool.sqlite"), "SLUICE_BUFFER_TIMEOUT_MS": "25",
            ], platform: platform, clock: clock, logs: logs)
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        let destination = try #require(await platform.destination)
        #expect(try await post(client, destination, TelemetryFixtures.logLines(20, marker: "hang")).0 == 200)
        await platform.send(.invoke(requestID: "req-0", deadline: clock.now + 3_000))
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 2 })
        // The first `_bulk` reaches the proxy, which holds it without a word.
        #expect(
            await waitFor(seconds: 30) {
                ((try? await proxy.requests()) ?? []).contains { $0["outcome"] as? String == "stall" }
            }, "the first _bulk hangs")

        let deadline = clock.now + 2_000
        await platform.send(.shutdown(reason: "spindown", deadline: deadline))
        #expect(await exit.advance(clock, by: 10, until: deadline), "exited")
        #expect(await running.value == 0)

        let spool = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .readOnly)
        let summary = logs.entries.first { $0.message.description == "sluice shut down" }
        let abandoned = logs.entries.filter { $0.message.description.contains("was abandoned") }
        guard hanging == 1 else {
            #expect(abandoned.count >= 2, "each hanging request in turn")
            #expect(summary?.metadata["requests.abandoned"]?.description == "\(abandoned.count)")
            let left = try spool.statistics().counters.leftAtShutdown
            #expect(left >= 20 && summary?.metadata["left_in_spool"]?.description == "\(left)")
            #expect(summary?.metadata["shutdown.unanswered_ms"] != nil, "a request was still unanswered")
            return
        }
        let probe = OpenSearchProbe(url: opensearch.url, client: client)
        #expect(try await probe.count("\(prefix)-function") == 20, "the batch went again and was indexed")
        #expect(try spool.statistics().rows == 0)
        #expect(try spool.statistics().counters.leftAtShutdown == 0)
        #expect(abandoned.count == 1)
        #expect(summary?.metadata["requests.abandoned"]?.description == "1")
        #expect(summary?.metadata["left_in_spool"]?.description == "0")
        let bulks = try await proxy.requests().filter { ($0["path"] as? String)?.contains("_bulk") == true }
        #expect(bulks.map { $0["outcome"] as? String } == ["stall", "forwarded"])
    }

    @Test func policyEndHoldsNextUntilTheSpoolIsDrained() async throws {
        let opensearch = try await startOpenSearch()
        defer { opensearch.stop() }
        let folder = try TemporaryFolder()
        let prefix = "hold-" + UUID().uuidString.lowercased().prefix(8)
        let platform = ScriptedPlatform()
        let running = Task {
            await ForwarderExtension(
                environment: [
                    "URL": opensearch.url, "FUNCTION_INDEX": "\(prefix)-function",
                    "SLUICE_SPOOL_PATH": folder.file("spool.sqlite"), "SLUICE_FLUSH": "end",
                    "SLUICE_FLUSH_BUDGET_MS": "30000",
                    "SLUICE_BUFFER_TIMEOUT_MS": "25",
                ], api: platform, listenerHost: "127.0.0.1"
            ) { _ in Logger(label: "sluice") { _ in SwiftLogNoOpLogHandler() } }.run()
        }
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        let destination = try #require(await platform.destination)
        #expect(
            try await post(HTTPClient.shared, destination, TelemetryFixtures.logLines(300, marker: "held")).0 == 200)
        await platform.send(.invoke(requestID: "req-0", deadline: UTCTime.nowMilliseconds() + 60_000))
        #expect(await waitFor(seconds: 20) { await platform.nextCalls == 2 })
        // /next came back only once OpenSearch had everything.
        let probe = OpenSearchProbe(url: opensearch.url, client: HTTPClient.shared)
        #expect(try await probe.count("\(prefix)-function") == 300)
        await platform.send(.shutdown(reason: "spindown", deadline: UTCTime.nowMilliseconds() + 2_000))
        #expect(await running.value == 0)
    }

    @Test func aHoldEndsAtOnceWhenOpenSearchIsDownRatherThanSpendingTheBudget() async throws {
        let folder = try TemporaryFolder()
        let platform = ScriptedPlatform()
        // On the test's clock, which stands still: a minute's budget could never end by itself.
        let clock = ManualClock(UTCTime.nowMilliseconds())
        let exit = ExitWatch()
        let running = exit.run(
            [
                "URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": folder.file("spool.sqlite"),
                "SLUICE_FLUSH": "end",
                "SLUICE_FLUSH_BUDGET_MS": "60000", "SLUICE_RETRY_BASE_MS": "20000",
                "SLUICE_REQUEST_TIMEOUT_MS": "1000",
                "SLUICE_RETRY_CAP_MS": "20000", "SLUICE_BUFFER_TIMEOUT_MS": "25",
            ], platform: platform, clock: clock)
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        let destination = try #require(await platform.destination)
        #expect(try await post(HTTPClient.shared, destination, TelemetryFixtures.logLines(10, marker: "down")).0 == 200)
        await platform.send(.invoke(requestID: "req-0", deadline: clock.now + 120_000))
        // The budget is a minute; the shipper's pause ends the hold as soon as the request fails.
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 2 })
        let deadline = clock.now + 2_000
        await platform.send(.shutdown(reason: "spindown", deadline: deadline))
        // Hurried retries fail and pause 50 ms each on the test clock: moved 10 ms at a time, the
        // drain gives up at the deadline less its margin, and the process exits before the deadline.
        #expect(await exit.advance(clock, by: 10, until: deadline), "exited")
        #expect(await running.value == 0)
        #expect(clock.now < deadline)
        // It stops once a pause would end at the margin or later: the last failure came within one
        // hurried pause (50 ms) and one step of the clock before it.
        #expect(clock.now >= deadline - 200 - 50 - 10, "kept trying until the margin")
        let spool = try Spool.open(SpoolConfiguration(path: folder.file("spool.sqlite")), access: .readOnly)
        // The ten lines and the two health documents (the first delivery's and SHUTDOWN's).
        let health = try spool.peek(limit: 100).filter { $0.id.hasPrefix("health-") }.count
        #expect(health == 2)
        #expect(try spool.statistics().counters.leftAtShutdown == 10 + health, "kept, and counted")
    }

    /// The spool's full check runs after the first INVOKE, in the background; not when the first
    /// event is SHUTDOWN, where it would take the CPU the drain needs for an environment that is going.
    @Test(arguments: [false, true])
    func theSpoolIsCheckedAfterTheFirstInvokeNotWhenTheFirstEventIsShutdown(firstIsShutdown: Bool) async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let spool = try Spool.open(SpoolConfiguration(path: path))
            for batch in 0..<20 {
                try spool.append(
                    (0..<200).map { number in
                        SpoolRecord(
                            id: "0018b2c3d4e5-check-\(batch)-\(number)", index: "check-function",
                            eventTime: 1_700_000_000_000 + Int64(batch * 200 + number),
                            document: Array(#"{"n":\#(number),"text":"\#(String(repeating: "x", count: 400))"}"#.utf8))
                    })
            }
        }
        // One page in the middle of the records overwritten: the open, which leaves the full check out, keeps it.
        try damageMiddlePage(of: path)

        let platform = ScriptedPlatform()
        let running = Task {
            await ForwarderExtension(
                environment: ["URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": path], api: platform,
                listenerHost: "127.0.0.1"
            ) { _ in Logger(label: "sluice") { _ in SwiftLogNoOpLogHandler() } }.run()
        }
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        let marker = path + ".damaged"
        if !firstIsShutdown {
            await platform.send(.invoke(requestID: "req-0", deadline: UTCTime.nowMilliseconds() + 60_000))
            #expect(await waitFor(seconds: 30) { FileManager.default.fileExists(atPath: marker) }, "checked")
        }
        await platform.send(.shutdown(reason: "spindown", deadline: UTCTime.nowMilliseconds() + 1_000))
        #expect(await running.value == 0)
        if firstIsShutdown {
            #expect(!FileManager.default.fileExists(atPath: marker), "checked at SHUTDOWN")
        }
    }

    /// A spool found damaged is moved aside at the next start, and what can still be read of it is
    /// salvaged into the new one after the first INVOKE (in the background), then shipped.
    @Test func aDamagedSpoolsReadableRecordsAreSalvagedAfterTheFirstInvoke() async throws {
        let folder = try TemporaryFolder()
        let path = folder.file("spool.sqlite")
        do {
            let spool = try Spool.open(SpoolConfiguration(path: path))
            for batch in 0..<20 { try spool.append(makeRecords(200, prefix: "old\(batch)", bytes: 400)) }
        }
        try damageMiddlePage(of: path)
        _ = try Spool.open(SpoolConfiguration(path: path)).verify()
        #expect(FileManager.default.fileExists(atPath: path + ".damaged"), "marked for the next start")

        let platform = ScriptedPlatform()
        let logs = InMemoryLogHandler()
        let running = Task {
            await ForwarderExtension(
                environment: ["URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": path], api: platform,
                listenerHost: "127.0.0.1"
            ) { _ in Logger(label: "sluice") { _ in logs } }.run()
        }
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        func salvaged() -> Int {
            (try? Spool.open(SpoolConfiguration(path: path), access: .readOnly).statistics().counters.salvaged) ?? 0
        }
        #expect(salvaged() == 0, "not on the cold start")
        await platform.send(.invoke(requestID: "req-0", deadline: UTCTime.nowMilliseconds() + 60_000))
        #expect(await waitFor(seconds: 30) { logs.entries.contains { "\($0.message)".hasPrefix("salvaged") } })
        let line = try #require(logs.entries.first { "\($0.message)".hasPrefix("salvaged") })
        #expect(line.level == .warning, "the damaged page's records are lost, and it says so")
        let count = salvaged()
        #expect(count > 3_000 && count < 4_000, "\(count)")
        #expect(line.metadata["spool.salvaged"]?.description == "\(count)")
        #expect(line.metadata["spool.salvaged_dead_letters"]?.description == "0", "this file had none")
        let waiting = try Spool.open(SpoolConfiguration(path: path), access: .readOnly).statistics()
        #expect(waiting.rows >= count, "waiting to ship")
        await platform.send(.shutdown(reason: "spindown", deadline: UTCTime.nowMilliseconds() + 1_000))
        #expect(await running.value == 0)
    }

    /// Records the cap dropped (or refused) were once counted in the spool and said nowhere: a
    /// warning says how many, at most once a minute, and the shutdown line has the spool's count.
    @Test(arguments: ["drop-oldest", "reject-new"])
    func whatTheCapDropsIsSaidOnceAMinuteAndAtShutdown(overflow: String) async throws {
        let folder = try TemporaryFolder()
        let spoolPath = folder.file("spool.sqlite")
        let platform = ScriptedPlatform()
        let logs = InMemoryLogHandler()
        let clock = ManualClock(UTCTime.nowMilliseconds())
        let exit = ExitWatch()
        let running = exit.run(
            [
                // Nothing ships: the spool fills up to its cap and stays full.
                "URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": spoolPath, "SLUICE_SPOOL_CAP": "1MiB",
                "SLUICE_SPOOL_OVERFLOW": overflow, "SLUICE_BUFFER_TIMEOUT_MS": "25",
            ], platform: platform, clock: clock, logs: logs)
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
        let destination = try #require(await platform.destination)
        func dropped() throws -> Int {
            try Spool.open(SpoolConfiguration(path: spoolPath), access: .readOnly).statistics().counters.dropped
        }
        func capLines() -> [InMemoryLogHandler.Entry] {
            logs.entries.filter { $0.message.description.hasPrefix("the spool is full") }
        }
        // Within one minute: one line, however many deliveries the cap cut.
        for delivery in 0..<4 {
            let body = TelemetryFixtures.logLines(1_500, marker: "full\(delivery)")
            #expect(try await post(HTTPClient.shared, destination, body).0 == 200)
        }
        let droppedInTheFirstMinute = try dropped()
        #expect(droppedInTheFirstMinute > 0)
        #expect(capLines().count == 1)
        // A minute on, the next cut is said with everything since the last line.
        clock.advance(by: 60_000)
        #expect(
            try await post(HTTPClient.shared, destination, TelemetryFixtures.logLines(1_500, marker: "later")).0 == 200)
        let lines = capLines()
        #expect(lines.count == 2)
        #expect(lines.allSatisfy { $0.level == .warning })
        let counts = lines.compactMap { $0.metadata["spool.dropped"].flatMap { Int($0.description) } }
        #expect(counts.reduce(0, +) == (try dropped()), "every record the spool counts is in a line")
        #expect(counts.last ?? 0 > 0)
        for line in lines.map(\.message.description) {
            #expect(line.contains("SLUICE_SPOOL_CAP") && line.contains("SLUICE_SPOOL_OVERFLOW=\(overflow)"), "\(line)")
            #expect(line.contains(overflow == "reject-new" ? "new records refused" : "oldest records dropped"))
        }

        let deadline = clock.now + 2_000
        await platform.send(.shutdown(reason: "spindown", deadline: deadline))
        #expect(await exit.advance(clock, by: 10, until: deadline), "exited")
        #expect(await running.value == 0)
        let summary = try #require(logs.entries.first { $0.message.description == "sluice shut down" })
        #expect(summary.metadata["dropped"]?.description == "\(try dropped())")
    }

    @Test func aConfigurationErrorKeepsTheFunctionRunningWhenFailingOpen() async throws {
        let platform = ScriptedPlatform()
        let logs = InMemoryLogHandler()
        let running = Task {
            await ForwarderExtension(environment: ["FUNCTION_INDEX": "Bad Name"], api: platform) { _ in
                Logger(label: "sluice") { _ in logs }
            }.run()
        }
        for invocation in 0..<3 {
            await platform.send(.invoke(requestID: "req-\(invocation)", deadline: UTCTime.nowMilliseconds() + 3_000))
        }
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 4 }, "every invoke answered")
        await platform.send(.shutdown(reason: "spindown", deadline: UTCTime.nowMilliseconds() + 2_000))
        #expect(await running.value == 0)
        #expect(await platform.subscription == nil)
        #expect(await platform.errors.isEmpty)
        let messages = logs.entries.map(\.message.description)
        #expect(messages.contains { $0.contains("URL is not set") })
        #expect(messages.contains { $0.contains("FUNCTION_INDEX=Bad Name") })
        #expect(messages.contains { $0.contains("SLUICE_FAIL_MODE=open") })
    }

    /// A fatal problem once hid the warnings (a lone password, a retry cap below the base): every
    /// line is said now, problems at `error`, what Sluice works around at `warning` (at `error`
    /// under closed, where it stops init too).
    @Test(arguments: [false, true])
    func everyProblemAndEveryWarningIsSaidWhenOneIsFatal(closed: Bool) async throws {
        let platform = ScriptedPlatform()
        let logs = InMemoryLogHandler()
        var environment = [
            "URL": "http://127.0.0.1:1", "SLUICE_LOG_LEVEL": "loud", "SLUICE_PASSWORD": "lonely-pw-4417",
            "SLUICE_RETRY_CAP_MS": "10",
        ]
        if closed { environment["SLUICE_FAIL_MODE"] = "Closed" }
        await runThroughInit(environment, closed: closed, platform: platform, logs: logs)
        if !closed { #expect(await platform.subscription == nil, "a fatal problem stops shipping") }
        let lines = logs.entries.filter { $0.message.description.hasPrefix("configuration: ") }
        let levels = Dictionary(lines.map { ($0.metadata["variable"]?.description ?? "", $0.level) }) { $1 }
        let worked = closed ? Logger.Level.error : .warning
        #expect(
            levels == ["SLUICE_LOG_LEVEL": .error, "SLUICE_PASSWORD": worked, "SLUICE_RETRY_CAP_MS": worked],
            "\(lines.map(\.message))")
        #expect(lines.count == 3, "one line each")
        #expect(!logs.entries.contains { $0.message.description.contains("lonely-pw-4417") })
    }

    @Test func failingClosedReportsInitError() async throws {
        let platform = ScriptedPlatform()
        let status = await ForwarderExtension(environment: ["SLUICE_FAIL_MODE": "closed"], api: platform) { _ in
            Logger(label: "sluice") { _ in SwiftLogNoOpLogHandler() }
        }.run()
        #expect(status == 1)
        #expect(await platform.errors.map(\.type) == [ForwarderError.Code.configuration.platformErrorType])
        #expect(await platform.errors.map(\.path) == ["init/error"])
        #expect(await platform.nextCalls == 0)
    }

    @Test func aBadRuleFailsInitOnlyWhenClosedIsAsked() async throws {
        let platform = ScriptedPlatform()
        let folder = try TemporaryFolder()
        let status = await ForwarderExtension(
            environment: [
                "URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": folder.file("spool.sqlite"),
                "SLUICE_FAIL_MODE": "closed", "SLUICE_MASK": "emails",
            ], api: platform, listenerHost: "127.0.0.1"
        ) { _ in
            Logger(label: "sluice") { _ in SwiftLogNoOpLogHandler() }
        }.run()
        #expect(status == 1)
        #expect(await platform.errors.map(\.type) == [ForwarderError.Code.configuration.platformErrorType])
    }

    /// A lone SLUICE_PASSWORD was once ignored without a word: now it is said, and, as a rule left
    /// out, it stops nothing unless closed is asked for.
    @Test(arguments: [false, true])
    func aPasswordWithoutAUserIsLoggedAndShipsUnlessClosed(closed: Bool) async throws {
        let platform = ScriptedPlatform()
        let folder = try TemporaryFolder()
        let logs = InMemoryLogHandler()
        var environment = [
            "URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": folder.file("spool.sqlite"),
            "SLUICE_PASSWORD": "lonely-pw-9051",
        ]
        if closed { environment["SLUICE_FAIL_MODE"] = "closed" }
        await runThroughInit(environment, closed: closed, platform: platform, logs: logs)
        if !closed {
            #expect(await platform.subscription != nil, "it subscribes and ships")
            #expect(await platform.errors.isEmpty)
        }
        let messages = logs.entries.map(\.message.description)
        #expect(messages.contains { $0.contains("SLUICE_PASSWORD is set without SLUICE_USERNAME") }, "\(messages)")
        #expect(!messages.contains { $0.contains("lonely-pw-9051") })
    }

    @Test func aPlatformWithoutTelemetryAPIIsLoggedAndTheExtensionRuns() async throws {
        let folder = try TemporaryFolder()
        let platform = ScriptedPlatform(subscribeAnswer: .unsupported)
        let logs = InMemoryLogHandler()
        let running = Task {
            await ForwarderExtension(
                environment: ["URL": "http://127.0.0.1:1", "SLUICE_SPOOL_PATH": folder.file("spool.sqlite")],
                api: platform, listenerHost: "127.0.0.1"
            ) { _ in Logger(label: "sluice") { _ in logs } }.run()
        }
        await platform.send(.invoke(requestID: "req-0", deadline: UTCTime.nowMilliseconds() + 3_000))
        #expect(await waitFor(seconds: 30) { await platform.nextCalls == 2 })
        await platform.send(.shutdown(reason: "spindown", deadline: UTCTime.nowMilliseconds() + 2_000))
        #expect(await running.value == 0)
        #expect(logs.entries.filter { $0.message.description.contains("no Telemetry API") }.count == 1)
    }

    /// Runs the extension to its end: under `closed`, to its init error; else to its first `/next`,
    /// then SHUTDOWN.
    private func runThroughInit(
        _ environment: [String: String], closed: Bool, platform: ScriptedPlatform, logs: InMemoryLogHandler
    ) async {
        let running = Task {
            await ForwarderExtension(environment: environment, api: platform, listenerHost: "127.0.0.1") { _ in
                Logger(label: "sluice") { _ in logs }
            }.run()
        }
        if closed {
            #expect(await running.value == 1)
            #expect(await platform.errors.map(\.path) == ["init/error"])
        } else {
            #expect(await waitFor(seconds: 30) { await platform.nextCalls == 1 })
            await platform.send(.shutdown(reason: "spindown", deadline: UTCTime.nowMilliseconds() + 1_000))
            #expect(await running.value == 0)
        }
    }

    /// Whether the extension's `run()` has returned, and a way to move its clock until it does.
    final class ExitWatch: Sendable {
        private let status = Locked<Int32?>(nil)

        func exited(_ value: Int32) { status.withLock { $0 = value } }

        /// Starts the extension on `clock`, on loopback; this watch learns when `run()` returns.
        func run(
            _ environment: [String: String], platform: ScriptedPlatform, clock: ManualClock,
            logs: InMemoryLogHandler? = nil
        ) -> Task<Int32, Never> {
            Task {
                let status = await ForwarderExtension(
                    environment: environment, api: platform, listenerHost: "127.0.0.1", clock: clock.wallClock
                ) { _ in
                    Logger(label: "sluice") { _ in logs.map { $0 as any LogHandler } ?? SwiftLogNoOpLogHandler() }
                }.run()
                exited(status)
                return status
            }
        }

        /// Moves `clock` by `step` while the extension runs, letting it act on each new time,
        /// until it exits (true) or `clock` reaches `limit` (false).
        func advance(_ clock: ManualClock, by step: Int64, until limit: Int64) async -> Bool {
            while status.withLock({ $0 }) == nil {
                guard clock.now < limit else { return false }
                clock.advance(by: step)
                // What the new time woke gets its turn before the next step.
                _ = await waitFor(seconds: 0.03) { self.status.withLock { $0 } != nil }
            }
            return true
        }
    }

    private func post(_ client: HTTPClient, _ url: String, _ body: [UInt8]) async throws -> (Int, String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(10))
        return (Int(response.status.code), String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}
