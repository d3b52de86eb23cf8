import Foundation
import SluiceIngest
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
