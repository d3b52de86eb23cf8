extension Spool {
    /// The random id of the execution environment that owns this spool (made with the file).
    public func environmentID() throws -> String {
        try read("reading the environment id") { state in
            let select = try state.connection.statement("SELECT value FROM meta WHERE key = 'environment_id'")
            defer { select.reset() }
            guard try select.step() else {
                throw SpoolError(
                    .migrationFailed, "the spool at \(path) has no environment id; move the file aside and restart")
            }
            return select.string(at: 0)
        }
    }

    /// Counts deliveries refused as malformed, so `sluice spool stats` shows them after a restart.
    public func recordMalformed(_ deliveries: Int = 1) throws {
        try write("counting a malformed delivery") { state in
            try Self.bump(state.connection, "malformed", by: deliveries)
        }
    }

    /// Records waiting to ship (due or not, leased or not); costs no query.
    public var waitingCount: Int {
        state.withLock { $0.totals.rows }
    }

    /// When the earliest record waiting for a retry becomes due (ms since the epoch), or nil when
    /// none waits for a retry.
    public func nextRetryDue() throws -> Int64? {
        try read("reading the next retry time") { state in
            try state.connection.scalar("SELECT min(due_at) FROM records WHERE attempts > 0")
        }
    }
}

extension Spool {
    /// Makes every record waiting for a retry due now: at SHUTDOWN a backoff would outlast the
    /// environment. Returns how many were rescheduled.
    @discardableResult
    public func makeRetriesDue() throws -> Int {
        let now = clock.now()
        return try write("making retries due") { state in
            let update = try state.connection.statement(
                "UPDATE records SET due_at = ? WHERE attempts > 0 AND due_at > ?")
            defer { update.reset() }
            update.bind(now, at: 1)
            update.bind(now, at: 2)
            try update.step()
            return state.connection.changes
        }
    }
}
