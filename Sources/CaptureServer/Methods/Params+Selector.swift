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
        // Fields after the one that decides are not read (a stray bad one beside agentId is not an error).
        let agentId = try identity("agentId")
        let sessionId = agentId == nil ? try identity("sessionId") : nil
        let derives = agentId == nil && sessionId == nil
        let localSessionId = derives ? try identity("localSessionId") : nil
        let workspaceDir = derives ? try identity("workspaceDir") : nil
        if let workspaceDir, !PosixPath.isAbsolute(workspaceDir) {
            throw .invalidParams("workspaceDir", "must be an absolute path")
        }
        return CaptureSelector.resolving(
            agentId: agentId, sessionId: sessionId, localSessionId: localSessionId, workspaceDir: workspaceDir
        ).map(ResolvedSelector.init(selector:))
    }

    /// The selector, or -32602 when none is given.
    func requiredSelector() throws(RPCError) -> ResolvedSelector {
        guard let selector = try selector() else {
            throw .invalidParams("params", "a selector is required: agentId, sessionId, workspaceDir or localSessionId")
        }
        return selector
    }
}
