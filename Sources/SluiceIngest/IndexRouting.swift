/// Where each type of event goes: the index pattern of each kind of telemetry.
public struct IndexRouting: Sendable {
    public var platform: IndexPattern
    public var function: IndexPattern
    public var `extension`: IndexPattern

    public init(platform: IndexPattern, function: IndexPattern, extension: IndexPattern) {
        self.platform = platform
        self.function = function
        self.extension = `extension`
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

    /// The settings and mappings a new index named `name` is created with: the platform index's
    /// for names the platform pattern makes, the log indices' for the rest.
    public func definition(forIndex name: String) -> [UInt8] {
        platform.matches(name) ? IndexDefinition.body(.platform) : IndexDefinition.body(.logs)
    }
}
