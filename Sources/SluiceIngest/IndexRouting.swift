/// Where each type of event goes: the index pattern of each kind of telemetry.
public struct IndexRouting: Sendable {
    public var platform: IndexPattern
    public var function: IndexPattern
    public var `extension`: IndexPattern
    /// One summary document per invocation; nil when summaries are off.
    public var invocation: IndexPattern?

    public init(
        platform: IndexPattern, function: IndexPattern, extension: IndexPattern, invocation: IndexPattern? = nil
    ) {
        self.platform = platform
        self.function = function
        self.extension = `extension`
        self.invocation = invocation
    }

    /// `function` and `extension` log lines to their indices; platform events, and any type
    /// Lambda adds later, to the platform index.
    public func pattern(for type: String) -> IndexPattern {
        switch type {
        case "function": function
        case "extension": `extension`
        default: platform
        }
    }

    /// The indices as `sluice opensearch setup` makes a template for each: a name, what it holds,
    /// and its pattern (the invocation index only when summaries are on).
    public var templates: [(name: String, kind: IndexDefinition.Kind, pattern: IndexPattern)] {
        var all: [(String, IndexDefinition.Kind, IndexPattern)] = [
            ("sluice-platform", .platform, platform), ("sluice-function", .logs, function),
            ("sluice-extension", .logs, `extension`),
        ]
        if let invocation { all.append(("sluice-invocations", .invocations, invocation)) }
        return all
    }

    /// The settings and mappings a new index named `name` is created with: the platform index's
    /// for names the platform pattern makes, the summaries' for the invocation index, the log
    /// indices' for the rest. `flatObject`: the cluster has the `flat_object` type (2.7 and later).
    public func definition(forIndex name: String, flatObject: Bool = true) -> [UInt8] {
        if platform.matches(name) { return IndexDefinition.body(.platform) }
        if let invocation, invocation.matches(name) { return IndexDefinition.body(.invocations) }
        return IndexDefinition.body(.logs, flatObject: flatObject)
    }
}
