// Writes a Swift file holding every migration as an (id, name, sql) literal.
// Usage: migration-embedder OUTPUT.swift NNNN_name.sql...
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: migration-embedder OUTPUT.swift FILE.sql...\n".utf8))
    exit(64)
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("migration-embedder: \(message)\n".utf8))
    exit(65)
}

var entries: [String] = []
var seen: Set<Int> = []
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let stem = url.deletingPathExtension().lastPathComponent
    guard let underscore = stem.firstIndex(of: "_"), let id = Int(stem[..<underscore]), id > 0 else {
        fail("\(url.lastPathComponent): name it NNNN_description.sql with NNNN a positive number")
    }
    guard seen.insert(id).inserted else { fail("two migrations have the id \(id)") }
    let name = String(stem[stem.index(after: underscore)...])
    guard let sql = try? String(contentsOf: url, encoding: .utf8) else {
        fail("\(url.lastPathComponent) is not readable UTF-8")
    }
    // Bytes, not a string literal: nothing in the SQL can break the generated source.
    let bytes = Array(sql.utf8).map(String.init).joined(separator: ",")
    entries.append("        EmbeddedMigration(id: \(id), name: \"\(name)\", bytes: [\(bytes)]),")
}

let source = """
    // Generated at build time from migrations/*.sql. Do not edit.
    enum EmbeddedMigrations {
        static let all: [EmbeddedMigration] = [
    \(entries.joined(separator: "\n"))
        ]
    }

    """
do {
    try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    fail("cannot write \(output): \(error)")
}
