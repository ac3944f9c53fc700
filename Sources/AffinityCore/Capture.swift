/// The route fields read from TaaS response headers (SPEC "The capture").
///
/// Every string is a bounded identity (see `BoundedIdentity`) or nil.
public struct CaptureFields: Sendable, Hashable {
    public var taasRequestId: String?
    public var taasTraceId: String?
    public var openclawTurnId: String?
    public var openclawAttempt: String?
    public var autorouterModel: String?
    public var autorouterAlgo: String?
    public var autorouterAlgoSource: String?
    public var thinkingApplied: String?
    /// A positive integer ≤ 2^31−1, or nil.
    public var routedContextWindow: Int?

    public init(
        taasRequestId: String? = nil, taasTraceId: String? = nil, openclawTurnId: String? = nil,
        openclawAttempt: String? = nil, autorouterModel: String? = nil, autorouterAlgo: String? = nil,
        autorouterAlgoSource: String? = nil, thinkingApplied: String? = nil, routedContextWindow: Int? = nil
    ) {
        self.taasRequestId = taasRequestId
        self.taasTraceId = taasTraceId
        self.openclawTurnId = openclawTurnId
        self.openclawAttempt = openclawAttempt
        self.autorouterModel = autorouterModel
        self.autorouterAlgo = autorouterAlgo
        self.autorouterAlgoSource = autorouterAlgoSource
        self.thinkingApplied = thinkingApplied
        self.routedContextWindow = routedContextWindow
    }
}

/// A capture as stored and as returned on the wire.
public struct Capture: Sendable, Hashable {
    /// Increases with every stored capture.
    public var id: Int64
    public var sessionId: String
    public var agentId: String?
    /// Milliseconds since the Unix epoch.
    public var capturedAt: Int64
    public var fields: CaptureFields
    /// Usage and outcome (schema 2); captures stored before it are autorouted with no usage.
    public var usage: CallUsage
    /// Trigger, channel, time to first byte and failure kind (schema 6); none for captures stored before it.
    public var attribution: CallAttribution
    /// Whether this autorouted capture's served model differs from the previous autorouted capture of its session
    /// (schema 5); nil for a capture stored before schema 5 that the service has not settled yet.
    public var routeChanged: Bool?

    public init(
        id: Int64, sessionId: String, agentId: String?, capturedAt: Int64, fields: CaptureFields,
        usage: CallUsage = CallUsage(), attribution: CallAttribution = CallAttribution(), routeChanged: Bool? = nil
    ) {
        self.id = id
        self.sessionId = sessionId
        self.agentId = agentId
        self.capturedAt = capturedAt
        self.fields = fields
        self.usage = usage
        self.attribution = attribution
        self.routeChanged = routeChanged
    }
}
