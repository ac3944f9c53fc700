import AffinityCore
import CaptureStore

/// What a `taas.autorouter.record` request asks for, once validated.
enum RecordRequest {
    case store(NewCapture)
    /// Headers without `x-taas-autorouted: true`: answered without touching the store.
    case notAutorouted
}

extension Params {
    /// The earliest accepted `capturedAt`: 2020-01-01T00:00:00Z.
    static let earliestCapturedAt: Int64 = 1_577_836_800_000
    /// How far into the future `capturedAt` may be.
    static let capturedAtSlackMs: Int64 = 86_400_000

    /// Validates `taas.autorouter.record` params.
    ///
    /// `sessionId` must be a bounded identity (any, not only `oc:<16 hex>`: the store keys on it as an
    /// opaque string, and callers that derive ids differently still get history); `agentId` and
    /// `idempotencyKey` must be bounded identities when given (a request that names a bad id is refused
    /// rather than silently stored without it).
    func recordRequest(now: Int64) throws(RPCError) -> RecordRequest {
        guard let sessionId = try identity("sessionId") else { throw .invalidParams("sessionId", "is required") }
        let agentId = try identity("agentId")
        let capturedAt =
            try integer("capturedAt", in: Self.earliestCapturedAt...(now + Self.capturedAtSlackMs)) ?? now
        let idempotencyKey = try identity("idempotencyKey")
        let headers = try object("headers")
        let capture = try object("capture")
        let fields: CaptureFields
        switch (headers, capture) {
        case (let headers?, nil):
            guard let parsed = try Self.fields(fromHeaders: headers) else { return .notAutorouted }
            fields = parsed
        case (nil, let capture?):
            fields = try Self.fields(fromCapture: capture)
        default:
            throw .invalidParams("headers", "exactly one of headers or capture is required")
        }
        return .store(
            NewCapture(
                sessionId: sessionId, agentId: agentId, capturedAt: capturedAt, fields: fields,
                idempotencyKey: idempotencyKey
            )
        )
    }

    /// Headers must all be strings; AffinityCore reads the capture from them (nil: not autorouted).
    ///
    /// They are handed over in the order the request wrote them, so when two names differ only in case
    /// the first one written wins, as in an HTTP header list (and no sort runs per request).
    static func fields(fromHeaders headers: JSONObject) throws(RPCError) -> CaptureFields? {
        var pairs: [(name: String, value: String)] = []
        pairs.reserveCapacity(headers.count)
        for member in headers.members {
            guard case .string(let s) = member.value else {
                throw .invalidParams("headers.\(member.key)", "must be a string")
            }
            pairs.append((member.key, s))
        }
        return CaptureFields.parse(headers: pairs)
    }

    /// A `capture` object, typed strictly: strings must be bounded identities, the context window a
    /// positive 32-bit integer; absent or null fields are null; unknown members are ignored.
    static func fields(fromCapture capture: JSONObject) throws(RPCError) -> CaptureFields {
        let p = Params(object: capture)
        func field(_ key: String) throws(RPCError) -> String? {
            do { return try p.identity(key) } catch { throw .invalidParams("capture.\(key)", error.reason) }
        }
        let window: Int64?
        do { window = try p.integer("routedContextWindow", in: 1...Int64(Int32.max)) } catch {
            throw .invalidParams("capture.routedContextWindow", error.reason)
        }
        return CaptureFields(
            taasRequestId: try field("taasRequestId"),
            taasTraceId: try field("taasTraceId"),
            openclawTurnId: try field("openclawTurnId"),
            openclawAttempt: try field("openclawAttempt"),
            autorouterModel: try field("autorouterModel"),
            autorouterAlgo: try field("autorouterAlgo"),
            autorouterAlgoSource: try field("autorouterAlgoSource"),
            thinkingApplied: try field("thinkingApplied"),
            routedContextWindow: window.map { Int($0) }
        )
    }
}

extension Params {
    init(object: JSONObject) {
        self.object = object
    }
}

extension RPCError {
    /// The `reason` of a -32602, for re-labelling a nested field.
    var reason: String {
        if case .param(_, let reason)? = detail { return reason }
        return message
    }
}
