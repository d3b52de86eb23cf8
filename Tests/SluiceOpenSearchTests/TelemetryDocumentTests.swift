import Foundation
import SluiceForwarder
import SluiceOpenSearch
import SluiceSpool
import SluiceTestSupport
import SluiceTime
import Testing

@Suite struct TelemetryDocumentTests {
    let builder = TelemetryDocument(function: .init(name: "orders", version: "$LATEST", region: "eu-west-1"))

    func document(_ type: String, _ record: String) throws -> [String: Any] {
        let bytes = builder.encode(
            time: "2026-11-25T12:00:00.123Z", type: type, record: try JSONValue.parse(Array(record.utf8)))
        return try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test(arguments: TelemetryFixtures.events.map(\.type).enumerated().map { $0 })
    func everyEventKeepsTheSampleFieldsAndGainsContext(index: Int, type: String) throws {
        let event = TelemetryFixtures.events[index]
        let document = try document(event.type, event.record)
        #expect(document["time"] as? String == "2026-11-25T12:00:00.123Z")
        #expect(document["@timestamp"] as? String == "2026-11-25T12:00:00.123Z")
        #expect(document["type"] as? String == event.type)
        #expect(document["functionName"] as? String == "orders")
        #expect(document["functionVersion"] as? String == "$LATEST")
        #expect(document["region"] as? String == "eu-west-1")
        let original = try JSONSerialization.jsonObject(with: Data(event.record.utf8), options: .fragmentsAllowed)
        func canonical(_ value: Any) throws -> Data {
            try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
        }
        #expect(try canonical(document["record"]!) == canonical(original), "the record is kept as sent")
        let requestId = (original as? [String: Any])?["requestId"] as? String
        #expect(document["requestId"] as? String == requestId)
    }

    @Test func logLinesGetMessageAndLevelAtTopLevel() throws {
        let text = try document("function", #""plain line""#)
        #expect(text["message"] as? String == "plain line")
        #expect(text["level"] == nil)
        let json = try document("function", #"{"level":"ERROR","message":{"order":42}}"#)
        #expect(json["message"] as? String == #"{"order":42}"#)
        #expect(json["level"] as? String == "ERROR")
        let platform = try document("platform.start", #"{"requestId":"r"}"#)
        #expect(platform["message"] == nil)
    }

    @Test func numbersSurviveExactly() throws {
        let value = try JSONValue.parse(Array(#"{"big":9007199254740993,"half":0.5,"neg":-3,"t":true,"n":null}"#.utf8))
        #expect(value.text == #"{"big":9007199254740993,"half":0.5,"n":null,"neg":-3,"t":true}"#)
    }
}

@Suite(.timeLimit(.minutes(2))) struct TelemetryIndexingTests {
    @Test func everyEventTypeIndexesWithoutAMappingConflict() async throws {
        try await ShippingRig.with(indexKind: { $0.hasSuffix("-platform") ? .platform : .logs }) { rig in
            let builder = TelemetryDocument(function: .init(name: "orders", version: "$LATEST", region: "eu-west-1"))
            var records: [SpoolRecord] = []
            for (number, event) in (TelemetryFixtures.events + TelemetryFixtures.events.reversed()).enumerated() {
                let index = TelemetryDocument.isLog(event.type) ? "\(rig.index)-logs" : "\(rig.index)-platform"
                records.append(
                    SpoolRecord(
                        id: "e-\(number)", index: index, eventTime: 0,
                        document: builder.encode(
                            time: "2026-11-25T12:00:00.123Z", type: event.type,
                            record: try JSONValue.parse(Array(event.record.utf8)))))
            }
            try rig.spool.append(records)
            let report = try await rig.drainCompletely()
            #expect(report.deadLettered == 0)
            #expect(report.indexed == records.count)
            let logs = TelemetryFixtures.events.filter { TelemetryDocument.isLog($0.type) }.count * 2
            #expect(try await rig.probe.count("\(rig.index)-logs") == logs)
            #expect(try await rig.probe.count("\(rig.index)-platform") == records.count - logs)
        }
    }
}
