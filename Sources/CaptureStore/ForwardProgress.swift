import AffinityCore

/// How far this host's captures have reached the fleet (the `forward_progress` row of schema 3).
public struct ForwardProgress: Sendable, Hashable {
    public var hostId: String
    /// Every capture with an id at or below this is in the fleet's PostgreSQL.
    public var forwardedThrough: Int64
    /// Captures `maxRows` removed before they were forwarded, since forwarding was configured.
    public var droppedUnforwarded: Int64

    public init(hostId: String, forwardedThrough: Int64, droppedUnforwarded: Int64) {
        self.hostId = hostId
        self.forwardedThrough = forwardedThrough
        self.droppedUnforwarded = droppedUnforwarded
    }
}

/// A change to the forwarding row, made by the writer.
public enum ForwardingChange: Sendable, Hashable {
    /// Forwarding is configured for `hostId`: keeps the row's mark, or starts at 0 (a new or changed host id).
    case start(hostId: String)
    /// Forwarding is not configured: retention no longer waits for it.
    case stop
    /// The fleet confirmed every capture through `id`.
    case forwarded(through: Int64)
}

extension Connection {
    func forwardProgress() throws(StoreError) -> ForwardProgress? {
        let statement = try prepare("SELECT host_id, forwarded_through, dropped_unforwarded FROM forward_progress WHERE slot = 1")
        defer { statement.reset() }
        guard try statement.step() else { return nil }
        return ForwardProgress(
            hostId: statement.string(at: 0), forwardedThrough: statement.int64(at: 1),
            droppedUnforwarded: statement.int64(at: 2))
    }
}

extension CaptureWriter {
    /// Applies `change` in its own short transaction.
    public func applyForwarding(_ change: ForwardingChange, now: Int64) throws(StoreError) {
        // BEGIN IMMEDIATE, as every write of the writer, so the route cache sees the commit as this writer's.
        try connection.transaction(.immediate) { () throws(StoreError) in try forwardingStatement(change, now: now).run() }
    }

    private func forwardingStatement(_ change: ForwardingChange, now: Int64) throws(StoreError) -> Statement {
        let statement: Statement
        switch change {
        case .start(let hostId):
            statement = try connection.prepare(
                "INSERT INTO forward_progress (slot, host_id, forwarded_through, updated_at) VALUES (1, ?1, 0, ?2) "
                    + "ON CONFLICT (slot) DO UPDATE SET forwarded_through = CASE WHEN host_id = excluded.host_id "
                    + "THEN forwarded_through ELSE 0 END, host_id = excluded.host_id, updated_at = excluded.updated_at")
            try statement.bind(hostId, at: 1)
            try statement.bind(now, at: 2)
        case .stop:
            statement = try connection.prepare("DELETE FROM forward_progress")
        case .forwarded(let through):
            statement = try connection.prepare(
                "UPDATE forward_progress SET forwarded_through = ?1, updated_at = ?2 WHERE slot = 1")
            try statement.bind(through, at: 1)
            try statement.bind(now, at: 2)
        }
        return statement
    }

    /// The forwarding row, if forwarding is configured.
    public func forwardProgress() throws(StoreError) -> ForwardProgress? {
        try connection.forwardProgress()
    }
}

extension CaptureReader {
    /// Up to `limit` captures with ids above `id`, in id order: what the forwarder ships next.
    public func captures(after id: Int64, limit: Int) throws(StoreError) -> [Capture] {
        let statement = try connection.prepare(
            "SELECT \(CaptureRow.columns) FROM captures WHERE id > ?1 ORDER BY id LIMIT ?2")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(Int64(limit), at: 2)
        var result: [Capture] = []
        result.reserveCapacity(limit)
        while try statement.step() { result.append(statement.capture()) }
        return result
    }

    /// How many captures have ids above `id`, counted up to `cap` (a range of the rowid: cheap while small).
    public func countCaptures(after id: Int64, cap: Int = 10_000_000) throws(StoreError) -> Int {
        let statement = try connection.prepare("SELECT count(*) FROM (SELECT 1 FROM captures WHERE id > ?1 LIMIT ?2)")
        defer { statement.reset() }
        try statement.bind(id, at: 1)
        try statement.bind(Int64(cap), at: 2)
        return try statement.step() ? Int(statement.int64(at: 0)) : 0
    }

    /// The forwarding row, if forwarding is configured.
    public func forwardProgress() throws(StoreError) -> ForwardProgress? {
        try connection.forwardProgress()
    }
}
