import SluiceIngest
import Testing

@testable import SluiceOpenSearch

/// Which mapping a cluster can take, from its answer to `GET /`.
@Suite struct ClusterInfoTests {
    @Test func flatObjectIsOpenSearchTwoSevenAndLater() throws {
        let current = try #require(
            ClusterInfo.parse(Array(#"{"version":{"distribution":"opensearch","number":"3.8.0"}}"#.utf8)))
        #expect(current == ClusterInfo(distribution: "opensearch", major: 3, minor: 8))
        #expect(current.hasFlatObject)
        #expect(
            ClusterInfo.parse(Array(#"{"version":{"distribution":"opensearch","number":"2.7.0"}}"#.utf8))?.hasFlatObject
                == true)
        #expect(
            ClusterInfo.parse(Array(#"{"version":{"distribution":"opensearch","number":"2.6.1"}}"#.utf8))?.hasFlatObject
                == false)
        #expect(
            ClusterInfo.parse(Array(#"{"version":{"number":"7.10.2"}}"#.utf8))?.hasFlatObject == false, "Elasticsearch")
        #expect(ClusterInfo.parse(Array("<html>".utf8)) == nil)
        #expect(!ClusterInfo.unknown.hasFlatObject)
    }

    @Test func aClusterWithoutFlatObjectKeepsJSONFieldsOutOfTheIndex() throws {
        let routing = IndexRouting(
            platform: IndexPattern("p"), function: IndexPattern("f"), extension: IndexPattern("e"),
            invocation: IndexPattern("i-%Y"))
        let modern = String(decoding: routing.definition(forIndex: "f", flatObject: true), as: UTF8.self)
        let older = String(decoding: routing.definition(forIndex: "f", flatObject: false), as: UTF8.self)
        #expect(modern.contains(#""fields":{"type":"flat_object"}"#))
        #expect(older.contains(#""fields":{"type":"object","enabled":false}"#))
        #expect(!older.contains("flat_object"))
        let summaries = String(decoding: routing.definition(forIndex: "i-2026", flatObject: true), as: UTF8.self)
        #expect(summaries.contains(#""dynamic":false"#))
        #expect(summaries.contains(#""durationMs":{"type":"double"}"#))
        #expect(summaries.contains(#""coldStart":{"type":"boolean"}"#))
    }
}
