import SluiceLambda
import SluiceTestSupport
import SluiceTime
import Testing

/// Delivery validation: what the listener accepts, and the one-line reason for what it refuses.
struct TelemetryDeliveryTests {
    @Test func everyEventTypeIsAcceptedWithItsFields() throws {
        let body = TelemetryFixtures.delivery(TelemetryFixtures.eventJSON)
        let delivery = try TelemetryDelivery(validating: body)
        #expect(delivery.events.count == TelemetryFixtures.events.count)
        let expected = UTCTime.parseISO8601(TelemetryFixtures.time)
        for (event, fixture) in zip(delivery.events, TelemetryFixtures.events) {
            #expect(event.time == expected, "\(fixture.type)")
            #expect(event.type == fixture.type)
            #expect(text(delivery, event.timeToken) == "\"\(TelemetryFixtures.time)\"")
            #expect(text(delivery, event.record) == fixture.record, "the record is kept as sent")
            #expect(event.recordKind == (fixture.record.hasPrefix("\"") ? .string : .object))
            let requestId = event.requestIdToken.map { text(delivery, $0) }
            #expect((requestId != nil) == fixture.record.contains(#""requestId":"#))
        }
        let json = try #require(delivery.events.first { $0.type == "function" && $0.messageKind == .string })
        #expect(json.message.map { text(delivery, $0) } == #""charged card""#)
        #expect(json.levelToken.map { text(delivery, $0) } == #""INFO""#)
        #expect(delivery.events.contains { $0.messageKind == .object })
    }

    @Test func anEmptyArrayIsAValidDelivery() throws {
        #expect(try TelemetryDelivery(validating: Array(" [ ] \n".utf8)).events.isEmpty)
    }

    @Test(arguments: [
        ("", "expected a JSON array"),
        ("not json", "expected a JSON array"),
        (#"{"time":"x"}"#, "expected a JSON array"),
        ("[1]", "event 0 is not a JSON object"),
        (#"[{"type":"function","record":"x"}]"#, "event 0 has no time"),
        (#"[{"time":"2026-11-25T10:00:00Z","record":"x"}]"#, "event 0 has no type"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function"}]"#, "event 0 has no record"),
        (#"[{"time":12,"type":"function","record":"x"}]"#, "event 0: time must be a string"),
        (#"[{"time":"yesterday","type":"function","record":"x"}]"#, "is not an ISO 8601 time"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":7,"record":"x"}]"#, "type must be a non-empty string"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"","record":"x"}]"#, "type must be a non-empty string"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":"x"}"#, "',' or ']'"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":"x"}] x"#, "unexpected data after the array"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":"a\qb"}]"#, "invalid escape"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":01}]"#, "expected ',' or '}'"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":tru}]"#, "invalid literal"),
        (#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":{"a" 1}}]"#, "':'"),
    ])
    func malformedDeliveriesAreRefusedWithAReason(body: String, reason: String) {
        #expect {
            try TelemetryDelivery(validating: Array(body.utf8))
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func invalidUTF8AndControlCharactersAreRefused() {
        let prefix = Array(#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":""#.utf8)
        let suffix = Array(#""}]"#.utf8)
        for bad: [UInt8] in [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xFF], [0xE2, 0x82], [0x0A]] {
            #expect(throws: LambdaError.self) { try TelemetryDelivery(validating: prefix + bad + suffix) }
        }
        #expect(throws: Never.self) {
            try TelemetryDelivery(validating: prefix + Array("é€😀\\u00e9\\n".utf8) + suffix)
        }
    }

    @Test func deepNestingIsRefusedNotRecursed() {
        let deep = String(repeating: "[", count: 100_000)
        let body = #"[{"time":"2026-11-25T10:00:00Z","type":"function","record":\#(deep)}]"#
        #expect {
            try TelemetryDelivery(validating: Array(body.utf8))
        } throws: { error in
            "\(error)".contains("nested deeper")
        }
    }

    @Test func numbersFollowTheJSONGrammar() {
        for good in ["0", "-0", "12.5e-3", "1E+9", "-7"] {
            #expect(throws: Never.self, "\(good)") { try TelemetryDelivery(validating: record(good)) }
        }
        for bad in ["-", "1.", ".5", "1e", "+1", "0x10"] {
            #expect(throws: LambdaError.self, "\(bad)") { try TelemetryDelivery(validating: record(bad)) }
        }
    }

    @Test func aPrettyPrintedRecordIsCompactedWithoutTouchingItsStrings() throws {
        let body = Array(
            "[ {\n \"time\" : \"2026-11-25T10:00:00Z\",\n \"type\":\"function\",\n \"record\" : {\n  \"message\" : \"a  b\\n\",\n  \"n\" : [ 1 , 2 ]\n }\n} ]"
                .utf8)
        let delivery = try TelemetryDelivery(validating: body)
        let event = try #require(delivery.events.first)
        #expect(event.recordNeedsCompacting)
        var out: [UInt8] = []
        delivery.append(event.record, compacting: true, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == #"{"message":"a  b\n","n":[1,2]}"#)
    }

    private func record(_ json: String) -> [UInt8] {
        Array(#"[{"time":"2026-11-25T10:00:00Z","type":"function","record":\#(json)}]"#.utf8)
    }

    private func text(_ delivery: TelemetryDelivery, _ range: Range<Int>) -> String {
        String(decoding: delivery.body[range], as: UTF8.self)
    }
}
