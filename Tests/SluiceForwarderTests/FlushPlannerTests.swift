import SluiceForwarder
import SluiceTestSupport
import Testing

/// When `/next` is held, on a test clock.
struct FlushPlannerTests {
    let clock = ManualClock()

    @Test func endHoldsAfterEveryInvokeOnceEnoughWaits() {
        var planner = FlushPlanner(policy: .end, budgetMilliseconds: 100, minimumWaiting: 5)
        #expect(planner.holdUntil(now: clock.now, waiting: 0) == nil)
        #expect(planner.holdUntil(now: clock.now, waiting: 4) == nil, "the sample's DISPATCH_MIN_BATCH_SIZE")
        // A tenth of the budget is left for getting back to /next.
        #expect(planner.holdUntil(now: clock.now, waiting: 5) == clock.now + 90)
        clock.advance(by: 10)
        #expect(planner.holdUntil(now: clock.now, waiting: 5) == clock.now + 90, "every invoke, not once")
    }

    @Test func backgroundNeverHolds() {
        var planner = FlushPlanner(policy: .background, budgetMilliseconds: 100, minimumWaiting: 1)
        #expect(planner.holdUntil(now: clock.now, waiting: 1_000_000) == nil)
    }

    @Test func periodicHoldsAtMostOnceEveryPeriod() {
        var planner = FlushPlanner(policy: .periodic(seconds: 60), budgetMilliseconds: 250, minimumWaiting: 1)
        #expect(planner.holdUntil(now: clock.now, waiting: 0) == nil, "nothing waits: no hold, and no period spent")
        #expect(planner.holdUntil(now: clock.now, waiting: 3) == clock.now + 225)
        clock.advance(by: 59_999)
        #expect(planner.holdUntil(now: clock.now, waiting: 3) == nil)
        clock.advance(by: 1)
        #expect(planner.holdUntil(now: clock.now, waiting: 3) == clock.now + 225)
    }

    @Test func aZeroBudgetNeverHolds() {
        var planner = FlushPlanner(policy: .end, budgetMilliseconds: 0, minimumWaiting: 1)
        #expect(planner.holdUntil(now: clock.now, waiting: 10) == nil)
    }
}

/// How long before the SHUTDOWN deadline the drain stops: enough for the exit at the function's
/// CPU share, and no more.
struct ShutdownMarginTests {
    @Test func theMarginShrinksWithTheCPUAFunctionGets() {
        #expect(ForwarderExtension.shutdownMargin(memorySizeMB: nil) == 200, "not known: the most")
        #expect(ForwarderExtension.shutdownMargin(memorySizeMB: 128) == 200)
        #expect(ForwarderExtension.shutdownMargin(memorySizeMB: 512) == 139)
        #expect(ForwarderExtension.shutdownMargin(memorySizeMB: 1_024) == 101)
        #expect(ForwarderExtension.shutdownMargin(memorySizeMB: 1_769) == 55, "a full vCPU")
        #expect(ForwarderExtension.shutdownMargin(memorySizeMB: 10_240) == 55)
        let margins = stride(from: 128, through: 10_240, by: 64).map {
            ForwarderExtension.shutdownMargin(memorySizeMB: $0)
        }
        #expect(zip(margins, margins.dropFirst()).allSatisfy { $0 >= $1 }, "more memory never gets a longer margin")
    }
}
