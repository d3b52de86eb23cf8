public import SluiceIngest

/// The saved objects of the "Lambda overview" dashboard, from one description in code: index
/// patterns for the indices, saved searches, and the visualizations of the dashboard, each an
/// aggregation over fields Sluice's mappings define. `sluice opensearch dashboards` writes them as
/// NDJSON; every reference resolves inside the one file (OpenSearch Dashboards can report an import
/// with an unresolved reference as a success and import nothing).
public enum LambdaDashboard {
    /// Which index an object reads.
    public enum Source: String, Sendable, CaseIterable {
        case invocations, function, `extension`, platform
    }

    /// One aggregation of a visualization, as `visState.aggs` holds it.
    public struct Aggregation: Sendable {
        public let type: String
        public let schema: String
        public let field: String?
        public let parameters: [(String, SavedObject.Tree)]

        static func count() -> Aggregation { Aggregation(type: "count", schema: "metric", field: nil, parameters: []) }
        static func metric(_ type: String, _ field: String) -> Aggregation {
            Aggregation(type: type, schema: "metric", field: field, parameters: [])
        }
        static func percentiles(_ field: String) -> Aggregation {
            Aggregation(
                type: "percentiles", schema: "metric", field: field,
                parameters: [("percents", .array([50, 95, 99].map { .number($0) }))])
        }
        static func overTime(schema: String = "segment") -> Aggregation {
            Aggregation(
                type: "date_histogram", schema: schema, field: "@timestamp",
                parameters: [
                    ("interval", .string("auto")), ("min_doc_count", .number(1)), ("extended_bounds", .object([])),
                ])
        }
        static func terms(_ field: String, size: Int = 10, schema: String = "group") -> Aggregation {
            Aggregation(
                type: "terms", schema: schema, field: field,
                parameters: [("size", .number(Double(size))), ("order", .string("desc")), ("orderBy", .string("1"))])
        }
    }

    /// One visualization: a chart of aggregations over the documents a Lucene query selects.
    public struct Visualization: Sendable {
        public let id: String
        public let title: String
        public let chart: String
        public let source: Source
        public let query: String
        public let aggregations: [Aggregation]
    }

    /// One saved search: a query and the columns to show.
    public struct Search: Sendable {
        public let id: String
        public let title: String
        public let source: Source
        public let query: String
        public let columns: [String]
    }

    static let failed = "status:(error OR failure OR timeout)"

