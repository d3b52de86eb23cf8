import Foundation
import SluiceTestSupport
import Testing

/// The stages stay apart: a leaf module imports no sibling, so that the tree reads
/// listener → ingest → spool → ship and a change to one stage cannot reach into another.
@Suite struct ModuleGraphTests {
    /// What each module may import of Sluice's own modules. Only `SluiceForwarder` (and the
    /// executables) compose the stages.
    static let allowed: [String: Set<String>] = [
        "SluiceTime": [],
        "SluiceJSON": [],
        // SHA-256, HMAC, CRC-32 and a 64-bit hash: a leaf every module that hashes may use.
        "SluiceDigest": [],
        // JSON to check that a row salvaged from a damaged file still reads as a document.
        "SluiceSpool": ["SluiceTime", "SluiceDigest", "SluiceJSON"],
        // The HTTP/1.1 client every module that talks to a server shares; it knows none of them.
        "SluiceHTTP": ["SluiceTime"],
        "SluiceAWS": ["SluiceTime", "SluiceJSON", "SluiceHTTP", "SluiceDigest"],
        // The OpenSearch client signs with SigV4 and reads secrets: it may use the AWS leaf; its
        // gzip bodies carry the digest leaf's CRC-32.
        "SluiceOpenSearch": ["SluiceTime", "SluiceJSON", "SluiceAWS", "SluiceHTTP", "SluiceDigest"],
        "SluiceLambda": ["SluiceTime", "SluiceJSON", "SluiceHTTP"],
        "SluiceIngest": ["SluiceTime", "SluiceJSON", "SluiceLambda", "SluiceSpool", "SluiceDigest"],
        "SluiceShipping": ["SluiceTime", "SluiceSpool", "SluiceOpenSearch"],
        // An emulator that shared the extension's code would share its mistakes.
        "LambdaSimulator": [],
    ]

    /// The Sluice modules each source file of `module` imports.
    static func imports(of module: String) throws -> Set<String> {
        let folder = packageRoot.appendingPathComponent("Sources/\(module)")
        let files = try #require(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }
        var found: Set<String> = []
        for file in files where file.hasSuffix(".swift") {
            let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ").filter { !$0.hasPrefix("@") }
                guard let at = words.firstIndex(of: "import"), at + 1 < words.count else { continue }
                guard words[..<at].allSatisfy({ ["public", "internal", "package"].contains($0) }) else { continue }
                let name = String(words[at + 1])
                if name.hasPrefix("Sluice") || name == "LambdaSimulator" { found.insert(name) }
            }
        }
        return found
    }

    @Test(arguments: allowed.keys.sorted())
    func aLeafImportsNoSibling(module: String) throws {
        let extra = try Self.imports(of: module).subtracting(Self.allowed[module, default: []]).subtracting([module])
        #expect(extra.isEmpty, "\(module) imports \(extra.sorted())")
    }

    @Test func everyModuleOfTheTreeIsCovered() throws {
        let modules = try FileManager.default.contentsOfDirectory(
            atPath: packageRoot.appendingPathComponent("Sources").path)
        // The forwarder composes the stages; the fuzz oracles test them all, and are never shipped.
        let library = modules.filter { $0.hasPrefix("Sluice") && !["SluiceForwarder", "SluiceFuzzing"].contains($0) }
        #expect(Set(library).subtracting(Self.allowed.keys).isEmpty, "a new module needs its rule here")
    }
}
