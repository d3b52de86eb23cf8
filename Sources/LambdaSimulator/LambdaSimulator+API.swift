import Foundation
import NIOHTTP1

/// The Extensions API (`/2020-01-01/extension/…`) and the Telemetry API (`/2022-07-01/telemetry`),
/// answered with the statuses and error types of the reference and of Lambda's emulator.
extension LambdaSimulator {
    static let identifierHeader = "Lambda-Extension-Identifier"

    func handle(_ request: PlatformRequest) async -> PlatformResponse {
        let path = String(request.path.split(separator: "?", maxSplits: 1).first ?? "")
        switch (request.method, path) {
        case (.POST, "/2020-01-01/extension/register"): return register(request)
        case (.GET, "/2020-01-01/extension/event/next"): return await next(request)
        case (.POST, "/2020-01-01/extension/init/error"): return reportError(request, atInit: true)
        case (.POST, "/2020-01-01/extension/exit/error"): return reportError(request, atInit: false)
        case (.PUT, "/2022-07-01/telemetry"): return await subscribe(request)
        default: return .error(404, "NotFound", "no such route: \(request.method) \(path)")
        }
    }

    private func register(_ request: PlatformRequest) -> PlatformResponse {
        guard registrationOpen, var current = instance else {
            return .error(403, "Extension.RegistrationClosed", "Extension registration closed already")
        }
        guard let name = request.headers.first(name: "Lambda-Extension-Name"), !name.isEmpty else {
            return .error(403, "Extension.InvalidExtensionName", "Empty extension name")
        }
        // A missing "events" is no events; anything but a list of strings is malformed.
        let eventList: [JSON]? = JSON.parse(request.body).flatMap { body in
            guard case .object = body else { return nil }
            return body["events"].map { $0.arrayValue ?? [.null] } ?? []
        }
        guard let eventList, eventList.allSatisfy({ $0.stringValue != nil }) else {
            return .error(403, "InvalidRequestFormat", "the body must be {\"events\": [\"INVOKE\", \"SHUTDOWN\"]}")
        }
        let events = eventList.compactMap(\.stringValue)
        if let unknown = events.first(where: { $0 != "INVOKE" && $0 != "SHUTDOWN" }) {
            return .error(403, "Extension.InvalidEventType", "\(unknown): unknown event type")
        }
        let identifier = UUID().uuidString.lowercased()
        if name != configuration.extensionName {
            // No file in /opt/extensions has this name: it is an internal extension, which SHUTDOWN never reaches.
            if events.contains("SHUTDOWN") {
                return .error(
                    403, "Extension.InvalidEventType",
                    "SHUTDOWN: \(name) names no file in /opt/extensions (expected \(configuration.extensionName)), "
                        + "and an internal extension may not register for SHUTDOWN")
            }
            current.internalIdentifiers.insert(identifier)
        } else {
            guard !current.registered else {
                return .error(403, "Extension.InvalidExtensionState", "Extension \(name) is already registered")
            }
            current.identifier = identifier
            current.events = events
        }
        instance = current
        signal.signal()
        var answer: [String: JSON] = [
            "functionName": .string(configuration.functionName),
            "functionVersion": .string(configuration.functionVersion), "handler": .string(configuration.handler),
        ]
        let features = request.headers["Lambda-Extension-Accept-Feature"].flatMap { $0.split(separator: ",") }
        if features.contains(where: { $0.trimmingCharacters(in: .whitespaces) == "accountId" }) {
            answer["accountId"] = .string(configuration.accountId)
        }
        return .json(200, .object(answer), headers: [(Self.identifierHeader, identifier)])
    }

    /// The caller's identifier, or the answer refusing it.
    private func caller(_ request: PlatformRequest) -> Result<Instance, ErrorAnswer> {
        guard let identifier = request.headers.first(name: Self.identifierHeader) else {
            return .failure(ErrorAnswer(.error(403, "Extension.MissingHeader", "\(Self.identifierHeader) is missing")))
        }
        guard let current = instance, current.identifier == identifier, current.exit == nil else {
            return .failure(
                ErrorAnswer(.error(403, "Extension.UnknownExtensionIdentifier", "Unknown extension \(identifier)")))
        }
        return .success(current)
    }

    /// Holds the request until there is an event for the extension; no timeout, as on Lambda.
    private func next(_ request: PlatformRequest) async -> PlatformResponse {
        let current: Instance
        switch caller(request) {
        case .success(let found): current = found
        case .failure(let refusal): return refusal.response
        }
        if let event = current.queuedEvent {
            instance?.queuedEvent = nil
            signal.signal()
            return .json(200, event, headers: [("Lambda-Extension-Event-Identifier", UUID().uuidString.lowercased())])
        }
        // A second /next while one is held replaces it; the first caller gets an error.
        instance?.pendingNext?.resume(
            returning: .error(403, "Extension.InvalidExtensionState", "another /next call replaced this one"))
        return await withCheckedContinuation { continuation in
            instance?.pendingNext = continuation
            instance?.nextSince = request.receivedAt
            signal.signal()
        }
    }

    private func reportError(_ request: PlatformRequest, atInit: Bool) -> PlatformResponse {
        if case .failure(let refusal) = caller(request) { return refusal.response }
        guard let errorType = request.headers.first(name: "Lambda-Extension-Function-Error-Type") else {
            return .error(
                403, "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type is missing (Extension.Something)")
        }
        if atInit { instance?.initError = errorType } else { instance?.exitError = errorType }
        logger.debug("extension reported an error", metadata: ["extension.error": "\(errorType)"])
        signal.signal()
        return .json(202, ["status": "OK"])
    }

    private func subscribe(_ request: PlatformRequest) async -> PlatformResponse {
        if case .failure(let refusal) = caller(request) { return refusal.response }
        guard registrationOpen else {
            return .error(403, "Telemetry.SubscriptionClosed", "Telemetry API is no longer accepting subscriptions")
        }
        switch TelemetrySubscription.parse(request.body, extensionName: configuration.extensionName) {
        case .failure(let failure):
            return .error(400, "ValidationError", failure.message)
        case .success(let subscription):
            await telemetry.subscribe(subscription)
            return PlatformResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Array("OK".utf8))
        }
    }
}

/// An answer that refuses a request, carried through a `Result`.
struct ErrorAnswer: Error {
    let response: PlatformResponse
    init(_ response: PlatformResponse) { self.response = response }
}
