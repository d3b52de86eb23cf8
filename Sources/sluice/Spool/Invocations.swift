import SluiceIngest
import SluiceJSON
import SluiceSpool
import SluiceTime

/// `sluice spool invocations`: what the invocation view holds between deliveries.
struct Invocations {
    static let command = Command(
        name: "invocations",
        abstract:
            "Show the invocations whose summary is not written yet and the newest phase marks (init, start, SHUTDOWN) that tie log lines to invocations.",
        options: [
            SpoolLocation.option, .value("marks", "n", help: "How many of the newest marks.", default: "10"),
            .flag("json", help: "Print one JSON line per open invocation and per mark."),
        ],
        run: { try Invocations($0).run() })

    let location: SpoolLocation
    let marks: Int
    let json: Bool

    init(_ arguments: ParsedArguments) throws(UsageError) {
        location = SpoolLocation(arguments)
        marks = try arguments.integer("marks", default: 10)
        json = arguments.flag("json")
        guard marks >= 0 else { throw UsageError("--marks must be 0 or more") }
    }

    func run() throws {
        try reportingFailures {
            let state = try location.open(.readOnly).invocationState()
            let open = state.open.compactMap {
                InvocationSummary(requestId: $0.requestId, startedAt: $0.startedAt, state: $0.state)
            }
            let newest = Array(state.marks.suffix(marks))
            if json {
                for summary in open {
                    var line = Array(#"{"open":"#.utf8)
                    line += summary.document(functionFields: [])
                    // Summarised `incomplete` at SHUTDOWN already: open for a report that comes late.
                    line += Array((summary.summarisedIncomplete ? #","summarisedIncomplete":true}"# : "}").utf8)
                    print(String(decoding: line, as: UTF8.self))
                }
                for mark in newest {
                    var line = Array(#"{"mark":{"at":"#.utf8)
                    JSONText.appendString(UTCTime.iso8601(milliseconds: mark.at), to: &line)
                    line += Array(#","kind":"#.utf8)
                    JSONText.appendString(mark.kind.rawValue, to: &line)
                    for (name, value) in [
                        ("requestId", mark.requestId), ("traceId", mark.traceId ?? ""), ("detail", mark.detail ?? ""),
                    ]
                    where !value.isEmpty {
                        line += Array(",".utf8)
                        JSONText.appendString(name, to: &line)
                        line += Array(":".utf8)
                        JSONText.appendString(value, to: &line)
                    }
                    line += Array("}}".utf8)
                    print(String(decoding: line, as: UTF8.self))
                }
                return
            }
            let now = UTCTime.nowMilliseconds()
            if open.isEmpty {
                print("no open invocations: every invocation seen has its summary")
            } else {
                print(
                    "open invocations (summary written when the report comes, or at SHUTDOWN as incomplete; one "
                        + "written so is replaced if the report still comes):")
                print(
                    Terminal.table(
                        ["REQUEST ID", "STARTED", "AGE", "COLD", "RUNTIME", "LOG LINES", "ERRORS", "SUMMARY"],
                        open.map { summary in
                            [
                                summary.requestId, UTCTime.iso8601(milliseconds: summary.startedAt),
                                Terminal.duration(milliseconds: max(0, now - summary.startedAt)),
                                summary.coldStart ? "yes" : "no", summary.runtimeStatus ?? "-", "\(summary.logLines)",
                                "\(summary.errorLines)", summary.summarisedIncomplete ? "incomplete" : "-",
                            ]
                        }))
            }
            guard !newest.isEmpty else { return }
            print("")
            print("newest marks (a log line belongs to the newest mark at or before its time):")
            print(
                Terminal.table(
                    ["AT", "MARK", "REQUEST ID", "TRACE ID", "DETAIL"],
                    newest.map { mark in
                        [
                            UTCTime.iso8601(milliseconds: mark.at), mark.kind.rawValue,
                            mark.requestId.isEmpty ? "-" : mark.requestId, mark.traceId ?? "-", mark.detail ?? "-",
                        ]
                    }))
        }
    }
}
