/// What `health.forward` shows: the forwarder's state as of its last step.
public struct ForwardStatus: Sendable, Hashable {
    public enum State: String, Sendable {
        /// Not yet connected since start.
        case starting
        /// Connected and shipping (or caught up).
        case forwarding
        /// PostgreSQL is away or failed; retrying with backoff.
        case retrying
        /// The fleet schema is newer than this binary: nothing is written until it is upgraded.
        case refused
    }

    public var target: String
    public var hostId: String
    public var state: State = .starting
    public var lastForwardedId: Int64?
    public var lagCaptures: Int?
    public var lastError: String?
    public var lastErrorKind: String?
}
