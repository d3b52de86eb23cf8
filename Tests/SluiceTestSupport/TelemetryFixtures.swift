/// Telemetry API events as Lambda sends them, for tests.
public enum TelemetryFixtures {
    public static let time = "2026-11-25T12:00:00.123Z"

    /// One event of every type of the Telemetry API (LAMBDA_REFERENCE.md §3), text and JSON log formats.
    public static let events: [(type: String, record: String)] = [
        (
            "platform.initStart",
            #"{"initializationType":"on-demand","phase":"init","functionName":"orders","functionVersion":"$LATEST","runtimeVersion":"provided:al2023.v1"}"#
        ),
        (
            "platform.initRuntimeDone",
            #"{"initializationType":"on-demand","phase":"init","status":"success","spans":[{"name":"responseLatency","start":"2026-11-25T12:00:00.000Z","durationMs":0}]}"#
        ),
        (
            "platform.initReport",
            #"{"initializationType":"on-demand","phase":"init","status":"success","metrics":{"durationMs":125.3}}"#
        ),
        (
            "platform.start",
            #"{"requestId":"6d68ca91-49c9-448d-89b8-7ca3e6dc66aa","version":"$LATEST","tracing":{"spanId":"54565fb41ac79632","type":"X-Amzn-Trace-Id","value":"Root=1-62e900b2-710d76f009d6e7785905449a;Parent=0efbd19962d95b05;Sampled=1"}}"#
        ),
        (
            "platform.runtimeDone",
            #"{"requestId":"6d68ca91-49c9-448d-89b8-7ca3e6dc66aa","status":"success","metrics":{"durationMs":140.0,"producedBytes":16},"spans":[{"name":"responseLatency","start":"2026-11-25T12:00:00.000Z","durationMs":23.02}]}"#
        ),
        (
            "platform.report",
            #"{"requestId":"6d68ca91-49c9-448d-89b8-7ca3e6dc66aa","status":"timeout","errorType":"Sandbox.Timedout","metrics":{"durationMs":3000.0,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":61,"initDurationMs":120.4}}"#
        ),
        (
            "platform.restoreStart",
            #"{"runtimeVersion":"provided:al2023.v1","functionName":"orders","functionVersion":"3"}"#
        ),
        ("platform.restoreRuntimeDone", #"{"status":"success"}"#),
        ("platform.restoreReport", #"{"status":"success","metrics":{"durationMs":90.1}}"#),
        ("platform.extension", #"{"name":"sluice","state":"Ready","events":["INVOKE","SHUTDOWN"]}"#),
        (
            "platform.telemetrySubscription",
            #"{"name":"sluice","state":"Subscribed","types":["platform","function","extension"]}"#
        ),
        (
            "platform.logsDropped",
            #"{"droppedBytes":12800,"droppedRecords":50,"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}"#
        ),
        ("function", #""2026-11-25T12:00:00.123Z\t6d68ca91-49c9-448d-89b8-7ca3e6dc66aa\tINFO\tcharged card 4242""#),
        (
            "function",
            #"{"timestamp":"2026-11-25T12:00:00.123Z","level":"INFO","requestId":"6d68ca91-49c9-448d-89b8-7ca3e6dc66aa","message":"charged card"}"#
        ),
        (
            "function",
            #"{"timestamp":"2026-11-25T12:00:00.124Z","level":"ERROR","requestId":"6d68ca91-49c9-448d-89b8-7ca3e6dc66aa","message":{"order":42,"lines":[1,2]},"errorType":"Error"}"#
        ),
        ("extension", #""sluice: shipped 1000 records""#),
        ("extension", #"{"timestamp":"2026-11-25T12:00:00.200Z","level":"WARN","message":"slow"}"#),
    ]

    /// `{time, type, record}` for each of `events`.
    public static var eventJSON: [String] {
        events.map { #"{"time":"\#(time)","type":"\#($0.type)","record":\#($0.record)}"# }
    }

    /// A delivery body holding `events` (JSON objects).
    public static func delivery(_ events: [String]) -> [UInt8] {
        Array(("[" + events.joined(separator: ",") + "]").utf8)
    }

    /// A delivery of `count` function log lines, each `marker-N`.
    public static func logLines(_ count: Int, marker: String, time: String = TelemetryFixtures.time) -> [UInt8] {
        delivery((0..<count).map { #"{"time":"\#(time)","type":"function","record":"\#(marker)-\#($0)"}"# })
    }
}
