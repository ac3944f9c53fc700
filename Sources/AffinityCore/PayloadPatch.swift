/// Adds the affinity metadata to an LLM request payload, never overwriting what the caller sent.
///
/// - A payload that is not a JSON object is returned unchanged.
/// - Absent `metadata` is added (as the payload's last member) holding the four keys below.
/// - `metadata` that is present but not an object — `null` included — leaves the payload unchanged.
/// - In an object `metadata`, each of `session_id`, `sticky_key`, `requester_runtime`,
///   `openclaw_correlation` is appended only when its key is absent; a key present with any value,
///   `null` included, is kept as is.
///
/// Nothing else in the payload is touched: OpenAI `tools`, `tool_choice`, assistant `tool_calls` and
/// `role: "tool"` messages pass through, and no bridge descriptors are added.
public func patchPayloadMetadata(payload: JSON, context: RequestContext) -> JSON {
    guard case .object(var members) = payload else { return payload }
    var metadata = JSONObject()
    if let existing = members["metadata"] {
        guard case .object(let object) = existing else { return payload }
        metadata = object
    }
    let additions: [(key: String, value: JSON)] = [
        ("session_id", .string(context.sessionId)),
        ("sticky_key", .string(context.sessionId)),
        ("requester_runtime", RequesterRuntimeEnvelope(context: context).json),
        ("openclaw_correlation", OpenClawCorrelationEnvelope(context: context).json),
    ]
    // Setting an absent key appends it, so new keys follow the caller's in this order.
    for addition in additions where metadata[addition.key] == nil {
        metadata[addition.key] = addition.value
    }
    members["metadata"] = .object(metadata)
    return .object(members)
}
