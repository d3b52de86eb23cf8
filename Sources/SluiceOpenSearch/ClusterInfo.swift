import FoundationEssentials

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
        struct Answer: Decodable {
            struct Version: Decodable {
                let number: String?
                let distribution: String?
            }
            let version: Version?
        }
        guard let version = (try? JSONDecoder().decode(Answer.self, from: Data(body)))?.version,
            let number = version.number
        else { return nil }
        let parts = number.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
        return ClusterInfo(
            distribution: version.distribution ?? "elasticsearch", major: parts.first ?? 0,
            minor: parts.count > 1 ? parts[1] : 0)
    }
}
