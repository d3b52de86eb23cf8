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
