/// Everything the session id may be derived from. The caller reads the environment, the working
/// directory and the home directory; this type only carries them.
///
/// Every field except `cwd` is a tier input and is used only when it is a bounded identity
/// (`BoundedIdentity`): it is trimmed first, and a field that is nil, empty or whitespace-only,
/// longer than 200 UTF-16 code units, or holds a control character is treated as absent, so its
/// tier is skipped. The trimmed value is what gets hashed and hinted.
public struct SessionIdentityInput: Sendable, Hashable {
    /// OpenClaw's native session id for the call (tier 1).
    public var localSessionId: String?
    /// The agent's workspace directory (tier 2), absolute or relative to `cwd`.
    public var workspaceDir: String?
    /// Env `OPENCLAW_SESSION_ID` (tier 3).
    public var openclawSessionId: String?
    /// Env `OPENCLAW_AGENT_ID` (tier 4, preferred over `runId`).
    public var agentId: String?
    /// Env `OPENCLAW_RUN_ID` (tier 4).
    public var runId: String?
    /// Env `OPENCLAW_STATE_DIR` (tier 5, preferred over `home`).
    public var stateDir: String?
    /// The home directory (tier 5 uses `path.posix.join(home, ".openclaw")`); when it is absent
    /// too, `/` stands in for it, so tier 5 always applies.
    public var home: String?
    /// The caller's working directory, against which relative paths are resolved. Not validated.
    public var cwd: String

    public init(
        localSessionId: String? = nil, workspaceDir: String? = nil, openclawSessionId: String? = nil,
        agentId: String? = nil, runId: String? = nil, stateDir: String? = nil, home: String? = nil, cwd: String
    ) {
        self.localSessionId = localSessionId
        self.workspaceDir = workspaceDir
        self.openclawSessionId = openclawSessionId
        self.agentId = agentId
        self.runId = runId
        self.stateDir = stateDir
        self.home = home
        self.cwd = cwd
    }
}

/// Which tier produced a session id; the raw values are the SPEC's `source` strings.
public enum SessionSource: String, Sendable, Hashable, CaseIterable {
    case session, workspace, env, agent, stateDir
}

/// Why the service refuses to derive a session id.
public enum SessionIdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A `workspaceDir` that does not start with `/`: the service's working directory is not the caller's.
    case relativeWorkspaceDir

    public var description: String {
        switch self {
        case .relativeWorkspaceDir:
            return "workspaceDir must be an absolute path (the service cannot resolve it against the caller's directory)"
        }
    }
}

/// An affinity session id with where it came from.
public struct SessionIdentity: Sendable, Hashable {
    /// `"oc:" + sha16(source string)`.
    public var sessionId: String
    public var source: SessionSource
    /// `"source:" + sha16(hint)`; the hint names the workspace whenever one is known.
    public var sessionSourceHint: String

    public init(sessionId: String, source: SessionSource, sessionSourceHint: String) {
        self.sessionId = sessionId
        self.source = source
        self.sessionSourceHint = sessionSourceHint
    }

    /// Derives the session id by the SPEC's five tiers (first that applies) and its source hint.
    ///
    /// | tier | source string | hint (when no workspace is known) |
    /// |---|---|---|
    /// | 1 `localSessionId` | `"session:" + id` | `"session:" + id` |
    /// | 2 `workspaceDir` | `resolve(workspaceDir, cwd)` | — (always `"workspaceDir:" + workspaceDir`) |
    /// | 3 `openclawSessionId` | `"env:" + value` | `"env:" + value` |
    /// | 4 `agentId`, else `runId` | `"agent:" + value` | `"agent:" + value` |
    /// | 5 `stateDir`, else `join(home, ".openclaw")` | `resolve(stateDir, cwd)` | `"stateDir:" + stateDir` |
    ///
    /// Whenever a workspace is known the hint is `"workspaceDir:" + workspaceDir` as given (trimmed,
    /// not resolved), even when tier 1 supplies the id.
    public static func derive(from input: SessionIdentityInput) -> SessionIdentity {
        let workspaceDir = BoundedIdentity.normalize(input.workspaceDir)
        let (source, sourceString, tierHint) = firstTier(input, workspaceDir: workspaceDir)
        let hint = workspaceDir.map { "workspaceDir:" + $0 } ?? tierHint
        return SessionIdentity(
            sessionId: "oc:" + sha16(sourceString),
            source: source,
            sessionSourceHint: "source:" + sha16(hint)
        )
    }

    /// `derive(from:)` for the service, which has its own working directory: a `workspaceDir` that is
    /// a bounded identity but not absolute is refused rather than resolved against the wrong directory.
    public static func deriveRequiringAbsoluteWorkspace(
        from input: SessionIdentityInput
    ) throws(SessionIdentityError) -> SessionIdentity {
        if let workspaceDir = BoundedIdentity.normalize(input.workspaceDir), !PosixPath.isAbsolute(workspaceDir) {
            throw .relativeWorkspaceDir
        }
        return derive(from: input)
    }

    private static func firstTier(
        _ input: SessionIdentityInput, workspaceDir: String?
    ) -> (SessionSource, sourceString: String, hint: String) {
        if let id = BoundedIdentity.normalize(input.localSessionId) {
            return (.session, "session:" + id, "session:" + id)
        }
        if let workspaceDir {
            return (.workspace, PosixPath.resolve(workspaceDir, cwd: input.cwd), "workspaceDir:" + workspaceDir)
        }
        if let value = BoundedIdentity.normalize(input.openclawSessionId) {
            return (.env, "env:" + value, "env:" + value)
        }
        if let value = BoundedIdentity.normalize(input.agentId) ?? BoundedIdentity.normalize(input.runId) {
            return (.agent, "agent:" + value, "agent:" + value)
        }
        let stateDir =
            BoundedIdentity.normalize(input.stateDir)
            ?? PosixPath.join(BoundedIdentity.normalize(input.home) ?? "/", ".openclaw")
        return (.stateDir, PosixPath.resolve(stateDir, cwd: input.cwd), "stateDir:" + stateDir)
    }
}
