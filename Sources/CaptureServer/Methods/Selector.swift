import AffinityCore
import CaptureStore

/// A query selector as the request gave it, resolved to what the store selects by.
struct ResolvedSelector {
    var selector: CaptureSelector

    /// The agent id when selecting by agent.
    var agentId: String? {
        if case .agent(let a) = selector { return a }
        return nil
    }

    /// The session id when selecting by session.
    var sessionId: String? {
        if case .session(let s) = selector { return s }
        return nil
    }
}

extension Params {
    /// The selector, by precedence `agentId` > `sessionId` > `localSessionId`/`workspaceDir` (tiers 1–2 of
    /// the session id derivation); nil when none is given.
    func selector() throws(RPCError) -> ResolvedSelector? {
        if let agentId = try identity("agentId") { return ResolvedSelector(selector: .agent(agentId)) }
        if let sessionId = try identity("sessionId") { return ResolvedSelector(selector: .session(sessionId)) }
        let localSessionId = try identity("localSessionId")
        let workspaceDir = try identity("workspaceDir")
        guard localSessionId != nil || workspaceDir != nil else { return nil }
        if let workspaceDir, !PosixPath.isAbsolute(workspaceDir) {
            throw .invalidParams("workspaceDir", "must be an absolute path")
        }
        let input = SessionIdentityInput(localSessionId: localSessionId, workspaceDir: workspaceDir, cwd: "/")
        let identity = SessionIdentity.derive(from: input)
        return ResolvedSelector(selector: .session(identity.sessionId))
    }

    /// The selector, or -32602 when none is given.
    func requiredSelector() throws(RPCError) -> ResolvedSelector {
        guard let selector = try selector() else {
            throw .invalidParams("params", "a selector is required: agentId, sessionId, workspaceDir or localSessionId")
        }
        return selector
    }
}
