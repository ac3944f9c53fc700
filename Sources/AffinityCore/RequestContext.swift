/// What the plugin knows about one LLM request; the input of the envelopes, the payload patch and
/// the correlation headers.
///
/// `sessionId`, `sessionSourceHint`, `requesterHostId`, `provider`, `modelId` and `pluginVersion`
/// are always sent as given. The optional fields count as known only when they are bounded
/// identities (their trimmed value is sent) — or, for `attempt`, a non-negative integer — and are
/// left out otherwise. The repository fields describe a git repository only when `repoName` is
/// known: without it, `gitBranchHint` and `gitDirtyHint` are ignored too.
public struct RequestContext: Sendable, Hashable {
    public var sessionId: String
    public var sessionSourceHint: String
    public var requesterHostId: String
    public var agentId: String?
    public var provider: String
    public var modelId: String
    public var pluginVersion: String
    /// The repository's name only (never its path or remote).
    public var repoName: String?
    public var gitBranchHint: String?
    public var gitDirtyHint: Bool?
    public var turnId: String?
    public var attempt: Int?

    public init(
        sessionId: String, sessionSourceHint: String, requesterHostId: String, agentId: String? = nil,
        provider: String, modelId: String, pluginVersion: String, repoName: String? = nil,
        gitBranchHint: String? = nil, gitDirtyHint: Bool? = nil, turnId: String? = nil, attempt: Int? = nil
    ) {
        self.sessionId = sessionId
        self.sessionSourceHint = sessionSourceHint
        self.requesterHostId = requesterHostId
        self.agentId = agentId
        self.provider = provider
        self.modelId = modelId
        self.pluginVersion = pluginVersion
        self.repoName = repoName
        self.gitBranchHint = gitBranchHint
        self.gitDirtyHint = gitDirtyHint
        self.turnId = turnId
        self.attempt = attempt
    }

    /// `agentId` when it is a bounded identity.
    var knownAgentId: String? { BoundedIdentity.normalize(agentId) }
    /// `turnId` when it is a bounded identity.
    var knownTurnId: String? { BoundedIdentity.normalize(turnId) }
    /// `attempt` when it is non-negative.
    var knownAttempt: Int? { attempt.flatMap { $0 >= 0 ? $0 : nil } }
    /// `repoName` when it is a bounded identity: the workspace is in a known git repository.
    var knownRepoName: String? { BoundedIdentity.normalize(repoName) }
}
