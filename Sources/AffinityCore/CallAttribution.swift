/// What started an LLM call's run and how its stream began or failed, as the host tells the plugin (SPEC v3
/// "Attribution"). Every field is nil when the host gave none.
public struct CallAttribution: Sendable, Hashable {
    /// The largest `timeToFirstByteMs`: 2^31−1.
    public static let maxTimeToFirstByteMs: Int64 = Int64(Int32.max)

    /// What started the run, as the host names it (a user message, cron, heartbeat, …).
    public var trigger: String?
    /// The message channel or provider the run came from.
    public var channel: String?
    /// Request start to the first byte of the response.
    public var timeToFirstByteMs: Int64?
    /// The host's kind of failure, for a call whose outcome is `error`.
    public var failureKind: String?

    public init(trigger: String? = nil, channel: String? = nil, timeToFirstByteMs: Int64? = nil, failureKind: String? = nil) {
        self.trigger = trigger
        self.channel = channel
        self.timeToFirstByteMs = timeToFirstByteMs
        self.failureKind = failureKind
    }
}