    /// The dashboard's visualizations, in the order of its panels.
    public static let visualizations: [Visualization] = [
        Visualization(
            id: "sluice-invocations-by-status", title: "Invocations by status", chart: "histogram",
            source: .invocations, query: "*", aggregations: [.count(), .overTime(), .terms("status", size: 5)]),
        Visualization(
            id: "sluice-errors", title: "Errors", chart: "metric", source: .invocations,
            query: "status:(error OR failure)", aggregations: [.count()]),
        Visualization(
            id: "sluice-timeouts", title: "Timeouts", chart: "metric", source: .invocations,
            query: "timedOut:true", aggregations: [.count()]),
        Visualization(
            id: "sluice-out-of-memory", title: "Out of memory", chart: "metric", source: .invocations,
            query: "outOfMemory:true", aggregations: [.count()]),
        Visualization(
            id: "sluice-duration", title: "Duration p50, p95, p99 (ms)", chart: "line", source: .invocations,
            query: "*", aggregations: [.percentiles("durationMs"), .overTime()]),
        Visualization(
            id: "sluice-billed-duration", title: "Billed duration (ms)", chart: "line", source: .invocations,
            query: "*",
            aggregations: [.metric("avg", "billedDurationMs"), .metric("sum", "billedDurationMs"), .overTime()]),
        Visualization(
            id: "sluice-cold-starts", title: "Cold starts and init duration (ms)", chart: "line", source: .invocations,
            query: "coldStart:true", aggregations: [.count(), .metric("avg", "initDurationMs"), .overTime()]),
        Visualization(
            id: "sluice-memory", title: "Memory used against memory size (MB)", chart: "line", source: .invocations,
            query: "*",
            aggregations: [.metric("max", "maxMemoryUsedMB"), .metric("max", "memorySizeMB"), .overTime()]),
        Visualization(
            id: "sluice-log-volume", title: "Log lines by level", chart: "histogram", source: .function, query: "*",
            aggregations: [.count(), .overTime(), .terms("level", size: 6)]),
        Visualization(
            id: "sluice-error-types", title: "Top error types", chart: "pie", source: .invocations, query: failed,
            aggregations: [.count(), .terms("errorType", schema: "segment")]),
        Visualization(
            id: "sluice-functions-by-errors", title: "Top functions by errors", chart: "table", source: .invocations,
            query: failed, aggregations: [.count(), .terms("functionName", schema: "bucket")]),
        // The extension's own health documents (`type: sluice.health`, in the extension index).
        Visualization(
            id: "sluice-health-spool", title: "Sluice: spool depth, dead letters, dropped (by the cap, by Lambda)",
            chart: "line", source: .extension, query: #"type:"sluice.health""#,
            aggregations: [
                .metric("max", "spool.waiting"), .metric("max", "spool.deadLetters"), .metric("max", "spool.dropped"),
                .metric("max", "spool.droppedByLambda"), .overTime(),
            ]),
        Visualization(
            id: "sluice-health-shipping", title: "Sluice: shipped, retried, failed requests, left at shutdown",
            chart: "line",
            source: .extension, query: #"type:"sluice.health""#,
            aggregations: [
                .metric("max", "spool.shipped"), .metric("max", "spool.retried"),
                .metric("max", "spool.failedRequests"), .metric("max", "spool.leftAtShutdown"), .overTime(),
            ]),
        Visualization(
            id: "sluice-health-added", title: "Sluice: time added to invocations (ms, p99 and max)", chart: "line",
            source: .extension, query: #"type:"sluice.health""#,
            aggregations: [.metric("max", "addedMs.p99"), .metric("max", "addedMs.max"), .overTime()]),
    ]

    /// The saved searches.
    public static let searches: [Search] = [
        Search(
            id: "sluice-search-failed", title: "Lambda: failed invocations", source: .invocations, query: failed,
            columns: ["functionName", "status", "errorType", "durationMs", "requestId"]),
        Search(
            id: "sluice-search-error-lines", title: "Lambda: error log lines", source: .function,
            query: "level:(ERROR OR FATAL OR error OR fatal OR CRITICAL OR critical)",
            columns: ["functionName", "level", "message", "requestId"]),
        Search(
            id: "sluice-search-cold-starts", title: "Lambda: cold starts", source: .invocations,
            query: "coldStart:true",
            columns: ["functionName", "initType", "initDurationMs", "durationMs", "requestId"]),
        Search(
            id: "sluice-search-timeouts-oom", title: "Lambda: timeouts and out of memory", source: .invocations,
            query: "timedOut:true OR outOfMemory:true",
            columns: ["functionName", "status", "errorType", "maxMemoryUsedMB", "memorySizeMB", "requestId"]),
        Search(
            id: "sluice-search-invocation-logs", title: "Lambda: one invocation's logs (set requestId)",
            source: .function, query: "requestId:\"REQUEST-ID\"", columns: ["phase", "level", "message"]),
    ]

    /// The index pattern id of `source`.
    public static func indexPatternID(_ source: Source) -> String { "sluice-index-\(source.rawValue)" }

