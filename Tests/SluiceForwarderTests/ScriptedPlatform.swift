import Foundation
import SluiceLambda

/// A minimal in-process Lambda platform for lifecycle tests: it answers register and subscribe,
/// hands out the lifecycle events a test sends, and records what the extension reported. The
/// out-of-process simulator, which also freezes and kills, drives the built binary.
actor ScriptedPlatform: ExtensionsAPI {
    private(set) var subscription: TelemetrySubscription?
    private(set) var nextCalls = 0
    private(set) var errors: [(path: String, type: String)] = []
    private var queue: [LifecycleEvent] = []
    private var waiter: CheckedContinuation<LifecycleEvent, Never>?
    let subscribeAnswer: SubscriptionOutcome

    init(subscribeAnswer: SubscriptionOutcome = .subscribed) {
        self.subscribeAnswer = subscribeAnswer
    }

    /// Where to POST deliveries: the subscription's URI with the sandbox name resolved to loopback.
    var destination: String? {
        subscription?.destination.replacingOccurrences(of: "sandbox.localdomain", with: "127.0.0.1")
    }

    func send(_ event: LifecycleEvent) {
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: event)
        } else {
            queue.append(event)
        }
    }

    func register() async throws(LambdaError) -> Registration {
        Registration(
            identifier: "ext-1", functionName: "orders", functionVersion: "$LATEST", handler: "bootstrap",
            accountID: "123456789012")
    }

    func next() async throws(LambdaError) -> LifecycleEvent {
        nextCalls += 1
        if !queue.isEmpty { return queue.removeFirst() }
        return await withCheckedContinuation { waiter = $0 }
    }

    func subscribe(_ subscription: TelemetrySubscription) async throws(LambdaError) -> SubscriptionOutcome {
        self.subscription = subscription
        return subscribeAnswer
    }

    func initError(type: String, message: String) async throws(LambdaError) {
        errors.append(("init/error", type))
    }

    func exitError(type: String, message: String) async throws(LambdaError) {
        errors.append(("exit/error", type))
    }
}
