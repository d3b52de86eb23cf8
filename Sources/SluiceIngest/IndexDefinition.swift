/// The settings and mappings Sluice creates its indices with.
///
/// Field names follow the AWS sample (`time`, `type`, `record`) plus `@timestamp`, the function's
/// name, version and region, and `requestId`. Log records are strings (text format) or objects
/// (JSON format, whose `message` may itself be anything): in the log indices `record` is kept in
/// `_source` but not indexed, so no record can conflict with another, and its searchable parts
/// are copied to top-level `message` (text), `level` and `requestId` (keywords).
public enum IndexDefinition {
    /// Which telemetry an index holds.
    public enum Kind: Sendable {
        /// `platform.*` events: `record` is always an object, mapped dynamically.
        case platform
        /// `function` and `extension` log lines.
        case logs
    }

    static let common = """
        "@timestamp":{"type":"date"},"time":{"type":"date"},"type":{"type":"keyword"},\
        "functionName":{"type":"keyword"},"functionVersion":{"type":"keyword"},"region":{"type":"keyword"},\
        "requestId":{"type":"keyword"},"event_id":{"type":"keyword"}
        """

    /// Every number a platform record brings is mapped `double`: the first `durationMs` of an index
    /// may be `0` (a span that took no time), and a `long` (or `float`) mapping would then refuse the
    /// next value of the other kind.
    static let numbersAsDouble = """
        "dynamic_templates":[{"whole_numbers":{"match_mapping_type":"long","mapping":{"type":"double"}}},\
        {"fractions":{"match_mapping_type":"double","mapping":{"type":"double"}}}]
        """

    /// The body of `PUT /index` for an index of `kind`.
    public static func body(_ kind: Kind) -> [UInt8] {
        switch kind {
        case .platform:
            let record = #""record":{"type":"object","dynamic":true}"#
            return Array(#"{"mappings":{\#(numbersAsDouble),"properties":{\#(common),\#(record)}}}"#.utf8)
        case .logs:
            let record =
                #""record":{"type":"object","enabled":false},"message":{"type":"text"},"level":{"type":"keyword"}"#
            return Array(#"{"mappings":{"properties":{\#(common),\#(record)}}}"#.utf8)
        }
    }
}
