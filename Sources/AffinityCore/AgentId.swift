/// The OpenClaw agent id a capture belongs to (SPEC "Agent id"), first that applies:
///
/// 1. `sessionKey` of the form `agent:<id>:…` (prefix case-sensitive; the second `:` is required,
///    so `agent:main` alone does not match) → `<id>`;
/// 2. `agentDir` of the real layout `<state>/agents/<id>/agent` (after `path.posix.normalize`,
///    trailing slashes ignored, absolute or relative) → `<id>`; any other agent directory is ignored
///    (its basename is always `agent` on a real install, so it says nothing);
/// 3. `workspaceDir` (after `path.posix.normalize`): basename `workspace` → `main`,
///    `workspace-<id>` with a non-empty `<id>` → `<id>`, anything else → the basename itself
///    (`.`, `..` and the root have no usable basename).
///
/// Inputs are trimmed like bounded identities first; a candidate that is not a bounded identity
/// (see `BoundedIdentity`) falls through to the next rule. Returns nil when nothing applies.
public func deriveAgentId(sessionKey: String?, agentDir: String?, workspaceDir: String?) -> String? {
    if let id = sessionKey.flatMap(agentIdFromSessionKey) { return id }
    if let id = agentDir.flatMap(agentIdFromAgentDir) { return id }
    return workspaceDir.flatMap(agentIdFromWorkspaceDir)
}

private func agentIdFromSessionKey(_ sessionKey: String) -> String? {
    let key = BoundedIdentity.trimJavaScriptWhitespace(sessionKey)
    guard let rest = key.scalarsDroppingPrefix("agent:")?.unicodeScalars,
        let colon = rest.firstIndex(of: ":")
    else { return nil }
    return BoundedIdentity.normalize(String(rest[..<colon]))
}

private func agentIdFromAgentDir(_ agentDir: String) -> String? {
    let trimmed = BoundedIdentity.trimJavaScriptWhitespace(agentDir)
    guard !trimmed.isEmpty else { return nil }
    // After normalizing, `.` and `..` can only lead the path, so `<id>` is a real directory name.
    let segments = PosixPath.normalize(trimmed).scalarSegments(separatedBy: "/")
    guard segments.count >= 3, segments[segments.count - 1] == "agent", segments[segments.count - 3] == "agents"
    else { return nil }
    return BoundedIdentity.normalize(segments[segments.count - 2])
}

private func agentIdFromWorkspaceDir(_ workspaceDir: String) -> String? {
    let trimmed = BoundedIdentity.trimJavaScriptWhitespace(workspaceDir)
    guard !trimmed.isEmpty else { return nil }
    let base = PosixPath.basename(PosixPath.normalize(trimmed))
    guard base != ".", base != ".." else { return nil }
    if base == "workspace" { return "main" }
    if let id = base.scalarsDroppingPrefix("workspace-"), !id.isEmpty {
        return BoundedIdentity.normalize(id)
    }
    return BoundedIdentity.normalize(base)
}
