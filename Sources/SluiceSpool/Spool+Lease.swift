extension Spool {
    /// Hands out the oldest due records, up to `maxCount` records and `maxBytes` document bytes
    /// (at least one record, however large, so a big document cannot stall the queue). Leased
    /// records are not handed out again until settled, released, or the lease expires.
    public func lease(maxCount: Int, maxBytes: Int) throws -> [StoredRecord] {
        guard maxCount > 0 else { return [] }
        let now = clock.now()
        let expiry = now + configuration.leaseMilliseconds
        return try write("leasing records") { state in
            let select = try state.connection.statement(
                """
                SELECT seq, doc_id, index_name, event_time, received_at, attempts, last_error, document
                FROM records WHERE due_at <= ? ORDER BY due_at, seq LIMIT ?
                """)
            select.bind(now, at: 1)
            select.bind(maxCount, at: 2)
            var records: [StoredRecord] = []
            var bytes = 0
            while try select.step() {
                let document = select.bytes(at: 7)
                if !records.isEmpty && bytes + document.count > maxBytes { break }
                bytes += document.count
                records.append(
                    StoredRecord(
                        seq: select.int64(at: 0), id: select.string(at: 1), index: select.string(at: 2),
                        eventTime: select.int64(at: 3), receivedAt: select.int64(at: 4), dueAt: expiry,
                        leased: true, attempts: select.int(at: 5), lastError: select.optionalString(at: 6),
                        document: document))
            }
            select.reset()
            let mark = try state.connection.statement("UPDATE records SET due_at = ?, leased = 1 WHERE seq = ?")
            for record in records {
                mark.reset()
                mark.bind(expiry, at: 1)
                mark.bind(record.seq, at: 2)
                try mark.step()
            }
            return records
        }
    }

    /// Records what became of leased records, all in one transaction.
    @discardableResult
    public func settle(_ outcomes: [(seq: Int64, settlement: Settlement)]) throws -> SettleResult {
        let now = clock.now()
        return try write("settling \(outcomes.count) records") { state in
            var result = SettleResult()
            let connection = state.connection
            let delete = try connection.statement("DELETE FROM records WHERE seq = ? RETURNING bytes")
            let retry = try connection.statement(
                "UPDATE records SET due_at = ?, leased = 0, attempts = attempts + 1, last_error = ? WHERE seq = ?")
            let bury = try connection.statement(
                """
                INSERT INTO dead_letters
                    (doc_id, index_name, event_time, received_at, died_at, attempts, error_type, reason, bytes, document)
                SELECT doc_id, index_name, event_time, received_at, ?, attempts + 1, ?, ?, bytes, document
                FROM records WHERE seq = ?
                """)
            for (seq, settlement) in outcomes {
                switch settlement {
                case .shipped, .deadLetter:
                    if case .deadLetter(let reason, let errorType) = settlement {
                        bury.reset()
                        bury.bind(now, at: 1)
                        bury.bind(errorType, at: 2)
                        bury.bind(reason, at: 3)
                        bury.bind(seq, at: 4)
                        try bury.step()
                        guard connection.changes == 1 else {
                            result.missing += 1
                            continue
                        }
                    }
                    delete.reset()
                    delete.bind(seq, at: 1)
                    guard try delete.step() else {
                        result.missing += 1
                        continue
                    }
                    let bytes = delete.int(at: 0)
                    while try delete.step() {}
                    state.rows -= 1
                    state.bytes -= bytes
                    if case .shipped = settlement {
                        result.shipped += 1
                    } else {
                        state.deadRows += 1
                        state.deadBytes += bytes
                        result.deadLettered += 1
                    }
                case .retry(let at, let error):
                    retry.reset()
                    retry.bind(at, at: 1)
                    retry.bind(error, at: 2)
                    retry.bind(seq, at: 3)
                    try retry.step()
                    if connection.changes == 1 { result.retried += 1 } else { result.missing += 1 }
                }
            }
            delete.reset()
            try Self.bump(connection, "shipped", by: result.shipped)
            try Self.bump(connection, "retried", by: result.retried)
            try Self.bump(connection, "dead_lettered", by: result.deadLettered)
            return result
        }
    }

    /// Gives leased records back, due now, without counting an attempt (a response that could not be
    /// read, or a shutdown before the request went out).
    public func release(_ seqs: [Int64]) throws {
        let now = clock.now()
        try write("releasing \(seqs.count) leases") { state in
            let release = try state.connection.statement(
                "UPDATE records SET due_at = min(due_at, ?), leased = 0 WHERE seq = ? AND leased = 1")
            for seq in seqs {
                release.reset()
                release.bind(now, at: 1)
                release.bind(seq, at: 2)
                try release.step()
            }
        }
    }

    /// Takes back every lease, due now: for the owner at start, since a lease from an earlier
    /// process (one killed in the middle of a bulk request) has no shipper any more.
    @discardableResult
    public func releaseAllLeases() throws -> Int {
        let now = clock.now()
        return try write("releasing leases") { state in
            let release = try state.connection.statement(
                "UPDATE records SET due_at = min(due_at, ?), leased = 0 WHERE leased = 1")
            release.bind(now, at: 1)
            try release.step()
            return state.connection.changes
        }
    }

    /// Counts what is still in the spool as left at shutdown; returns that number.
    @discardableResult
    public func recordShutdown() throws -> Int {
        try write("recording the shutdown") { state in
            try Self.bump(state.connection, "left_at_shutdown", by: state.rows)
            return state.rows
        }
    }
}
