/// The bounds the telemetry listener holds every connection to, so that a process in the sandbox
/// that misbehaves (hundreds of idle or slow connections, huge headers, a body that never ends)
/// costs a bounded amount of memory and never stops the platform's deliveries.
///
/// Time limits count only time the process was running: a freeze of the environment does not
/// make the platform's kept-alive connection look idle when it thaws.
public struct ListenerLimits: Sendable, Equatable {
    /// A body over this is refused with 413 as soon as its Content-Length arrives (or, without
    /// one, as soon as it passes the limit), never read into memory.
    public var maxBodyBytes: Int
    /// Header fields per request; more is answered 431.
    public var maxHeaderCount: Int
    /// Bytes of header names and values per request (and per field); more is answered 431.
    public var maxHeaderBytes: Int
    /// Connections open at once. A new connection at the limit closes one that never had a request
    /// answered (idle the longest, else the slowest to send its request) before one that had, so
    /// that a flood of idle connections can neither lock the platform out nor close its kept-alive
    /// connection under it.
    public var maxConnections: Int
    /// A connection with no request for this long is closed.
    public var idleTimeout: Duration
    /// A request whose head and body have not all arrived this long after its head is answered
    /// 408 and closed.
    public var requestTimeout: Duration
    /// How often the limits on time are checked.
    public var tick: Duration

    public init(
        maxBodyBytes: Int, maxHeaderCount: Int = 64, maxHeaderBytes: Int = 16 << 10, maxConnections: Int = 64,
        idleTimeout: Duration = .seconds(30), requestTimeout: Duration = .seconds(10), tick: Duration = .seconds(1)
    ) {
        self.maxBodyBytes = maxBodyBytes
        self.maxHeaderCount = maxHeaderCount
        self.maxHeaderBytes = maxHeaderBytes
        self.maxConnections = maxConnections
        self.idleTimeout = idleTimeout
        self.requestTimeout = requestTimeout
        self.tick = tick
    }
}

/// What the listener refused or closed, by reason, since it started.
public struct ListenerRefusals: Sendable, Equatable {
    /// Bodies over the limit (413).
    public var tooLarge = 0
    /// Requests with too many or too large headers (431).
    public var headersTooLarge = 0
    /// Bytes that are not HTTP/1.1 (400).
    public var malformed = 0
    /// Requests that did not arrive in time (408).
    public var timedOut = 0
    /// Connections closed for being idle too long.
    public var idleClosed = 0
    /// Connections closed to make room for a new one, or refused at the limit.
    public var evicted = 0

    public init() {}

    /// Every refusal and closing, summed.
    public var total: Int { tooLarge + headersTooLarge + malformed + timedOut + idleClosed + evicted }
}
