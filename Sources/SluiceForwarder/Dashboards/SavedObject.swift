import SluiceJSON

/// One OpenSearch Dashboards saved object as its NDJSON export holds it: `{"type", "id",
/// "attributes", "references", "migrationVersion"}`.
public struct SavedObject: Sendable, Equatable {
    /// Another object this one names, by the name its attributes use for it.
    public struct Reference: Sendable, Equatable {
        public let name: String
        public let type: String
        public let id: String
    }

    public let type: String
    public let id: String
    public let attributes: Tree
    public let references: [Reference]

    /// The versions OpenSearch Dashboards exports each type with.
    static let migrationVersions = [
        "index-pattern": "7.6.0", "visualization": "7.10.0", "search": "7.9.3", "dashboard": "7.9.3",
    ]

    /// The object's NDJSON line (no newline).
    public var line: String {
        let object = Tree.object([
            ("attributes", attributes), ("id", .string(id)),
            ("migrationVersion", .object([(type, .string(Self.migrationVersions[type] ?? "7.10.0"))])),
            (
                "references",
                .array(
                    references.map {
                        .object([("id", .string($0.id)), ("name", .string($0.name)), ("type", .string($0.type))])
                    })
            ),
            ("type", .string(type)),
        ])
        return object.text
    }

    /// A JSON value, written in the order given; `JSONText` escapes its strings.
    public indirect enum Tree: Sendable, Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case array([Tree])
        case object([(String, Tree)])

        public var text: String {
            var out: [UInt8] = []
            write(to: &out)
            return String(decoding: out, as: UTF8.self)
        }

        func write(to out: inout [UInt8]) {
            switch self {
            case .string(let value): JSONText.appendString(value, to: &out)
            case .number(let value):
                out += Array(
                    (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)).utf8)
            case .bool(let value): out += Array((value ? "true" : "false").utf8)
            case .array(let values):
                out.append(UInt8(ascii: "["))
                for (position, value) in values.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    value.write(to: &out)
                }
                out.append(UInt8(ascii: "]"))
            case .object(let members):
                out.append(UInt8(ascii: "{"))
                for (position, member) in members.enumerated() {
                    if position > 0 { out.append(UInt8(ascii: ",")) }
                    JSONText.appendString(member.0, to: &out)
                    out.append(UInt8(ascii: ":"))
                    member.1.write(to: &out)
                }
                out.append(UInt8(ascii: "}"))
            }
        }

        public static func == (left: Tree, right: Tree) -> Bool { left.text == right.text }
    }
}
