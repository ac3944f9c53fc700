import AffinityCore

/// How hard a commit tries to reach the disk: https://www.sqlite.org/pragma.html#pragma_synchronous
public enum Durability: String, Sendable, CaseIterable {
    /// WAL with `synchronous=NORMAL`: survives a killed process; the last commits may be lost on power loss.
    case normal
    /// WAL with `synchronous=FULL`: every commit is on disk before `record` returns.
    case full

    /// The pragma that sets it on a connection; the writer's and the checkpointer's are the same.
    var synchronousPragma: String {
        switch self {
        case .normal: "PRAGMA synchronous = NORMAL"
        case .full: "PRAGMA synchronous = FULL"
        }
    }
}

/// Retention rules; each is off when 0. Whichever bites first removes a capture.
public struct RetentionPolicy: Sendable, Hashable {
    /// Captures with `capturedAt < now - maxAgeMs` are removed.
    public var maxAgeMs: Int64
    /// Keeps exactly the newest N captures of each session.
    public var maxPerSession: Int
    /// Keeps at most N captures in total, removing the oldest first.
    public var maxRows: Int

    public init(maxAgeMs: Int64, maxPerSession: Int, maxRows: Int) {
        self.maxAgeMs = maxAgeMs
        self.maxPerSession = maxPerSession
        self.maxRows = maxRows
    }

    /// 30 days, 1000 per session, 5,000,000 rows (SPEC "Retention").
    public static let `default` = RetentionPolicy(maxAgeMs: 30 * 24 * 3_600_000, maxPerSession: 1000, maxRows: 5_000_000)
}

/// A capture to store. `dedupeKey` = idempotencyKey ?? fields.taasRequestId; nil = always store.
public struct NewCapture: Sendable, Hashable {
    public var sessionId: String
    public var agentId: String?
    /// Milliseconds since the Unix epoch.
    public var capturedAt: Int64
    public var fields: CaptureFields
    public var usage: CallUsage
    /// What started the run, its channel, time to first byte and failure kind (schema 6).
    public var attribution: CallAttribution
    public var idempotencyKey: String?

    public init(
        sessionId: String, agentId: String?, capturedAt: Int64, fields: CaptureFields, usage: CallUsage = CallUsage(),
        attribution: CallAttribution = CallAttribution(), idempotencyKey: String?
    ) {
        self.sessionId = sessionId
        self.agentId = agentId
        self.capturedAt = capturedAt
        self.fields = fields
        self.usage = usage
        self.attribution = attribution
        self.idempotencyKey = idempotencyKey
    }

    /// The key that makes a repeated record a duplicate within its session.
    public var dedupeKey: String? { idempotencyKey ?? fields.taasRequestId }
}

/// What `record` did with one capture: stored it under `id`, or found it already stored under `id`.
public struct RecordOutcome: Sendable, Hashable {
    public var id: Int64
    public var duplicate: Bool
    /// Whether the stored capture changed its session's route (false for a duplicate).
    public var routeChanged: Bool

    public init(id: Int64, duplicate: Bool, routeChanged: Bool = false) {
        self.id = id
        self.duplicate = duplicate
        self.routeChanged = routeChanged
    }
}

/// Which captures a query is about.
public enum CaptureSelector: Sendable, Hashable {
    case session(String)
    case agent(String)

    /// The selector the SPEC's precedence picks: `agentId` > `sessionId` > the session derived from
    /// `localSessionId` / `workspaceDir` (tiers 1–2); nil when none is given. `workspaceDir` must already be
    /// absolute (callers refuse or resolve a relative one first).
    public static func resolving(
        agentId: String?, sessionId: String?, localSessionId: String?, workspaceDir: String?
    ) -> CaptureSelector? {
        if let agentId { return .agent(agentId) }
        if let sessionId { return .session(sessionId) }
        guard localSessionId != nil || workspaceDir != nil else { return nil }
        let input = SessionIdentityInput(localSessionId: localSessionId, workspaceDir: workspaceDir, cwd: "/")
        return .session(SessionIdentity.derive(from: input).sessionId)
    }
}

/// One page of history, newest first.
public struct HistoryQuery: Sendable, Hashable {
    public var selector: CaptureSelector
    /// Within `limits` (validated by the caller; the store clamps).
    public var limit: Int
    /// Opaque, from a previous page's `nextCursor` for the same selector.
    public var cursor: String?
    /// since <= capturedAt
    public var since: Int64?
    /// capturedAt < until
    public var until: Int64?

