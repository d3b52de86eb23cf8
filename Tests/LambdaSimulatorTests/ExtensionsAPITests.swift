import AsyncHTTPClient
import Foundation
import LambdaSimulator
import NIOCore
import NIOHTTP1
import SluiceTestSupport
import Testing

/// Register, `/next` and the Telemetry API answer as the reference says, and the extension sees
/// Lambda's environment.
@Suite struct ExtensionsAPITests {
    @Test func registrationAndSubscriptionAreValidated() async throws {
        let uri = "$URI"
        func subscription(
            schema: JSON = "2022-12-13", types: JSON = ["platform", "function"], buffering: JSON = [:],
            destination: JSON = ["protocol": "HTTP", "URI": .string(uri)]
        ) -> JSON {
            ["schemaVersion": schema, "types": types, "buffering": buffering, "destination": destination]
        }
        let refused: [JSON] = [
            subscription(schema: "2021-01-01"),
            subscription(types: ["platform", "logs"]),
            subscription(types: []),
            subscription(buffering: ["maxItems": 999]),
            subscription(buffering: ["maxItems": 10_001]),
            subscription(buffering: ["maxBytes": 262_143]),
            subscription(buffering: ["maxBytes": 1_048_577]),
            subscription(buffering: ["timeoutMs": 24]),
            subscription(buffering: ["timeoutMs": 30_001]),
            subscription(destination: ["protocol": "HTTP", "URI": "http://sandbox.localdomain:9001/telemetry"]),
            subscription(destination: ["protocol": "TCP", "URI": .string(uri)]),
        ]
        let accepted = subscription(
            schema: "2025-01-29", buffering: ["maxItems": 10_000, "maxBytes": 262_144, "timeoutMs": 30_000])
        let registerProbes: JSON = [
            ["name": "someone-else", "events": ["INVOKE", "SHUTDOWN"]],
            ["name": "", "events": ["INVOKE"]],
            ["name": "mini_extension.py", "events": ["INVOKE", "BOOT"]],
        ]
        let fixture = try MiniExtension([
            "MINI_REGISTER_PROBES": registerProbes.serialized,
            "MINI_SUBSCRIBE_PROBES": JSON.array(refused + [accepted]).serialized,
            "MINI_ACCEPT_ACCOUNT_ID": "1",
        ]) {
            $0.environment["FUNCTION_SETTING"] = "kept"
            $0.environment["AWS_REGION"] = "overridden-by-lambda"
        }
        try await LambdaSimulator.with(fixture.configuration, logger: fixture.logger) { simulator in
            let initReport = try await simulator.start()
            #expect(initReport.status == .success)

            let probes = fixture.records("probes.jsonl")
            let registers = probes.filter { $0["kind"] == "register" }
            #expect(registers.map { $0["status"] } == [403, 403, 403])
            #expect(
                registers.compactMap { $0["body"]?.stringValue.flatMap(JSON.parse)?["errorType"] } == [
                    "Extension.InvalidEventType", "Extension.InvalidExtensionName", "Extension.InvalidEventType",
                ])
            let subscribes = probes.filter { $0["kind"] == "subscribe" }
            #expect(subscribes.count == refused.count + 1)
            for probe in subscribes.dropLast() {
                #expect(probe["status"] == 400, "\(probe.serialized)")
                #expect(probe["body"]?.stringValue.flatMap(JSON.parse)?["errorType"] == "ValidationError")
            }
            #expect(subscribes.last?["status"] == 200)
            #expect(subscribes.last?["body"] == "OK")

            let register = try #require(fixture.lifecycle("register").first)
            #expect(register["status"] == 200)
            let answer = try #require(register["body"]?.stringValue.flatMap(JSON.parse))
            #expect(
                answer == [
                    "functionName": .string(fixture.configuration.functionName),
                    "functionVersion": .string(fixture.configuration.functionVersion),
                    "handler": .string(fixture.configuration.handler),
                    "accountId": .string(fixture.configuration.accountId),
                ])
            let environment = try #require(register["environment"])
            #expect(environment["FUNCTION_SETTING"] == "kept")
            #expect(environment["AWS_REGION"] == .string(fixture.configuration.region))
            #expect(environment["AWS_LAMBDA_RUNTIME_API"] == .string(await simulator.runtimeAPI))
            #expect(environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128")
            #expect(environment["AWS_SESSION_TOKEN"] == .string(fixture.configuration.sessionToken))
            #expect(environment["AWS_LAMBDA_LOG_GROUP_NAME"] == nil)
            #expect(environment["MINI_OUT"] != nil)

            // After init: registration and subscriptions are closed; identifiers are checked.
            let identifier = try #require(register["identifier"]?.stringValue)
            let api = "http://\(await simulator.runtimeAPI)"
            let late = try await call(
                .PUT, "\(api)/2022-07-01/telemetry", accepted.serialized,
                headers: ["Lambda-Extension-Identifier": identifier])
            #expect(late.status == 403)
            #expect(late.body["errorType"] == "Telemetry.SubscriptionClosed")
            let again = try await call(
                .POST, "\(api)/2020-01-01/extension/register", #"{"events":["INVOKE"]}"#,
                headers: ["Lambda-Extension-Name": "mini_extension.py"])
            #expect(again.body["errorType"] == "Extension.RegistrationClosed")
            let stranger = try await call(
                .GET, "\(api)/2020-01-01/extension/event/next", nil,
                headers: ["Lambda-Extension-Identifier": "not-an-extension"])
            #expect(stranger.status == 403)
            #expect(stranger.body["errorType"] == "Extension.UnknownExtensionIdentifier")

            let ledger = await simulator.ledger()
            #expect(ledger.acknowledged(type: "platform.telemetrySubscription").count == 2)
        }
    }

    @Test func initErrorsAndSlowInitsFailInitAndAreRetriedAtTheFirstInvoke() async throws {
        let failing = try MiniExtension(["MINI_INIT_ERROR": "1"])
        try await LambdaSimulator.with(failing.configuration, logger: failing.logger) { simulator in
            let report = try await simulator.start()
            #expect(report.status == .error)
            #expect(report.errorType == "Extension.Scripted")
            #expect(await simulator.extensionProcessId == nil)
        }

        // Limits with room for a Python start on a busy machine.
        let slow = try MiniExtension(["MINI_INIT_DELAY_MS": "4000"]) { $0.initTimeout = .milliseconds(1500) }
        try await LambdaSimulator.with(slow.configuration, logger: slow.logger) { simulator in
            let first = try await simulator.start()
            #expect(first.status == .timeout)
            #expect(first.duration >= .milliseconds(1500) && first.duration < .milliseconds(3500))
            // The delay happens once per folder, so the retry at the first invoke succeeds.
            let invocation = try await simulator.invoke()
            #expect(invocation.status == .success)
            let retried = try #require(invocation.initialization)
            #expect(retried.status == .success)
            #expect(retried.processId != first.processId)
            #expect(await simulator.ledger().initializations.map(\.status) == [.timeout, .success])
        }
    }

    private func call(
        _ method: HTTPMethod, _ url: String, _ body: String?, headers: [String: String]
    ) async throws
        -> (status: Int, body: JSON)
    {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), JSON.parse(Array(buffer: answer)) ?? .null)
    }
}