    /// Every saved object: index patterns first, then searches, visualizations and the dashboard.
    public static func savedObjects(_ routing: IndexRouting) -> [SavedObject] {
        var objects: [SavedObject] = []
        for source in Source.allCases {
            guard let pattern = indexPattern(source, routing) else { continue }
            objects.append(
                SavedObject(
                    type: "index-pattern", id: indexPatternID(source),
                    attributes: .object([("title", .string(pattern)), ("timeFieldName", .string("@timestamp"))]),
                    references: []))
        }
        let available = Set(objects.map(\.id))
        for search in searches where available.contains(indexPatternID(search.source)) {
            objects.append(
                SavedObject(
                    type: "search", id: search.id,
                    attributes: .object([
                        ("title", .string(search.title)), ("description", .string("")),
                        ("columns", .array(search.columns.map { .string($0) })),
                        ("sort", .array([.array([.string("@timestamp"), .string("desc")])])), ("version", .number(1)),
                        ("kibanaSavedObjectMeta", .object([("searchSourceJSON", .string(searchSource(search.query)))])),
                    ]),
                    references: [indexReference(search.source)]))
        }
        var panels: [(id: String, type: String)] = []
        for visualization in visualizations where available.contains(indexPatternID(visualization.source)) {
            objects.append(
                SavedObject(
                    type: "visualization", id: visualization.id,
                    attributes: .object([
                        ("title", .string(visualization.title)), ("visState", .string(visState(visualization).text)),
                        ("uiStateJSON", .string("{}")), ("description", .string("")), ("version", .number(1)),
                        (
                            "kibanaSavedObjectMeta",
                            .object([("searchSourceJSON", .string(searchSource(visualization.query)))])
                        ),
                    ]),
                    references: [indexReference(visualization.source)]))
            panels.append((visualization.id, "visualization"))
        }
        panels.append(("sluice-search-failed", "search"))
        objects.append(dashboard(panels.filter { panel in objects.contains { $0.id == panel.id } }))
        return objects
    }

    /// The NDJSON file: one object per line.
    public static func ndjson(_ routing: IndexRouting) -> String {
        savedObjects(routing).map(\.line).joined(separator: "\n") + "\n"
    }

    /// The index pattern title of `source`: every name its configured pattern makes.
    static func indexPattern(_ source: Source, _ routing: IndexRouting) -> String? {
        let pattern: IndexPattern?
        switch source {
        case .invocations: pattern = routing.invocation
        case .function: pattern = routing.function
        case .extension: pattern = routing.extension
        case .platform: pattern = routing.platform
        }
        guard let pattern else { return nil }
        if let percent = pattern.pattern.firstIndex(of: "%") { return String(pattern.pattern[..<percent]) + "*" }
        return pattern.pattern + "*"
    }

    static func indexReference(_ source: Source) -> SavedObject.Reference {
        SavedObject.Reference(
            name: "kibanaSavedObjectMeta.searchSourceJSON.index", type: "index-pattern", id: indexPatternID(source))
    }

    static func searchSource(_ query: String) -> String {
        SavedObject.Tree.object([
            ("query", .object([("query", .string(query)), ("language", .string("lucene"))])), ("filter", .array([])),
            ("indexRefName", .string("kibanaSavedObjectMeta.searchSourceJSON.index")),
        ]).text
    }

    /// `visState`: the chart's type and parameters and its aggregations, numbered from 1.
    public static func visState(_ visualization: Visualization) -> SavedObject.Tree {
        var aggs: [SavedObject.Tree] = []
        for (position, aggregation) in visualization.aggregations.enumerated() {
            var parameters = aggregation.parameters
            if let field = aggregation.field { parameters.insert(("field", .string(field)), at: 0) }
            aggs.append(
                .object([
                    ("id", .string(String(position + 1))), ("enabled", .bool(true)),
                    ("type", .string(aggregation.type)),
                    ("schema", .string(aggregation.schema)), ("params", .object(parameters)),
                ]))
        }
        let metrics = visualization.aggregations.enumerated().filter { $0.element.schema == "metric" }.map {
            $0.offset + 1
        }
        return .object([
            ("title", .string(visualization.title)), ("type", .string(visualization.chart)),
            ("params", chartParameters(visualization.chart, metrics: metrics)), ("aggs", .array(aggs)),
        ])
    }

