import SluiceIngest
import SluiceTime
import Testing

@Suite struct IndexPatternTests {
    @Test func datePatternsFillFromTheEventTimeInUTC() throws {
        let time = try #require(UTCTime.parseISO8601("2026-11-25T23:59:59.999Z"))
        #expect(IndexPattern("lambda-function-%Y.%m.%d").name(eventTime: time) == "lambda-function-2026.11.25")
        #expect(IndexPattern("logs-%Y-%m-%d-%H").name(eventTime: time + 1) == "logs-2026-11-26-00")
        #expect(IndexPattern("plain").name(eventTime: time) == "plain")
        #expect(IndexPattern("odd-%q-%%").name(eventTime: time) == "odd-%q-%")
        #expect(IndexPattern("Upper").problem != nil)
        #expect(IndexPattern("_hidden").problem != nil)
        #expect(IndexPattern("a b").problem != nil)
        #expect(IndexPattern("lambda-%Y").problem == nil)
    }
}
