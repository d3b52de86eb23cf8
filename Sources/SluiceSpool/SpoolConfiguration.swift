public import SluiceTime

/// How a spool is stored and bounded. Every field has the default the extension uses.
public struct SpoolConfiguration: Sendable {
    /// Where the extension keeps its spool unless told otherwise.
    public static let defaultPath = "/tmp/sluice/spool.sqlite"

    /// The SQLite file; its folder is created (0700) when missing.
    public var path: String
    /// The most document bytes (live records plus dead letters) the spool keeps; past it the
    /// overflow policy decides what goes. Counted on document bytes, not on the file size.
    public var capBytes: Int
    /// What gives way when the cap is reached.
    public var overflowPolicy: OverflowPolicy
    /// A hard limit on the file (SQLite's `max_page_count`): an append that would pass it fails with
    /// `SpoolError.Code.diskFull` and writes nothing. `nil` leaves the disk as the only limit.
    public var maxFileBytes: Int?
    /// How long a leased record stays with its shipper before it may be leased again.
    public var leaseMilliseconds: Int64
    /// How long a call waits for another connection's lock (the CLI, say) before failing.
    public var busyTimeoutMilliseconds: Int32
    /// The wall clock; tests pass a manual one.
    public var clock: WallClock

    public init(
        path: String = SpoolConfiguration.defaultPath,
        capBytes: Int = 64 << 20,
        overflowPolicy: OverflowPolicy = .dropOldest,
        maxFileBytes: Int? = nil,
        leaseMilliseconds: Int64 = 60_000,
        busyTimeoutMilliseconds: Int32 = 5_000,
        clock: WallClock = .system
    ) {
        self.path = path
        self.capBytes = capBytes
        self.overflowPolicy = overflowPolicy
        self.maxFileBytes = maxFileBytes
        self.leaseMilliseconds = leaseMilliseconds
        self.busyTimeoutMilliseconds = busyTimeoutMilliseconds
        self.clock = clock
    }
}

/// What the spool does when an append would take it past its cap.
public enum OverflowPolicy: String, Sendable, CaseIterable {
    /// Make room by dropping the oldest dead letters, then the oldest records (the default:
    /// fresh telemetry is usually worth more than telemetry that waited for an hour).
    case dropOldest = "drop-oldest"
    /// Keep what is stored; drop the new records that do not fit.
    case rejectNew = "reject-new"
}