    /// Captures one page may hold, and how many a page holds when the caller does not say.
    public static let limits: ClosedRange<Int> = 1...1000
    public static let defaultLimit = 50

    /// `requested` clamped into `limits` (the default when nil): the page size a request will get.
    public static func clampedLimit(_ requested: Int64?) -> Int {
        guard let requested else { return defaultLimit }
        return Int(min(max(requested, Int64(limits.lowerBound)), Int64(limits.upperBound)))
    }

    public init(selector: CaptureSelector, limit: Int = HistoryQuery.defaultLimit, cursor: String? = nil, since: Int64? = nil, until: Int64? = nil) {
        self.selector = selector
        self.limit = limit
        self.cursor = cursor
        self.since = since
        self.until = until
    }
}

/// Captures newest first, and the cursor of the next page (nil on the last page).
public struct HistoryPage: Sendable, Hashable {
    public var captures: [Capture]
    public var nextCursor: String?

    public init(captures: [Capture], nextCursor: String?) {
        self.captures = captures
        self.nextCursor = nextCursor
    }
}

/// Counts over the selected captures. `agents` counts distinct non-null agent ids.
public struct Stats: Sendable, Hashable {
    public var total: Int
    public var sessions: Int
    public var agents: Int
    public var firstCapturedAt: Int64?
    public var lastCapturedAt: Int64?
    /// Each keyed by the field's value; a null value is counted under `Stats.unknown`.
    public var byModel: [String: Int]
    public var byAlgo: [String: Int]
    public var byAlgoSource: [String: Int]
    public var byThinking: [String: Int]
    public var usage: UsageTotals
    /// Route changes among the selected captures (SPEC v3 `routeChanges`); nil where the store keeps none (the fleet).
    public var routeChanges: Int?
    /// With `groupBy`: the groups, most captures first; nil otherwise.
    public var groups: [StatsGroup]?

    /// The key under which captures without a value are counted.
    public static let unknown = "unknown"

    public init(
        total: Int = 0, sessions: Int = 0, agents: Int = 0, firstCapturedAt: Int64? = nil, lastCapturedAt: Int64? = nil,
        byModel: [String: Int] = [:], byAlgo: [String: Int] = [:], byAlgoSource: [String: Int] = [:],
        byThinking: [String: Int] = [:], usage: UsageTotals = UsageTotals(), routeChanges: Int? = nil
    ) {
        self.routeChanges = routeChanges
        self.total = total
        self.sessions = sessions
        self.agents = agents
        self.firstCapturedAt = firstCapturedAt
        self.lastCapturedAt = lastCapturedAt
        self.byModel = byModel
        self.byAlgo = byAlgo
        self.byAlgoSource = byAlgoSource
        self.byThinking = byThinking
        self.usage = usage
    }
}

/// Usage summed over the captures that have it (`calls`: captures with any token count). The money
/// sums cover the captures that report them, and are nil when none does.
public struct UsageTotals: Sendable, Hashable {
    public var calls: Int
    public var inputTokens: Int64
    public var outputTokens: Int64
    public var cacheReadTokens: Int64
    public var cacheWriteTokens: Int64
    public var costUsd: Double?
    public var cacheSavedUsd: Double?

    public init(
        calls: Int = 0, inputTokens: Int64 = 0, outputTokens: Int64 = 0, cacheReadTokens: Int64 = 0,
        cacheWriteTokens: Int64 = 0, costUsd: Double? = nil, cacheSavedUsd: Double? = nil
    ) {
        self.calls = calls
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUsd = costUsd
        self.cacheSavedUsd = cacheSavedUsd
    }

    /// Adds `other`'s captures to these (a money sum stays nil only when both are).
    public static func += (lhs: inout UsageTotals, rhs: UsageTotals) {
        lhs.calls += rhs.calls
        lhs.inputTokens += rhs.inputTokens
        lhs.outputTokens += rhs.outputTokens
        lhs.cacheReadTokens += rhs.cacheReadTokens
        lhs.cacheWriteTokens += rhs.cacheWriteTokens
        if let cost = rhs.costUsd { lhs.costUsd = (lhs.costUsd ?? 0) + cost }
        if let saved = rhs.cacheSavedUsd { lhs.cacheSavedUsd = (lhs.cacheSavedUsd ?? 0) + saved }
    }

