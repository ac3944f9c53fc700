/// The value of every envelope's `source` field.
let envelopeSource = "openclaw-taas-affinity"

/// `metadata.requester_runtime` (schema `2026-06-04`): who is asking, with identifiers hashed and
/// no raw paths, environment values, tokens, remotes, git status or diffs.
public struct RequesterRuntimeEnvelope: Sendable, Hashable {
    public static let schemaVersion = "2026-06-04"
    public static let redactionPolicy =
        "no_secrets;no_raw_local_paths;no_env_values;no_git_remotes;no_status_or_diffs;no_extra_params"

    public var context: RequestContext

    public init(context: RequestContext) {
        self.context = context
    }

    /// The envelope with the seed README's fields in its order; `repo_name`, `git_branch_hint` and
    /// `git_dirty_hint` appear only when the workspace is in a known git repository, each when known.
    public var json: JSON {
        var members: [(key: String, value: JSON)] = [
            ("schema_version", .string(Self.schemaVersion)),
            ("source", .string(envelopeSource)),
            ("session_key", .string(context.sessionId)),
            ("openclaw_session_id", .string(context.sessionId)),
            ("requester_host_id", .string(context.requesterHostId)),
        ]
        if let repoName = context.knownRepoName {
            members.append(("repo_name", .string(repoName)))
            if let branch = BoundedIdentity.normalize(context.gitBranchHint) {
                members.append(("git_branch_hint", .string(branch)))
            }
            if let dirty = context.gitDirtyHint {
                members.append(("git_dirty_hint", .bool(dirty)))
            }
        }
        members += [
            ("provider", .string(context.provider)),
            ("model_id", .string(context.modelId)),
            ("session_source_hint", .string(context.sessionSourceHint)),
            ("tool_execution", .string("direction_2_gateway")),
            (
                "metadata_classification",
                .object(
                    JSONObject([
                        ("identifiers", .string("hashed")),
                        ("repository", .string("name_branch_dirty_only")),
                        ("local_paths", .string("omitted_by_default")),
                    ]))
            ),
            ("redaction_policy", .string(Self.redactionPolicy)),
        ]
        return .object(JSONObject(members))
    }
}

/// `metadata.openclaw_correlation` (schema `2026-06-05`): ids for tracing a request through TaaS.
public struct OpenClawCorrelationEnvelope: Sendable, Hashable {
    public static let schemaVersion = "2026-06-05"

    public var context: RequestContext

    public init(context: RequestContext) {
        self.context = context
    }

    /// The envelope with the seed README's fields in its order; `agent_id` only when known.
    public var json: JSON {
        var members: [(key: String, value: JSON)] = [
            ("schema_version", .string(Self.schemaVersion)),
            ("source", .string(envelopeSource)),
            ("plugin_version", .string(context.pluginVersion)),
            ("session_id", .string(context.sessionId)),
            ("sticky_key", .string(context.sessionId)),
            ("session_source_hint", .string(context.sessionSourceHint)),
        ]
        if let agentId = context.knownAgentId {
            members.append(("agent_id", .string(agentId)))
        }
        members += [
            ("provider", .string(context.provider)),
            ("model_id", .string(context.modelId)),
        ]
        return .object(JSONObject(members))
    }
}
