/// One event of every type LAMBDA_REFERENCE.md §3 lists, as the Telemetry API sends them: log
/// lines as strings (text format) and as objects (JSON format).
public enum TelemetryFixtures {
    public static let time = "2026-11-25T10:00:00.123Z"

    /// `{time, type, record}` JSON objects, keyed by a name for test messages.
    public static let events: [(name: String, json: String)] = [
        (
            "initStart",
            #"{"time":"\#(time)","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","functionName":"orders","functionVersion":"$LATEST","instanceId":"i-1","instanceMaxMemory":128,"runtimeVersion":"provided:al2023.v1","runtimeVersionArn":"arn:aws:lambda:eu-west-1::runtime:abc"}}"#
        ),
        (
            "initRuntimeDone",
            #"{"time":"\#(time)","type":"platform.initRuntimeDone","record":{"initializationType":"on-demand","phase":"init","status":"success","spans":[{"name":"someTimeSpan","start":"\#(time)","durationMs":70.5}]}}"#
        ),
        (
            "initReport",
            #"{"time":"\#(time)","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"init","status":"error","errorType":"Runtime.ExitError","metrics":{"durationMs":125.33}}}"#
        ),
        (
            "start",
            #"{"time":"\#(time)","type":"platform.start","record":{"requestId":"req-1","version":"$LATEST","tracing":{"spanId":"54565fb41ac79632","type":"X-Amzn-Trace-Id","value":"Root=1-5b;Parent=5;Sampled=1"}}}"#
        ),
        (
            "runtimeDone",
            #"{"time":"\#(time)","type":"platform.runtimeDone","record":{"requestId":"req-1","status":"timeout","errorType":"Sandbox.Timedout","metrics":{"durationMs":3000.0,"producedBytes":0},"spans":[{"name":"responseLatency","start":"\#(time)","durationMs":23.02}]}}"#
        ),
        (
            "report",
            #"{"time":"\#(time)","type":"platform.report","record":{"requestId":"req-1","status":"success","metrics":{"durationMs":1.5,"billedDurationMs":2,"memorySizeMB":128,"maxMemoryUsedMB":40,"initDurationMs":120.1,"restoreDurationMs":0}}}"#
        ),
        (
            "restoreStart",
            #"{"time":"\#(time)","type":"platform.restoreStart","record":{"functionName":"orders","functionVersion":"3","instanceId":"i-2","instanceMaxMemory":256,"runtimeVersion":"java21"}}"#
        ),
        (
            "restoreRuntimeDone",
            #"{"time":"\#(time)","type":"platform.restoreRuntimeDone","record":{"status":"failure","errorType":"Runtime.Unknown"}}"#
        ),
        (
            "restoreReport",
            #"{"time":"\#(time)","type":"platform.restoreReport","record":{"status":"success","metrics":{"durationMs":15.2}}}"#
        ),
        (
            "extensionState",
            #"{"time":"\#(time)","type":"platform.extension","record":{"name":"sluice","state":"Ready","events":["INVOKE","SHUTDOWN"]}}"#
        ),
        (
            "telemetrySubscription",
            #"{"time":"\#(time)","type":"platform.telemetrySubscription","record":{"name":"sluice","state":"Subscribed","types":["platform","function","extension"]}}"#
        ),
        (
            "logsDropped",
            #"{"time":"\#(time)","type":"platform.logsDropped","record":{"droppedBytes":4096,"droppedRecords":12,"reason":"Consumer seems to have fallen behind as it has not acknowledged receipt of logs."}}"#
        ),
        ("functionText", #"{"time":"\#(time)","type":"function","record":"[INFO] order 17 \"paid\"\n"}"#),
        (
            "functionJSON",
            #"{"time":"\#(time)","type":"function","record":{"timestamp":"\#(time)","level":"ERROR","requestId":"req-1","message":"payment failed","errorType":"CardDeclined"}}"#
        ),
        (
            "functionJSONObjectMessage",
            #"{"time":"\#(time)","type":"function","record":{"timestamp":"\#(time)","level":"INFO","requestId":"req-1","message":{"order":17,"total":9.5}}}"#
        ),
        ("extensionText", #"{"time":"\#(time)","type":"extension","record":"sluice: started"}"#),
        (
            "extensionJSON",
            #"{"time":"\#(time)","type":"extension","record":{"timestamp":"\#(time)","level":"INFO","message":"sluice is running"}}"#
        ),
    ]

    /// A delivery body holding `events`.
    public static func delivery(_ events: [String]) -> [UInt8] {
        Array(("[" + events.joined(separator: ",") + "]").utf8)
    }

    /// A delivery of `count` function log lines, each `marker-N`.
    public static func logLines(_ count: Int, marker: String, time: String = TelemetryFixtures.time) -> [UInt8] {
        delivery((0..<count).map { #"{"time":"\#(time)","type":"function","record":"\#(marker)-\#($0)"}"# })
    }
}
