import Foundation
import SluiceFuzzing
import Testing

/// Every seed and every regression of the fuzz targets, through its target's oracle: the inputs
/// libFuzzer starts from, and each crash it found, hold every property in the normal build too.
@Suite(.serialized)
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func files(_ folder: String, _ target: String) -> [URL] {
        let directory = root.appendingPathComponent(folder).appendingPathComponent(target)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { directory.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.all.map(\.name))
    func corpusAndRegressionsHoldTheOracle(_ name: String) async throws {
        let target = try #require(FuzzTarget.named(name))
        let corpus = Self.files("Corpus", name)
        #expect(!corpus.isEmpty, "no seeds in Tests/Fuzz/Corpus/\(name)")
        for file in corpus + Self.files("Regressions", name) {
            let problems = await target.check(Array(try Data(contentsOf: file)))
            #expect(problems.isEmpty, "\(file.lastPathComponent): \(problems.joined(separator: "; "))")
        }
    }
}