    /// cacheRead / (input + cacheRead + cacheWrite) over these captures, nil when that sum is 0.
    public var cacheHitRatio: Double? {
        CallUsage.cacheHitRatio(input: inputTokens, cacheRead: cacheReadTokens, cacheWrite: cacheWriteTokens)
    }
}

/// What a prune removed (or, for a dry run, would remove). Each row is counted once, under the first rule
/// (age, perSession, rows) that removed it.
public struct PruneReport: Sendable, Hashable {
    public var deleted: Int
    public var remaining: Int
    public var byAge: Int
    public var byPerSession: Int
    public var byRows: Int
    /// Of `byRows`, the captures not yet forwarded to the fleet (0 when forwarding is off): only `maxRows`
    /// removes those.
    public var unforwarded: Int
    public var durationMs: Int64
    public var dryRun: Bool
    /// The prune ended early (the service stopping): the next one removes the rest. Not in the SPEC's result.
    public var stopped: Bool

    public init(
        deleted: Int, remaining: Int, byAge: Int, byPerSession: Int, byRows: Int, unforwarded: Int = 0,
        durationMs: Int64, dryRun: Bool, stopped: Bool = false
    ) {
        self.stopped = stopped
        self.unforwarded = unforwarded
        self.deleted = deleted
        self.remaining = remaining
        self.byAge = byAge
        self.byPerSession = byPerSession
        self.byRows = byRows
        self.durationMs = durationMs
        self.dryRun = dryRun
    }
}

/// The database's size and state, for `taas.capture.health` and `doctor`.
public struct StoreHealth: Sendable, Hashable {
    public var captures: Int
    public var schemaVersion: Int
    /// page_count * page_size of the main file.
    public var dbBytes: Int64
    /// Size of the `-wal` file (0 when absent).
    public var walBytes: Int64
    /// The forwarding row, while forwarding is configured.
    public var forward: ForwardProgress?
    /// Captures not yet folded into the stats rollups (schema 4); queries read those one by one.
    public var rollupsBehind: Int

    public init(
        captures: Int, schemaVersion: Int, dbBytes: Int64, walBytes: Int64, forward: ForwardProgress? = nil,
        rollupsBehind: Int = 0
    ) {
        self.forward = forward
        self.rollupsBehind = rollupsBehind
        self.captures = captures
        self.schemaVersion = schemaVersion
        self.dbBytes = dbBytes
        self.walBytes = walBytes
    }
}

/// What `stats` groups by (SPEC v2 "Operators' views").
public enum StatsGrouping: String, Sendable, Hashable, CaseIterable {
    case agent, session, model, trigger, channel
}

/// One group of a grouped `stats`: its captures' counts, times and usage, and the model that served it last.
public struct StatsGroup: Sendable, Hashable {
    /// Groups one `stats` may return, and how many when the caller does not say.
    public static let limits: ClosedRange<Int> = 1...1000
    public static let defaultLimit = 50

    /// The agent id, session id, served model, trigger or channel (`Stats.unknown` for captures without one).
    public var key: String
    public var captures: Int
    public var firstCapturedAt: Int64
    public var lastCapturedAt: Int64
    /// The autorouter's model of the group's newest routed capture (for a model group, the model itself).
    public var lastModel: String?
    /// Since when `lastModel` has served the group without a routed capture of another model in between.
    public var modelSince: Int64?
    /// Distinct served models in the group.
    public var models: Int
    public var usage: UsageTotals
    /// Route changes among the group's captures; nil where the store keeps none (the fleet).
    public var routeChanges: Int?

    public init(
        key: String, captures: Int, firstCapturedAt: Int64, lastCapturedAt: Int64, lastModel: String?,
        modelSince: Int64?, models: Int, usage: UsageTotals, routeChanges: Int? = nil
    ) {
        self.routeChanges = routeChanges
        self.key = key
        self.captures = captures
        self.firstCapturedAt = firstCapturedAt
        self.lastCapturedAt = lastCapturedAt
        self.lastModel = lastModel
        self.modelSince = modelSince
        self.models = models
        self.usage = usage
    }
}
