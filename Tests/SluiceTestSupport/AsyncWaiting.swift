import Foundation

/// Polls `condition` every 10 ms for at most `seconds` without blocking a thread, so the actors the condition asks (a simulator, a server) keep running even
/// when every thread of the cooperative pool belongs to a waiting test.
public func waitFor(seconds: Double, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return await condition()
}
