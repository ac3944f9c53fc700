import AffinityCore
import CaptureStore
import Foundation
import Logging
import PostgresNIO

/// A capture as the fleet holds it: the host's own capture and the host it came from.
public struct FleetCapture: Sendable, Hashable {
    public var hostId: String
    public var capture: Capture
}

/// One fleet history page, newest first across hosts.
public struct FleetHistoryPage: Sendable, Hashable {
    public var captures: [FleetCapture]
    public var nextCursor: String?
}

/// Fleet `stats`: the host's shape plus how many hosts, and the counts per host.
public struct FleetStats: Sendable, Hashable {
    public var stats: Stats
    public var hosts: Int
    public var byHost: [String: Int]
}

/// What `fleet prune` dropped: whole month partitions, and the captures they held.
public struct FleetPruneReport: Sendable, Hashable {
    public var droppedPartitions: [String]
    public var droppedCaptures: Int
    public var keptPartitions: Int
    public var dryRun: Bool
}

/// The fleet's questions, answered across hosts from PostgreSQL, in the shapes of the host's own methods.
///
/// Order across hosts is `(capturedAt, id, hostId)` newest first: one host's ids are its own, so the host id
/// breaks the tie between two hosts' captures of the same millisecond and id.
public enum FleetQueries {
    public static func lastRoute(
        _ selector: CaptureSelector, hostId: String?, on connection: FleetConnection, timeout: Duration
    ) async throws(FleetError) -> FleetCapture? {
        try await connection.run(timeout: timeout) { pg, logger in
            var binds = PostgresBindings()
            binds.append(selector.value)
            var sql = "SELECT \(FleetColumns.list) FROM taas_capture.captures WHERE \(selector.column) = $1 AND autorouted"
            if let hostId {
                binds.append(hostId)
                sql += " AND host_id = $2"
            }
            sql += " ORDER BY captured_at DESC, id DESC, host_id DESC LIMIT 1"
            return try await FleetRow.captures(pg.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)).first
        }
    }

    public static func history(
        _ query: HistoryQuery, hostId: String?, on connection: FleetConnection, timeout: Duration
    ) async throws(FleetError) -> FleetHistoryPage {
        let limit = HistoryQuery.clampedLimit(Int64(query.limit))
        var bound = FleetCursor(capturedAt: query.until.map { $0 - 1 } ?? Int64.max, id: Int64.max, hostId: "\u{10FFFF}")
        if let text = query.cursor {
            guard let cursor = FleetCursor(decoding: text, scope: query.selector.scope) else {
                throw FleetError(.badTarget, "the cursor is not one of this selector's fleet history pages")
            }
            bound = cursor
        }
        let pageBound = bound
        let page = try await connection.run(timeout: timeout) { pg, logger in
            var binds = PostgresBindings()
            binds.append(query.selector.value)
            binds.append(query.since ?? Int64.min)
            binds.append(pageBound.capturedAt)
            binds.append(pageBound.id)
            binds.append(pageBound.hostId)
            binds.append(limit + 1)
            var sql = "SELECT \(FleetColumns.list) FROM taas_capture.captures WHERE \(query.selector.column) = $1 "
                + "AND captured_at >= $2 AND (captured_at, id, host_id) <= ($3, $4, $5)"
            if let hostId {
                binds.append(hostId)
                sql += " AND host_id = $7"
            }
            sql += " ORDER BY captured_at DESC, id DESC, host_id DESC LIMIT $6"
            return try await FleetRow.captures(pg.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger))
        }
        // The bound is inclusive (a cursor names the next row to show), so one row more tells if a page follows.
        guard page.count > limit else { return FleetHistoryPage(captures: page, nextCursor: nil) }
        let next = page[limit]
        let cursor = FleetCursor(capturedAt: next.capture.capturedAt, id: next.capture.id, hostId: next.hostId)
        return FleetHistoryPage(captures: Array(page.prefix(limit)), nextCursor: cursor.encoded(scope: query.selector.scope))
    }

    public static func stats(
        _ selector: CaptureSelector?, hostId: String?, since: Int64?, until: Int64?, on connection: FleetConnection,
        timeout: Duration
    ) async throws(FleetError) -> FleetStats {
        try await connection.run(timeout: timeout) { pg, logger in
            var binds = PostgresBindings()
            binds.append(since ?? Int64.min)
            binds.append(until ?? Int64.max)
            var filter = "captured_at >= $1 AND captured_at < $2"
            if let selector {
                binds.append(selector.value)
                filter += " AND \(selector.column) = $\(binds.count)"
            }
            if let hostId {
                binds.append(hostId)
                filter += " AND host_id = $\(binds.count)"
            }
            return try await pg.withTransaction(logger: logger) { pg in
                // One snapshot for both statements.
                try await pg.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY", logger: logger)
                var result = FleetStats(stats: Stats(), hosts: 0, byHost: [:])
                let totals = try await pg.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT count(*), count(DISTINCT session_id), count(DISTINCT agent_id), count(DISTINCT host_id),
                              min(captured_at), max(captured_at), count(*) FILTER (WHERE \(hasUsage)),
                              coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint,
                              coalesce(sum(cache_read_tokens), 0)::bigint, coalesce(sum(cache_write_tokens), 0)::bigint,
                              sum(cost_usd), sum(cache_saved_usd)
                            FROM taas_capture.captures WHERE \(filter)
                            """, binds: binds), logger: logger)
                for try await row in totals {
                    let r = try row.decode(
                        (Int64, Int64, Int64, Int64, Int64?, Int64?, Int64, Int64, Int64, Int64, Int64, Double?, Double?).self)
                    result.stats.total = Int(r.0)
                    result.stats.sessions = Int(r.1)
                    result.stats.agents = Int(r.2)
                    result.hosts = Int(r.3)
                    result.stats.firstCapturedAt = r.4
                    result.stats.lastCapturedAt = r.5
                    result.stats.usage = UsageTotals(
                        calls: Int(r.6), inputTokens: r.7, outputTokens: r.8, cacheReadTokens: r.9, cacheWriteTokens: r.10,
                        costUsd: r.11, cacheSavedUsd: r.12)
                }
                let groups = try await pg.query(
                    PostgresQuery(
                        unsafeSQL: """
                            SELECT host_id, \(servedModel), autorouter_algo, autorouter_algo_source, thinking_applied, count(*)
                            FROM taas_capture.captures WHERE \(filter) GROUP BY 1, 2, 3, 4, 5
                            """, binds: binds), logger: logger)
                for try await (host, model, algo, source, thinking, count) in groups.decode(
                    (String, String?, String?, String?, String?, Int64).self)
                {
                    let n = Int(count)
                    result.byHost[host, default: 0] += n
                    result.stats.byModel[model ?? Stats.unknown, default: 0] += n
                    result.stats.byAlgo[algo ?? Stats.unknown, default: 0] += n
                    result.stats.byAlgoSource[source ?? Stats.unknown, default: 0] += n
                    result.stats.byThinking[thinking ?? Stats.unknown, default: 0] += n
                }
                return result
            }
        }
    }

    /// Drops every month partition that ends at or before `now - maxAgeMs`: whole partitions only, so captures
    /// up to a month older than the age may stay until their month's partition goes.
    public static func prune(
        maxAgeMs: Int64, now: Int64, dryRun: Bool, on connection: FleetConnection, timeout: Duration
    ) async throws(FleetError) -> FleetPruneReport {
        let cutoff = now - maxAgeMs
        let partitions = try await FleetSchema.partitions(connection, timeout: timeout)
        let doomed = partitions.filter { $0.next.startMillis <= cutoff }
        let dropped = try await connection.run(timeout: timeout) { pg, logger in
            var captures = 0
            for partition in doomed {
                let count = try await pg.query(
                    PostgresQuery(unsafeSQL: "SELECT count(*) FROM taas_capture.\(partition.tableName)"), logger: logger)
                for try await n in count.decode(Int64.self) { captures += Int(n) }
                if !dryRun {
                    try await pg.withTransaction(logger: logger) { pg in
                        try await pg.query("SELECT pg_advisory_xact_lock(\(FleetSchema.lockKey))", logger: logger)
                        try await pg.query(
                            PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS taas_capture.\(partition.tableName)"), logger: logger)
                    }
                }
            }
            return captures
        }
        return FleetPruneReport(
            droppedPartitions: doomed.map(\.tableName), droppedCaptures: dropped,
            keptPartitions: partitions.count - doomed.count, dryRun: dryRun)
    }

    static let hasUsage =
        "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL OR cache_read_tokens IS NOT NULL OR cache_write_tokens IS NOT NULL)"
    static let servedModel = "(CASE WHEN autorouted THEN autorouter_model ELSE requested_model END)"
}

/// Reads rows selected with `FleetColumns.list`.
enum FleetRow {
    static func captures(_ rows: PostgresRowSequence) async throws -> [FleetCapture] {
        var result: [FleetCapture] = []
        for try await row in rows {
            let c = row.makeRandomAccess()
            func text(_ i: Int) throws -> String? { try c[i].decode(String?.self) }
            func int(_ i: Int) throws -> Int64? { try c[i].decode(Int64?.self) }
            func real(_ i: Int) throws -> Double? { try c[i].decode(Double?.self) }
            let fields = CaptureFields(
                taasRequestId: try text(5), taasTraceId: try text(6), openclawTurnId: try text(7),
                openclawAttempt: try text(8), autorouterModel: try text(9), autorouterAlgo: try text(10),
                autorouterAlgoSource: try text(11), thinkingApplied: try text(12),
                routedContextWindow: try c[13].decode(Int32?.self).map(Int.init))
            let usage = CallUsage(
                autorouted: try c[14].decode(Bool.self), provider: try text(15), requestedModel: try text(16),
                inputTokens: try int(17), outputTokens: try int(18), cacheReadTokens: try int(19),
                cacheWriteTokens: try int(20), costUsd: try real(21), cacheSavedUsd: try real(22), durationMs: try int(23),
                outcome: try text(24).flatMap(CallOutcome.init(rawValue:)))
            let capture = Capture(
                id: try c[1].decode(Int64.self), sessionId: try c[2].decode(String.self), agentId: try text(3),
                capturedAt: try c[4].decode(Int64.self), fields: fields, usage: usage)
            result.append(FleetCapture(hostId: try c[0].decode(String.self), capture: capture))
        }
        return result
    }
}

/// The position of the next row to show in a fleet history, bound to its selector.
struct FleetCursor: Sendable, Hashable {
    var capturedAt: Int64
    var id: Int64
    var hostId: String

    func encoded(scope: String) -> String {
        Base64URL.encode(Array("f1\n\(scope)\n\(capturedAt)\n\(id)\n\(hostId)".utf8))
    }

    init(capturedAt: Int64, id: Int64, hostId: String) {
        self.capturedAt = capturedAt
        self.id = id
        self.hostId = hostId
    }

    init?(decoding text: String, scope: String) {
        guard text.utf8.count <= 2048 else { return nil }
        guard let bytes = Base64URL.decode(text), let decoded = String(validating: bytes, as: UTF8.self) else { return nil }
        let parts = decoded.split(separator: "\n", maxSplits: 4, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5, parts[0] == "f1", parts[1] == scope, let t = Int64(parts[2]), let i = Int64(parts[3]) else {
            return nil
        }
        self.init(capturedAt: t, id: i, hostId: parts[4])
    }
}

/// One forwarding host as the fleet knows it.
public struct FleetHost: Sendable, Hashable {
    public var hostId: String
    public var forwardedThrough: Int64
    public var firstSeenAt: Int64
    public var lastForwardAt: Int64?
}

extension FleetQueries {
    /// Every host that has forwarded, with its mark and when it last forwarded, by host id.
    public static func hosts(on connection: FleetConnection, timeout: Duration) async throws(FleetError) -> [FleetHost] {
        try await connection.run(timeout: timeout) { pg, logger in
            var hosts: [FleetHost] = []
            let rows = try await pg.query(
                "SELECT host_id, forwarded_through, first_seen_at, last_forward_at FROM taas_capture.hosts ORDER BY host_id",
                logger: logger)
            for try await (id, through, first, last) in rows.decode((String, Int64, Int64, Int64?).self) {
                hosts.append(FleetHost(hostId: id, forwardedThrough: through, firstSeenAt: first, lastForwardAt: last))
            }
            return hosts
        }
    }
}
