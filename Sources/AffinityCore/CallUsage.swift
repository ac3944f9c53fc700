/// How an LLM call's stream ended (SPEC v2 "Usage and prompt-cache figures").
public enum CallOutcome: String, Sendable, Hashable, CaseIterable {
    case ok, error, aborted
}

/// What one LLM call through TaaS cost and used, beside its route. Every field is nil when unknown.
///
/// `autorouted` is false for a call TaaS did not route: its route fields are then nil, and it is
/// stored only because it carries usage. Captures stored before schema 2 are autorouted with no usage.
public struct CallUsage: Sendable, Hashable {
    /// The largest token count accepted: 2^53−1, exact in JavaScript and in a double.
    public static let maxTokens: Int64 = 9_007_199_254_740_991
    /// The largest `durationMs`: 2^31−1.
    public static let maxDurationMs: Int64 = Int64(Int32.max)
    /// The largest money amount accepted, in USD, for one call.
    public static let maxUsd: Double = 1_000_000

    public var autorouted: Bool
    /// OpenClaw's provider id, e.g. `cloudsigma`.
    public var provider: String?
    /// The model OpenClaw asked for, e.g. `cloudsigma/auto`.
    public var requestedModel: String?
    /// `usage.input`: prompt tokens not read from or written to the cache.
    public var inputTokens: Int64?
    public var outputTokens: Int64?
    public var cacheReadTokens: Int64?
    public var cacheWriteTokens: Int64?
    /// The call's cost as the host reports it (`usage.cost.total`).
    public var costUsd: Double?
    /// Estimate: cacheReadTokens × (input price − cache-read price).
    public var cacheSavedUsd: Double?
    /// Request start to end of stream.
    public var durationMs: Int64?
    public var outcome: CallOutcome?

    public init(
        autorouted: Bool = true, provider: String? = nil, requestedModel: String? = nil, inputTokens: Int64? = nil,
        outputTokens: Int64? = nil, cacheReadTokens: Int64? = nil, cacheWriteTokens: Int64? = nil,
        costUsd: Double? = nil, cacheSavedUsd: Double? = nil, durationMs: Int64? = nil, outcome: CallOutcome? = nil
    ) {
        self.autorouted = autorouted
        self.provider = provider
        self.requestedModel = requestedModel
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheReadTokens = cacheReadTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.costUsd = costUsd
        self.cacheSavedUsd = cacheSavedUsd
        self.durationMs = durationMs
        self.outcome = outcome
    }

    /// Whether any token count is known: what makes a call "with usage".
    public var hasTokenCounts: Bool {
        inputTokens != nil || outputTokens != nil || cacheReadTokens != nil || cacheWriteTokens != nil
    }

    /// cacheRead / (input + cacheRead + cacheWrite), nil when that sum is 0.
    public static func cacheHitRatio(input: Int64, cacheRead: Int64, cacheWrite: Int64) -> Double? {
        let prompt = Double(input) + Double(cacheRead) + Double(cacheWrite)
        return prompt > 0 ? Double(cacheRead) / prompt : nil
    }
}
