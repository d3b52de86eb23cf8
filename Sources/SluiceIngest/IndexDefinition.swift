import SluiceDigest
import SluiceJSON

/// The settings and mappings Sluice creates its indices with.
///
/// Field names follow the AWS sample (`time`, `type`, `record`) plus `@timestamp`, the function's
/// name, version and region, and `requestId`. Log records are strings (text format) or objects
/// (JSON format, whose `message` may itself be anything): in the log indices `record` is kept in
/// `_source` exactly as sent but not indexed, so no record can conflict with another, and its
/// searchable parts are copied to top-level `message` (text), `level`, `requestId`, `traceId` and
/// `phase` (keywords). A JSON record's object is indexed a second time as `fields`, a
/// `flat_object` (OpenSearch 2.7 and later): every path in it searchable (`fields.orderId:123`)
/// with one mapping entry, whatever the functions log, and left out of `_source` so it is not
/// stored twice. `flat_object` refuses a string, so text records, which have none, cannot break it.
public enum IndexDefinition {
    /// Which telemetry an index holds.
    public enum Kind: Sendable {
        /// `platform.*` events: `record` is always an object, mapped dynamically.
        case platform
        /// `function` and `extension` log lines.
        case logs
        /// One summary document per invocation (`type: "sluice.invocation"`).
        case invocations
    }

    static let common = """
        "@timestamp":{"type":"date"},"time":{"type":"date"},"type":{"type":"keyword"},\
        "functionName":{"type":"keyword"},"functionVersion":{"type":"keyword"},"region":{"type":"keyword"},\
        "requestId":{"type":"keyword"},"event_id":{"type":"keyword"},\(environment)
        """

    /// What every document may carry from its environment: facts the platform tells, and the
    /// user's `SLUICE_LABELS` (any key, so `labels` maps each string in it as a keyword).
    static let environment = """
        "architecture":{"type":"keyword"},"runtime":{"type":"keyword"},"logGroup":{"type":"keyword"},\
        "accountId":{"type":"keyword"},"memorySizeMB":{"type":"double"},"labels":{"type":"object","dynamic":true}
        """

    /// Strings under `labels` are keywords, whatever the index's other dynamic mappings.
    static let labelTemplate = """
        {"labels":{"path_match":"labels.*","match_mapping_type":"string","mapping":{"type":"keyword"}}}
        """

    /// Every number a document brings beyond the explicit fields is mapped `double`: the first
    /// `durationMs` of a platform index may be `0` (a span that took no time), the first health
    /// document's `addedMs.p99` in the extension index `0`, and a `long` mapping would then cut
    /// every later fraction (0.158 → 0) or a `float` one refuse the next value of the other kind.
    /// In the log indices this reaches only the health documents' numbers: `record` is not
    /// indexed and `fields` is one `flat_object`, so neither has dynamic fields.
    static let numbersAsDouble = """
        "dynamic_templates":[\(labelTemplate),{"whole_numbers":{"match_mapping_type":"long","mapping":{"type":"double"}}},\
        {"fractions":{"match_mapping_type":"double","mapping":{"type":"double"}}}]
        """

    /// Every field of a summary, explicitly; numbers `double` for the same reason as above.
    static let invocationFields: String = {
        let keywords = [
            "requestId", "traceId", "status", "errorType", "initType", "functionName", "functionVersion",
            "region", "type", "event_id",
        ]
        let flags = ["coldStart", "outOfMemory", "timedOut"]
        let environment = ["architecture", "runtime", "logGroup", "accountId"]
        let numbers = InvocationSummary.numberFields + ["logLines", "logBytes", "errorLines"]
        var fields = [#""@timestamp":{"type":"date"}"#, #""end":{"type":"date"}"#]
        fields += (keywords + environment).map { #""\#($0)":{"type":"keyword"}"# }
        fields.append(#""labels":{"type":"object","dynamic":true}"#)
        fields += flags.map { #""\#($0)":{"type":"boolean"}"# }
        fields += numbers.map { #""\#($0)":{"type":"double"}"# }
        return fields.joined(separator: ",")
    }()

    /// The body of `PUT /_index_template/…` for indices of `kind` named by `patterns`, and the
    /// digest of what it says (kept in its `_meta`, so that a second setup can tell it is unchanged).
    public static func template(
        _ kind: Kind, patterns: [String], flatObject: Bool = true
    ) -> (body: [UInt8], digest: String) {
        var content = Array(#"{"index_patterns":["#.utf8)
        for (position, pattern) in patterns.enumerated() {
            if position > 0 { content.append(UInt8(ascii: ",")) }
            JSONText.appendString(pattern, to: &content)
        }
        content += Array(#"],"priority":150,"template":"#.utf8)
        content += body(kind, flatObject: flatObject)
        let digest = Hex.encode(SHA256.hash(content)).prefix(16)
        var out = content
        out += Array(#","_meta":{"managed_by":"sluice","sluice_digest":"\#(digest)"}}"#.utf8)
        return (out, String(digest))
    }

    /// The body of `PUT /index` for an index of `kind`. `flatObject`: the cluster has the
    /// `flat_object` type; without it (before 2.7) a JSON record's `fields` are kept out of the
    /// index as `record` is.
    public static func body(_ kind: Kind, flatObject: Bool = true) -> [UInt8] {
        switch kind {
        case .platform:
            let record = #""record":{"type":"object","dynamic":true}"#
            return Array(#"{"mappings":{\#(numbersAsDouble),"properties":{\#(common),\#(record)}}}"#.utf8)
        case .logs:
            let fields = flatObject ? #"{"type":"flat_object"}"# : #"{"type":"object","enabled":false}"#
            let record = """
                "record":{"type":"object","enabled":false},"message":{"type":"text"},"level":{"type":"keyword"},\
                "traceId":{"type":"keyword"},"phase":{"type":"keyword"},"fields":\(fields)
                """
            return Array(
                #"{"mappings":{"_source":{"excludes":["fields"]},\#(numbersAsDouble),"properties":{\#(common),\#(record)}}}"#
                    .utf8)
        case .invocations:
            return Array(
                #"{"mappings":{"dynamic":false,"dynamic_templates":[\#(labelTemplate)],"properties":{\#(invocationFields)}}}"#
                    .utf8)
        }
    }
}
