import SluiceJSON

/// What a cluster is, from `GET /`: which features a mapping may use.
public struct ClusterInfo: Sendable, Equatable {
    /// `opensearch` (or `elasticsearch` for an Elasticsearch-compatible answer).
    public var distribution: String
    public var major: Int
    public var minor: Int

    public init(distribution: String, major: Int, minor: Int) {
        self.distribution = distribution
        self.major = major
        self.minor = minor
    }

    /// A cluster that did not say what it is (OpenSearch Serverless answers no `GET /`): assumed
    /// to have only what every version has.
    public static let unknown = ClusterInfo(distribution: "unknown", major: 0, minor: 0)

    /// The `flat_object` field type: OpenSearch 2.7 and later.
    public var hasFlatObject: Bool { distribution == "opensearch" && (major, minor) >= (2, 7) }

    /// Reads the answer to `GET /`; nil when it says no version.
    public static func parse(_ body: [UInt8]) -> ClusterInfo? {
        guard let (answer, root) = JSONReader.document(body) else { return nil }
        let version = answer.member("version", of: root)
        guard let number = answer.string("number", of: version) else { return nil }
        let parts = number.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return ClusterInfo(
            distribution: answer.string("distribution", of: version) ?? "elasticsearch", major: parts.first ?? 0,
            minor: parts.count > 1 ? parts[1] : 0)
    }
}
