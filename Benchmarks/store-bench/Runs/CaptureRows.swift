/// The captures table's columns as schema 6 has them, and deterministic rows for them: a random session of
/// `sessions` for each capture (interleaved live traffic), a unique request id as its dedupe key, rising
/// `captured_at`, usage on three captures in four.
struct CaptureRows {
    static let columns = [
        "session_id", "agent_id", "captured_at", "taas_request_id", "taas_trace_id", "openclaw_turn_id",
        "openclaw_attempt", "autorouter_model", "autorouter_algo", "autorouter_algo_source", "thinking_applied",
        "routed_context_window", "dedupe_key", "autorouted", "provider", "requested_model", "input_tokens",
        "output_tokens", "cache_read_tokens", "cache_write_tokens", "cost_usd", "cache_saved_usd", "duration_ms",
        "outcome", "route_changed", "trigger", "channel", "ttfb_ms", "failure_kind",
    ]
    /// The columns as a table declares them (the key's two columns NOT NULL), for the tail and every run.
    static let declaredColumns = columns.map { column -> String in
        switch column {
        case "session_id": "session_id TEXT NOT NULL"
        case "captured_at": "captured_at INTEGER NOT NULL"
        default: column
        }
    }.joined(separator: ", ")
    static let sessionColumn = 0
    static let capturedAtColumn = 2
    static let dedupeColumn = 12

    let sessionIds: [String]
    let agentIds: [String]
    /// Up to this many ms earlier than its place in the sequence, at random: clients' clocks, so that runs
    /// overlap in time and reads cannot rely on ids and times rising together.
    let skew: Int
    private let models = ["claude-sonnet-4-5", "gpt-5.1", "gemini-2.5-pro", "qwen3-coder-480b"]

    init(sessions: Int, agents: Int, skew: Int = 0) {
        self.skew = skew
        sessionIds = (0..<sessions).map { "oc:" + hex16(UInt64($0)) }
        agentIds = (0..<agents).map { "agent-\($0)" }
    }

    func row(_ index: Int) -> [BenchValue] {
        var random = SplitMix(seed: UInt64(index))
        let session = random.next(below: sessionIds.count)
        let requestId = "req-" + hex16(UInt64(index) &* 0x9e37_79b9)
        let model = models[random.next(below: models.count)]
        let usage = random.next(below: 4) != 0
        let input = Int64(random.next(below: 40_000))
        return [
            .text(sessionIds[session]), .text(agentIds[session % agentIds.count]),
            .int(1_700_000_000_000 + Int64(index) - Int64(skew > 0 ? random.next(below: skew) : 0)), .text(requestId), .text("trace-" + hex16(UInt64(index))),
            .text("turn-\(index / 3)"), .text("1"), .text(model), .text("balanced"), .text("default"),
            .text(random.next(below: 2) == 0 ? "true" : "false"), .int(200_000), .text(requestId), .int(1),
            .text("taas"), .text("taas/auto"),
            usage ? .int(input) : .null, usage ? .int(Int64(random.next(below: 2_000))) : .null,
            usage ? .int(input / 2) : .null, usage ? .int(0) : .null,
            usage ? .real(Double(input) * 3e-6) : .null, usage ? .real(Double(input) * 1e-6) : .null,
            .int(Int64(300 + random.next(below: 9_000))), .text("ok"), .int(random.next(below: 50) == 0 ? 1 : 0),
            .text("user"), .text("webchat"), .int(Int64(100 + random.next(below: 900))), .null,
        ]
    }

    func sessionIndex(_ index: Int) -> Int {
        var random = SplitMix(seed: UInt64(index))
        return random.next(below: sessionIds.count)
    }
}
