// Writes a Swift file holding every migration as an (id, name, bytes) literal, and the whole schema
// for a new file (`schema-NNNN.sql`: the schema after migration NNNN) if there is one.
// Usage: migration-embedder OUTPUT.swift FILE.sql...
import FoundationEssentials

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

func fail(_ message: String) -> Never {
    let line = "migration-embedder: \(message)\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    exit(65)
}

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else { fail("usage: migration-embedder OUTPUT.swift FILE.sql...") }

var entries: [String] = []
var seen: Set<Int> = []
var schema = "nil"
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let stem = url.deletingPathExtension().lastPathComponent
    if stem.hasPrefix("schema-") {
        guard let id = Int(stem.dropFirst("schema-".count)), id > 0 else {
            fail(
                "\(url.lastPathComponent): name the schema of a new file schema-NNNN.sql, NNNN the migration it follows"
            )
        }
        guard schema == "nil" else { fail("there are two schema-NNNN.sql files: keep one") }
        guard let data = try? Data(contentsOf: url), String(data: data, encoding: .utf8) != nil else {
            fail("\(url.lastPathComponent) is not readable UTF-8")
        }
        schema =
            "EmbeddedMigration(id: \(id), name: \"schema\", bytes: [\(data.map(String.init).joined(separator: ","))])"
        continue
    }
    guard let underscore = stem.firstIndex(of: "_"), let id = Int(stem[..<underscore]), id > 0 else {
        fail("\(url.lastPathComponent): name it NNNN_description.sql with NNNN a positive number")
    }
    guard seen.insert(id).inserted else { fail("two migrations have the id \(id)") }
    let name = String(stem[stem.index(after: underscore)...])
    guard let data = try? Data(contentsOf: url), String(data: data, encoding: .utf8) != nil else {
        fail("\(url.lastPathComponent) is not readable UTF-8")
    }
    // Bytes, not a string literal: nothing in the SQL can break the generated source.
    let bytes = data.map(String.init).joined(separator: ",")
    entries.append("        EmbeddedMigration(id: \(id), name: \"\(name)\", bytes: [\(bytes)]),")
}

let source = """
    // Generated at build time from migrations/*.sql. Do not edit.
    enum EmbeddedMigrations {
        static let all: [EmbeddedMigration] = [
    \(entries.joined(separator: "\n"))
        ]
        static let schema: EmbeddedMigration? = \(schema)
    }

    """
do {
    try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    fail("cannot write \(output): \(error)")
}
