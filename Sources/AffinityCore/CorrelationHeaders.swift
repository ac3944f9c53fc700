/// The request headers that carry the affinity session and OpenClaw correlation ids, in this order:
/// `X-Session-Id`, `X-OpenClaw-Session-Id` (both the session id), then `X-OpenClaw-Turn-Id`,
/// `X-OpenClaw-Attempt` (decimal) and `X-OpenClaw-Agent-Id`, each only when known (see `RequestContext`).
public func buildCorrelationHeaders(context: RequestContext) -> [(name: String, value: String)] {
    var headers: [(name: String, value: String)] = [
        ("X-Session-Id", context.sessionId),
        ("X-OpenClaw-Session-Id", context.sessionId),
    ]
    if let turnId = context.knownTurnId { headers.append(("X-OpenClaw-Turn-Id", turnId)) }
    if let attempt = context.knownAttempt { headers.append(("X-OpenClaw-Attempt", String(attempt))) }
    if let agentId = context.knownAgentId { headers.append(("X-OpenClaw-Agent-Id", agentId)) }
    return headers
}
