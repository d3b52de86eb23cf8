import SluiceTime
import Testing

@Suite struct UTCTimeTests {
    @Test func telemetryTimesParse() {
        #expect(UTCTime.parseISO8601("2026-11-25T13:15:18.123Z") == 1_795_612_518_123)
        #expect(UTCTime.parseISO8601("2026-11-25T13:15:18Z") == 1_795_612_518_000)
        #expect(UTCTime.parseISO8601("2026-11-25T14:15:18.1+01:00") == 1_795_612_518_100)
        #expect(UTCTime.parseISO8601("2026-11-25T13:15:18.123456Z") == 1_795_612_518_123)
        #expect(UTCTime.parseISO8601("2026-11-25") == nil)
        #expect(UTCTime.parseISO8601("2026-13-25T13:15:18Z") == nil)
        #expect(UTCTime.parseISO8601("2026-11-25T13:15:18.123Zjunk") == nil)
        for milliseconds: Int64 in [0, 1_795_612_518_123, 951_782_400_000] {
            #expect(UTCTime.parseISO8601(UTCTime.iso8601(milliseconds: milliseconds)) == milliseconds)
        }
    }

    @Test func timesFormatAsLambdaWritesThem() {
        #expect(UTCTime.iso8601(milliseconds: 1_795_612_518_123) == "2026-11-25T13:15:18.123Z")
        #expect(UTCTime.iso8601(milliseconds: 0) == "1970-01-01T00:00:00.000Z")
    }
}
