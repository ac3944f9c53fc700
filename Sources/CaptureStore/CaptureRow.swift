import AffinityCore

/// The `captures` columns a query returns, in the order `Statement.capture()` reads them.
enum CaptureRow {
    static let columns = """
        id, session_id, agent_id, captured_at, taas_request_id, taas_trace_id, openclaw_turn_id, \
        openclaw_attempt, autorouter_model, autorouter_algo, autorouter_algo_source, thinking_applied, \
        routed_context_window
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
            )
        )
    }
}

extension CaptureSelector {
    /// The column the selector filters on; each has an index leading with it.
    var column: String {
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

    var value: String {
        switch self {
        case .session(let id), .agent(let id): id
        }
    }

    /// A string that differs for every selector, to which a history cursor is bound.
    var scope: String {
        switch self {
        case .session(let id): "session:" + id
        case .agent(let id): "agent:" + id
        }
    }
}