    /// The search OpenSearch Dashboards sends for `visualization` over `interval` buckets: its
    /// query, its bucket aggregations nested in order (`date_histogram`, `terms`), its metric
    /// aggregations inside the innermost (a count is each bucket's `doc_count`). For terminal views
    /// (the demo) drawn from the same aggregations as the dashboard.
    public static func searchRequest(_ visualization: Visualization, interval: String = "1h") -> SavedObject.Tree {
        var inner: [(String, SavedObject.Tree)] = []
        for (position, aggregation) in visualization.aggregations.enumerated()
        where aggregation.schema == "metric" && aggregation.type != "count" {
            var body: [(String, SavedObject.Tree)] = [("field", .string(aggregation.field ?? ""))]
            body += aggregation.parameters.filter { $0.0 == "percents" }
            inner.append((String(position + 1), .object([(aggregation.type, .object(body))])))
        }
        for (position, aggregation) in visualization.aggregations.enumerated().reversed()
        where aggregation.schema != "metric" {
            var body: [(String, SavedObject.Tree)]
            if aggregation.type == "date_histogram" {
                body = [
                    (
                        "date_histogram",
                        .object([
                            ("field", .string(aggregation.field ?? "@timestamp")),
                            ("fixed_interval", .string(interval)),
                            ("min_doc_count", .number(1)),
                        ])
                    )
                ]
            } else {
                let size = aggregation.parameters.first { $0.0 == "size" }?.1 ?? .number(10)
                body = [
                    (
                        "terms",
                        .object([
                            ("field", .string(aggregation.field ?? "")), ("size", size),
                            ("order", .object([("_count", .string("desc"))])),
                        ])
                    )
                ]
            }
            if !inner.isEmpty { body.append(("aggs", .object(inner))) }
            inner = [(String(position + 1), .object(body))]
        }
        let query: SavedObject.Tree =
            visualization.query == "*"
            ? .object([("match_all", .object([]))])
            : .object([
                ("query_string", .object([("query", .string(visualization.query)), ("analyze_wildcard", .bool(true))]))
            ])
        var request: [(String, SavedObject.Tree)] = [
            ("size", .number(0)), ("track_total_hits", .bool(true)), ("query", query),
        ]
        if !inner.isEmpty { request.append(("aggs", .object(inner))) }
        return .object(request)
    }

    /// What OpenSearch Dashboards' editor writes for each chart type.
    static func chartParameters(_ chart: String, metrics: [Int]) -> SavedObject.Tree {
        switch chart {
        case "metric":
            return .object([
                ("addTooltip", .bool(true)), ("addLegend", .bool(false)), ("type", .string("metric")),
                (
                    "metric",
                    .object([
                        ("percentageMode", .bool(false)), ("useRanges", .bool(false)),
                        ("colorSchema", .string("Green to Red")), ("metricColorMode", .string("None")),
                        ("colorsRange", .array([.object([("from", .number(0)), ("to", .number(10000))])])),
                        ("labels", .object([("show", .bool(true))])), ("invertColors", .bool(false)),
                        (
                            "style",
                            .object([
                                ("bgFill", .string("#000")), ("bgColor", .bool(false)), ("labelColor", .bool(false)),
                                ("subText", .string("")), ("fontSize", .number(60)),
                            ])
                        ),
                    ])
                ),
            ])
        case "pie":
            return .object([
                ("type", .string("pie")), ("addTooltip", .bool(true)), ("addLegend", .bool(true)),
                ("legendPosition", .string("right")), ("isDonut", .bool(true)),
                (
                    "labels",
                    .object([
                        ("show", .bool(false)), ("values", .bool(true)), ("last_level", .bool(true)),
                        ("truncate", .number(100)),
                    ])
                ),
            ])
        case "table":
            return .object([
                ("perPage", .number(10)), ("showPartialRows", .bool(false)), ("showMetricsAtAllLevels", .bool(false)),
                ("showTotal", .bool(false)), ("totalFunc", .string("sum")), ("percentageCol", .string("")),
            ])
        default:
            let series: [SavedObject.Tree] = metrics.map { id in
                .object([
                    ("show", .bool(true)), ("type", .string(chart)),
                    ("mode", .string(chart == "histogram" ? "stacked" : "normal")),
                    ("data", .object([("id", .string(String(id))), ("label", .string(""))])),
                    ("valueAxis", .string("ValueAxis-1")), ("drawLinesBetweenPoints", .bool(true)),
                    ("lineWidth", .number(2)), ("showCircles", .bool(true)),
                ])
            }
            return .object([
                ("type", .string(chart)), ("grid", .object([("categoryLines", .bool(false))])),
                (
                    "categoryAxes",
                    .array([
                        .object([
                            ("id", .string("CategoryAxis-1")), ("type", .string("category")),
                            ("position", .string("bottom")),
                            ("show", .bool(true)), ("scale", .object([("type", .string("linear"))])),
                            (
                                "labels",
                                .object([("show", .bool(true)), ("filter", .bool(true)), ("truncate", .number(100))])
                            ),
                            ("title", .object([])),
                        ])
                    ])
                ),
                (
                    "valueAxes",
                    .array([
                        .object([
                            ("id", .string("ValueAxis-1")), ("name", .string("LeftAxis-1")), ("type", .string("value")),
                            ("position", .string("left")), ("show", .bool(true)),
                            ("scale", .object([("type", .string("linear")), ("mode", .string("normal"))])),
                            (
                                "labels",
                                .object([
                                    ("show", .bool(true)), ("rotate", .number(0)), ("filter", .bool(false)),
                                    ("truncate", .number(100)),
                                ])
                            ),
                            ("title", .object([])),
                        ])
                    ])
                ),
                ("seriesParams", .array(series)), ("addTooltip", .bool(true)), ("addLegend", .bool(true)),
                ("legendPosition", .string("right")), ("times", .array([])), ("addTimeMarker", .bool(false)),
            ])
        }
    }

