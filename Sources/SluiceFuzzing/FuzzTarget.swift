/// One fuzz target: a name (`tools/fuzz NAME`, `Tests/Fuzz/Corpus/NAME/`) and its oracle, which
/// runs one input and returns what it found wrong (empty: the input holds every property).
public struct FuzzTarget: Sendable {
    public let name: String
    public let check: @Sendable ([UInt8]) async -> [String]

    public init(name: String, check: @escaping @Sendable ([UInt8]) async -> [String]) {
        self.name = name
        self.check = check
    }

    /// Every target, in the order `tools/fuzz` runs them.
    public static let all: [FuzzTarget] = [
        FuzzTarget(name: "delivery") { DeliveryOracle.shared.check($0) },
        FuzzTarget(name: "bulk") { await BulkOracle.shared.check($0) },
        FuzzTarget(name: "secret") { SecretOracle.check($0) },
        FuzzTarget(name: "error-answer") { ErrorAnswerOracle.check($0) },
        FuzzTarget(name: "spool-file") { SpoolFileOracle.shared.check($0) },
        FuzzTarget(name: "configuration") { ConfigurationOracle.check($0) },
        FuzzTarget(name: "rule-pattern") { RulePatternOracle.check($0) },
    ]

    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}
