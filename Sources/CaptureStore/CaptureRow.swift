import AffinityCore

/// The `captures` columns a query returns, in the order `Statement.capture()` reads them.
enum CaptureRow {
    static let columns = """
        id, session_id, agent_id, captured_at, taas_request_id, taas_trace_id, openclaw_turn_id, \
        openclaw_attempt, autorouter_model, autorouter_algo, autorouter_algo_source, thinking_applied, \
        routed_context_window, autorouted, provider, requested_model, input_tokens, output_tokens, \
        cache_read_tokens, cache_write_tokens, cost_usd, cache_saved_usd, duration_ms, outcome, trigger, channel, \
        ttfb_ms, failure_kind, route_changed
        """
}

extension Statement {
    /// The current row, selected with `CaptureRow.columns`.
    func capture() -> Capture {
        Capture(
            id: int64(at: 0),
            sessionId: string(at: 1),
            agentId: optionalString(at: 2),
            capturedAt: int64(at: 3),
            fields: CaptureFields(
                taasRequestId: optionalString(at: 4),
                taasTraceId: optionalString(at: 5),
                openclawTurnId: optionalString(at: 6),
                openclawAttempt: optionalString(at: 7),
                autorouterModel: optionalString(at: 8),
                autorouterAlgo: optionalString(at: 9),
                autorouterAlgoSource: optionalString(at: 10),
                thinkingApplied: optionalString(at: 11),
                routedContextWindow: optionalInt(at: 12)
            ),
            usage: CallUsage(
                autorouted: int64(at: 13) != 0,
                provider: optionalString(at: 14),
                requestedModel: optionalString(at: 15),
                inputTokens: optionalInt64(at: 16),
                outputTokens: optionalInt64(at: 17),
                cacheReadTokens: optionalInt64(at: 18),
                cacheWriteTokens: optionalInt64(at: 19),
                costUsd: optionalDouble(at: 20),
                cacheSavedUsd: optionalDouble(at: 21),
                durationMs: optionalInt64(at: 22),
                outcome: optionalString(at: 23).flatMap(CallOutcome.init(rawValue:))
            ),
            attribution: CallAttribution(
                trigger: optionalString(at: 24),
                channel: optionalString(at: 25),
                timeToFirstByteMs: optionalInt64(at: 26),
                failureKind: optionalString(at: 27)
            ),
            routeChanged: optionalInt64(at: 28).map { $0 != 0 }
        )
    }
}

extension CaptureSelector {
    /// The column the selector filters on; each has an index leading with it (in SQLite and in the fleet's
    /// PostgreSQL, whose columns have the same names).
    public var column: String {
        switch self {
        case .session: "session_id"
        case .agent: "agent_id"
        }
    }

    /// 0 for a session, 1 for an agent: a position in per-kind statement slots.
    var kindIndex: Int {
        switch self {
        case .session: 0
        case .agent: 1
        }
    }

    public var value: String {
        switch self {
        case .session(let id), .agent(let id): id
        }
    }

    /// A string that differs for every selector, to which a history cursor is bound.
    public var scope: String {
        switch self {
        case .session(let id): "session:" + id
        case .agent(let id): "agent:" + id
        }
    }
}

extension Statement {
    /// Binds the usage columns in `CaptureRow.columns` order (autorouted … outcome) from parameter `first`.
    func bindUsage(_ u: CallUsage, from first: Int32) throws(StoreError) {
        try bind(Int64(u.autorouted ? 1 : 0), at: first)
        try bind(u.provider, at: first + 1)
        try bind(u.requestedModel, at: first + 2)
        try bind(u.inputTokens, at: first + 3)
        try bind(u.outputTokens, at: first + 4)
        try bind(u.cacheReadTokens, at: first + 5)
        try bind(u.cacheWriteTokens, at: first + 6)
        try bind(u.costUsd, at: first + 7)
        try bind(u.cacheSavedUsd, at: first + 8)
        try bind(u.durationMs, at: first + 9)
        try bind(u.outcome?.rawValue, at: first + 10)
    }

    /// Binds the attribution columns (trigger, channel, ttfb_ms, failure_kind) from parameter `first`.
    func bindAttribution(_ a: CallAttribution, from first: Int32) throws(StoreError) {
        try bind(a.trigger, at: first)
        try bind(a.channel, at: first + 1)
        try bind(a.timeToFirstByteMs, at: first + 2)
        try bind(a.failureKind, at: first + 3)
    }
}
