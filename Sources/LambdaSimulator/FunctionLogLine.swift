/// One line the simulated function writes to its log, and how its runtime writes it out.
///
/// The simulator appends a unique marker to every line (and `padding` bytes after it), so the
/// ledger can tell which invocation and phase each delivered line belongs to however it was rendered.
public struct FunctionLogLine: Sendable, Hashable {
    /// How the runtime renders the line with the text log format (and, for `print`, with JSON too).
    public enum Style: String, Sendable, Hashable {
        /// The Node.js runtime's console: `<time>\t<requestId>\t<LEVEL>\t<message>`, with `undefined`
        /// for the request id outside an invocation.
        case node
        /// Python's `logging` in the Python runtime: `[LEVEL]\t<time>\t<requestId>\t<message>`.
        case python
        /// A bare `print()` (or a write to stdout): the message alone, no request id and no level.
        /// Lambda captures it as plain text even with the JSON log format, so a JSON-format function
        /// that prints mixes string and object records.
        case print
    }

    public var text: String
    public var style: Style
    /// The level a logger gives the line (`INFO`, `ERROR`, `FATAL`, …); nil for a `print` line, which has none.
    public var level: String?
    /// Fields a structured logger adds beside the message (`orderId`, …): keys of the record object
    /// with the JSON log format; text formats do not show them.
    public var fields: [String: JSON]
    /// Written by the handler's background work after the runtime's response, that is after
    /// `platform.runtimeDone` and before the invocation ends. Init and shutdown lines ignore it.
    public var afterRuntimeDone: Bool
    public var padding: Int

    public init(
        _ text: String = "log line", style: Style = .node, level: String = "INFO", fields: [String: JSON] = [:],
        afterRuntimeDone: Bool = false, padding: Int = 0
    ) {
        self.text = text
        self.style = style
        self.level = style == .print ? nil : level
        self.fields = style == .print ? [:] : fields
        self.afterRuntimeDone = afterRuntimeDone
        self.padding = padding
    }

    /// A line as `print()` writes it.
    public static func print(_ text: String = "plain print line", afterRuntimeDone: Bool = false) -> FunctionLogLine {
        FunctionLogLine(text, style: .print, afterRuntimeDone: afterRuntimeDone)
    }

    /// `count` INFO lines `line N of count`, the lines ``LambdaSimulator/invoke(logLines:logLinePadding:handlerDuration:)`` writes.
    public static func numbered(_ count: Int, padding: Int = 0) -> [FunctionLogLine] {
        (0..<count).map { FunctionLogLine("line \($0 + 1) of \(count)", padding: padding) }
    }

    /// Counted as an error line of its invocation (ERROR or FATAL).
    var isError: Bool { level.map { ["ERROR", "FATAL"].contains($0.uppercased()) } ?? false }
}