    /// "Lambda overview": the visualizations two to a row, metrics three to a row, the failed
    /// invocations' search last.
    static func dashboard(_ panels: [(id: String, type: String)]) -> SavedObject {
        var entries: [SavedObject.Tree] = []
        var references: [SavedObject.Reference] = []
        var x = 0
        var y = 0
        var rowHeight = 0
        for (position, panel) in panels.enumerated() {
            let isMetric = visualizations.first { $0.id == panel.id }?.chart == "metric"
            let width = panel.type == "search" ? 48 : isMetric ? 16 : 24
            let height = isMetric ? 8 : 15
            if x + width > 48 {
                x = 0
                y += rowHeight
                rowHeight = 0
            }
            let index = String(position + 1)
            entries.append(
                .object([
                    ("version", .string("7.10.2")),
                    (
                        "gridData",
                        .object([
                            ("x", .number(Double(x))), ("y", .number(Double(y))), ("w", .number(Double(width))),
                            ("h", .number(Double(height))), ("i", .string(index)),
                        ])
                    ),
                    ("panelIndex", .string(index)), ("embeddableConfig", .object([])),
                    ("panelRefName", .string("panel_\(position)")),
                ]))
            references.append(SavedObject.Reference(name: "panel_\(position)", type: panel.type, id: panel.id))
            x += width
            rowHeight = max(rowHeight, height)
        }
        let searchSource = SavedObject.Tree.object([
            ("query", .object([("query", .string("")), ("language", .string("lucene"))])), ("filter", .array([])),
        ]).text
        return SavedObject(
            type: "dashboard", id: "sluice-lambda-overview",
            attributes: .object([
                ("title", .string("Lambda overview")),
                ("description", .string("Invocations, errors, durations, cold starts, memory and logs, from Sluice")),
                ("panelsJSON", .string(SavedObject.Tree.array(entries).text)),
                ("optionsJSON", .string(#"{"hidePanelTitles":false,"useMargins":true}"#)), ("version", .number(1)),
                ("timeRestore", .bool(true)), ("timeFrom", .string("now-24h")), ("timeTo", .string("now")),
                ("refreshInterval", .object([("pause", .bool(true)), ("value", .number(0))])),
                ("kibanaSavedObjectMeta", .object([("searchSourceJSON", .string(searchSource))])),
            ]),
            references: references)
    }
}
