/// The ingest tail (`captures_recent`, schema 4): `record` appends there, and the writer moves it into the
/// indexed `captures` table in large batches, where many captures share each index leaf they dirty.
/// https://www.sqlite.org/lang_insert.html (INSERT … SELECT)
extension CaptureWriter {
    /// Captures a move takes by default: large enough that the captures share index leaves (BENCHMARKS.md,
    /// "The ingest tail"), small enough that the move's transaction stays short.
    public static let defaultMoveBatch = 4096

    private static let moveSQL = """
        INSERT INTO captures (\(CaptureWriter.allColumns)) \
        SELECT \(CaptureWriter.allColumns) FROM captures_recent WHERE id <= ?1 ORDER BY id
        """
    static let allColumns = """
        id, session_id, agent_id, captured_at, taas_request_id, taas_trace_id, openclaw_turn_id, openclaw_attempt, \
        autorouter_model, autorouter_algo, autorouter_algo_source, thinking_applied, routed_context_window, \
        dedupe_key, autorouted, provider, requested_model, input_tokens, output_tokens, cache_read_tokens, \
        cache_write_tokens, cost_usd, cache_saved_usd, duration_ms, outcome
        """

    /// Lists what `captures_recent` holds into `tail` (at open: the tail survives restarts and crashes).
    func listTail() throws(StoreError) {
        tail.removeAll()
        let statement = try connection.prepare(
            "SELECT id, captured_at, autorouted, session_id, agent_id, dedupe_key FROM captures_recent ORDER BY id")
        defer { statement.reset() }
        var rows: [TailRow] = []
        while try statement.step() {
            rows.append(
                TailRow(
                    entry: TailEntry(id: statement.int64(at: 0), capturedAt: statement.int64(at: 1), autorouted: statement.int64(at: 2) != 0),
                    sessionId: statement.string(at: 3), agentId: statement.optionalString(at: 4),
                    dedupeKey: statement.optionalString(at: 5)))
        }
        tail.publish(rows)
    }

    /// Moves the oldest `limit` captures of the tail with `id <= cap` (all of them, if fewer) into `captures` in
    /// one transaction; returns how many moved.
    @discardableResult
    public func moveTail(limit: Int = CaptureWriter.defaultMoveBatch, cap: Int64 = Int64.max) throws(StoreError) -> Int {
        let moved = try connection.transaction(.immediate) { () throws(StoreError) -> (count: Int, through: Int64)? in
            let last = try connection.prepare("SELECT id FROM captures_recent WHERE id <= ?2 ORDER BY id LIMIT 1 OFFSET ?1")
            defer { last.reset() }
            try last.bind(Int64(max(1, limit) - 1), at: 1)
            try last.bind(cap, at: 2)
            var through: Int64?
            if try last.step() { through = last.int64(at: 0) }
            last.reset()
            if through == nil {
                let newest = try connection.prepare("SELECT max(id) FROM captures_recent WHERE id <= ?1")
                defer { newest.reset() }
                try newest.bind(cap, at: 1)
                if try newest.step() { through = newest.optionalInt64(at: 0) }
            }
            guard let through else { return nil }
            let move = try connection.prepare(Self.moveSQL)
            try move.bind(through, at: 1)
            try move.run()
            let count = connection.changes
            let delete = try connection.prepare("DELETE FROM captures_recent WHERE id <= ?1")
            try delete.bind(through, at: 1)
            try delete.run()
            return (count, through)
        }
        guard let moved else {
            // The table is empty (another process may have moved it); nothing was published since, on this thread.
            tail.removeAll()
            return 0
        }
        tail.remove(through: moved.through)
        return moved.count
    }

    /// Moves the whole tail as it is now, a batch per transaction, running `betweenBatches` after each commit
    /// (where the caller may commit waiting records; those stay in the tail).
    public func moveWholeTail(betweenBatches: () -> Void = {}) throws(StoreError) {
        guard let cap = try connection.scalarInt("SELECT max(id) FROM captures_recent") else { return }
        // A batch short of full was the last one under the cap.
        while try moveTail(cap: cap) == Self.defaultMoveBatch { betweenBatches() }
    }
}
