import Foundation
import LambdaSimulator
import SluiceTestSupport
import Testing

/// The saved objects of `sluice opensearch dashboards` against what the real extension wrote under
/// the simulator: every line a valid saved object whose references resolve in the file, every
/// field it uses in the mappings of the documents written, and every visualization's query, as
/// OpenSearch Dashboards sends it, answering with the buckets the run implies.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct DashboardEndToEndTests {
    @Test func theDashboardsQueriesAnswerWhatTheRunDid() async throws {
        try await EndToEndRig.with(configure: { configuration in
            configuration.logFormat = .json
            configuration.functionTimeout = .milliseconds(800)
        }) { rig, simulator in
            try await simulator.start()
            for number in 0..<14 {
                var script = InvocationScript(lines: [
                    FunctionLogLine("order \(number)", level: number % 4 == 0 ? "ERROR" : "INFO"),
                    FunctionLogLine("slow \(number)", style: .python, level: "WARN"),
                ])
                switch number % 7 {
                case 1: script.outcome = .error()
                case 2: script.outcome = .outOfMemory
                case 3 where number == 3: script.outcome = .timeout
                default: break
                }
                try await simulator.invoke(script)
            }
            let shutdown = try await simulator.shutdown()
            #expect(shutdown.exitStatus == .exited(0))
            let ledger = await simulator.ledger()
            try await rig.expectEveryAcknowledgedEventIndexedOnce(ledger)

            let result = try await runProduct(
                "sluice", ["opensearch", "dashboards"],
                environment: [
                    "PLATFORM_INDEX": rig.platformIndex, "FUNCTION_INDEX": rig.functionIndex,
                    "EXTENSION_INDEX": rig.extensionIndex, "INVOCATION_INDEX": rig.invocationIndex,
                ])
            #expect(result.status == 0, "\(result.error)")
            let objects = try result.output.split(separator: "\n").map {
                try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
            }
            try expectValidSavedObjects(objects)
            try await expectFieldsInTheMappings(objects, rig)
            try await expectQueriesAnswer(objects, rig)
        }
    }

    /// A JSON-string attribute, parsed.
    static func json(_ value: Any?) throws -> [String: Any] {
        let text = try #require(value as? String)
        return try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func expectValidSavedObjects(_ objects: [[String: Any]]) throws {
        let versions = ["index-pattern": "7.6.0", "visualization": "7.10.0", "search": "7.9.3", "dashboard": "7.9.3"]
        var ids: [String: String] = [:]
        for object in objects {
            let type = try #require(object["type"] as? String)
            let id = try #require(object["id"] as? String)
            #expect(versions[type] != nil, "\(type)")
            #expect((object["migrationVersion"] as? [String: String])?[type] == versions[type])
            #expect(ids[id] == nil, "\(id) twice")
            ids[id] = type
        }
        #expect(ids.values.filter { $0 == "dashboard" }.count == 1)
        #expect(ids.values.filter { $0 == "visualization" }.count >= 10)
        for object in objects {
            let type = object["type"] as! String
            let attributes = try #require(object["attributes"] as? [String: Any])
            let references = try #require(object["references"] as? [[String: String]])
            // Every reference resolves in the file, to an object of its type.
            for reference in references {
                #expect(ids[reference["id"] ?? ""] == reference["type"], "\(object["id"]!): \(reference)")
            }
            let names = Set(references.compactMap { $0["name"] })
            switch type {
            case "index-pattern":
                #expect((attributes["title"] as? String)?.hasSuffix("*") == true)
                #expect(attributes["timeFieldName"] as? String == "@timestamp")
            case "visualization", "search":
                let meta = try #require(attributes["kibanaSavedObjectMeta"] as? [String: Any])
                let source = try Self.json(meta["searchSourceJSON"])
                #expect(names.contains(source["indexRefName"] as? String ?? "-"))
                if type == "visualization" {
                    let state = try Self.json(attributes["visState"])
                    #expect(state["title"] as? String == attributes["title"] as? String)
                    #expect(!((state["aggs"] as? [[String: Any]]) ?? []).isEmpty)
                    _ = try Self.json(attributes["uiStateJSON"])
                }
            case "dashboard":
                let panels = try #require(
                    try JSONSerialization.jsonObject(with: Data((attributes["panelsJSON"] as! String).utf8))
                        as? [[String: Any]])
                #expect(panels.count == references.count)
                for panel in panels {
                    #expect(names.contains(panel["panelRefName"] as? String ?? "-"))
                    let grid = try #require(panel["gridData"] as? [String: Any])
                    for key in ["x", "y", "w", "h", "i"] { #expect(grid[key] != nil) }
                }
                _ = try Self.json(attributes["optionsJSON"])
            default: Issue.record("unexpected type \(type)")
            }
        }
    }

    /// The index pattern each object reads, by its reference.
    func indexTitle(_ object: [String: Any], _ objects: [[String: Any]]) -> String? {
        let id = (object["references"] as? [[String: String]])?.first { $0["type"] == "index-pattern" }?["id"]
        let pattern = objects.first { $0["id"] as? String == id }
        return (pattern?["attributes"] as? [String: Any])?["title"] as? String
    }

    /// The fields the indices of `title` map, as dotted paths.
    func mappedFields(_ title: String, _ rig: EndToEndRig) async throws -> Set<String> {
        let (status, body) = try await rig.probe.call(.GET, "/\(title)/_mapping")
        #expect(status == 200, "\(title)")
        var fields = Set<String>()
        func walk(_ properties: [String: Any], _ prefix: String) {
            for (name, value) in properties {
                fields.insert(prefix + name)
                if let nested = (value as? [String: Any])?["properties"] as? [String: Any] {
                    walk(nested, prefix + name + ".")
                }
            }
        }
        for index in ((body as? [String: Any]) ?? [:]).values {
            walk(((index as? [String: Any])?["mappings"] as? [String: Any])?["properties"] as? [String: Any] ?? [:], "")
        }
        return fields
    }

    func expectFieldsInTheMappings(_ objects: [[String: Any]], _ rig: EndToEndRig) async throws {
        for object in objects where ["visualization", "search"].contains(object["type"] as? String) {
            let title = try #require(indexTitle(object, objects))
            let fields = try await mappedFields(title, rig)
            let attributes = object["attributes"] as! [String: Any]
            var used = (attributes["columns"] as? [String]) ?? []
            if attributes["visState"] != nil {
                let state = try Self.json(attributes["visState"])
                used += ((state["aggs"] as? [[String: Any]]) ?? []).compactMap {
                    ($0["params"] as? [String: Any])?["field"] as? String
                }
            }
            for field in used {
                #expect(fields.contains(field), "\(object["id"]!): \(field) is not in the mapping of \(title)")
            }
        }
    }

    /// The request OpenSearch Dashboards makes for a visualization: its query, bucket aggregations
    /// nested in order, metric aggregations inside the innermost one.
    static func request(_ state: [String: Any], query: String) -> [String: Any] {
        let aggs = (state["aggs"] as? [[String: Any]]) ?? []
        var metrics: [String: Any] = [:]
        for agg in aggs where agg["schema"] as? String == "metric" && agg["type"] as? String != "count" {
            let params = agg["params"] as? [String: Any] ?? [:]
            var body: [String: Any] = ["field": params["field"] ?? ""]
            if let percents = params["percents"] { body["percents"] = percents }
            metrics[agg["id"] as! String] = [agg["type"] as! String: body]
        }
        var inner: [String: Any]? = metrics.isEmpty ? nil : metrics
        for agg in aggs.reversed() where agg["schema"] as? String != "metric" {
            let params = agg["params"] as? [String: Any] ?? [:]
            var body: [String: Any]
            switch agg["type"] as? String {
            case "date_histogram":
                body = ["date_histogram": ["field": params["field"]!, "fixed_interval": "1h", "min_doc_count": 1]]
            default:
                body = [
                    "terms": ["field": params["field"]!, "size": params["size"] ?? 10, "order": ["_count": "desc"]]
                ]
            }
            if let inner { body["aggs"] = inner }
            inner = [agg["id"] as! String: body]
        }
        var request: [String: Any] = [
            "size": 0, "track_total_hits": true,
            "query": query == "*" ? ["match_all": [:]] : ["query_string": ["query": query, "analyze_wildcard": true]],
        ]
        if let inner { request["aggs"] = inner }
        return request
    }

    /// Every bucket of the terms aggregation `id`, anywhere in `aggregations`, summed by key.
    static func termCounts(_ value: Any?, id: String) -> [String: Int] {
        var counts: [String: Int] = [:]
        func walk(_ value: Any?) {
            if let object = value as? [String: Any] {
                if let terms = object[id] as? [String: Any], let buckets = terms["buckets"] as? [[String: Any]] {
                    for bucket in buckets {
                        counts["\(bucket["key"]!)", default: 0] += (bucket["doc_count"] as? NSNumber)?.intValue ?? 0
                    }
                }
                for (_, child) in object { walk(child) }
            } else if let array = value as? [Any] {
                for child in array { walk(child) }
            }
        }
        walk(value)
        return counts
    }

    func expectQueriesAnswer(_ objects: [[String: Any]], _ rig: EndToEndRig) async throws {
        let summaries = Array(try await rig.probe.documents(rig.invocationIndex).values)
        let statuses = Dictionary(grouping: summaries) { $0["status"] as? String ?? "-" }.mapValues(\.count)
        var answers: [String: (hits: Int, aggregations: Any?)] = [:]
        for object in objects where object["type"] as? String == "visualization" {
            let attributes = object["attributes"] as! [String: Any]
            let state = try Self.json(attributes["visState"])
            let meta = attributes["kibanaSavedObjectMeta"] as! [String: Any]
            let query =
                ((try Self.json(meta["searchSourceJSON"]))["query"] as? [String: Any])?["query"] as? String ?? "*"
            let body = try JSONSerialization.data(withJSONObject: Self.request(state, query: query))
            let title = try #require(indexTitle(object, objects))
            let (status, answer) = try await rig.probe.call(
                .POST, "/\(title)/_search", String(decoding: body, as: UTF8.self))
            #expect(status == 200, "\(object["id"]!): \(String(describing: answer))")
            let hits =
                ((((answer as? [String: Any])?["hits"] as? [String: Any])?["total"] as? [String: Any])?["value"]
                as? NSNumber)?.intValue ?? -1
            answers[object["id"] as! String] = (hits, (answer as? [String: Any])?["aggregations"])
        }
        let failed = (statuses["error"] ?? 0) + (statuses["failure"] ?? 0)
        #expect(Self.termCounts(answers["sluice-invocations-by-status"]?.aggregations, id: "3") == statuses)
        #expect(answers["sluice-errors"]?.hits == failed)
        #expect(failed >= 2, "errors and out-of-memory in the run")
        #expect(answers["sluice-timeouts"]?.hits == summaries.filter { $0["timedOut"] as? Bool == true }.count)
        #expect(answers["sluice-timeouts"]?.hits ?? 0 >= 1)
        let outOfMemory = summaries.filter { $0["outOfMemory"] as? Bool == true }.count
        #expect(answers["sluice-out-of-memory"]?.hits == outOfMemory)
        #expect(outOfMemory >= 1)
        let cold = summaries.filter { $0["coldStart"] as? Bool == true }.count
        #expect(answers["sluice-cold-starts"]?.hits == cold)
        #expect(cold >= 2, "the first init and the ones after out-of-memory resets")
        let errorTypes = Self.termCounts(answers["sluice-error-types"]?.aggregations, id: "2")
        #expect(errorTypes["Runtime.OutOfMemory"] ?? 0 >= 1, "\(errorTypes)")
        let byFunction = Self.termCounts(answers["sluice-functions-by-errors"]?.aggregations, id: "2")
        #expect(byFunction == ["sluice-simulated": failed + (statuses["timeout"] ?? 0)])
        let levels = Self.termCounts(answers["sluice-log-volume"]?.aggregations, id: "3")
        #expect(levels["ERROR"] ?? 0 >= 1 && levels["INFO"] ?? 0 >= 1, "\(levels)")
        // The percentiles and averages answer values for every bucket.
        let duration = String(describing: answers["sluice-duration"]?.aggregations ?? "")
        #expect(duration.contains("95"), "\(duration)")
        #expect(answers.values.allSatisfy { $0.hits >= 0 })
    }
}
