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
        var fields: CaptureFields
        var usage: CallUsage
        let attribution: CallAttribution
        switch (headers, capture) {
        case (let headers?, nil):
            usage = try usageBesideHeaders()
            attribution = try Self.attribution(self, label: { $0 })
            if let parsed = try Self.fields(fromHeaders: headers) {
                fields = parsed
            } else {
                fields = CaptureFields()
                usage.autorouted = false
            }
        case (nil, let capture?):
            fields = try Self.fields(fromCapture: capture)
            usage = try Self.usage(fromCapture: capture)
            attribution = try Self.attribution(Params(object: capture), label: { "capture." + $0 })
        default:
            throw .invalidParams("headers", "exactly one of headers or capture is required")
        }
        if !usage.autorouted {
            // A call TaaS did not route is kept only for its usage, and has no route.
            guard usage.hasTokenCounts else { return .notAutorouted }
            fields = CaptureFields()
        }
        return .store(
            NewCapture(
                sessionId: sessionId, agentId: agentId, capturedAt: capturedAt, fields: fields, usage: usage,
                attribution: attribution, idempotencyKey: idempotencyKey
            )
        )
    }

    /// The usage given beside `headers`: `usage: {input, output, cacheRead, cacheWrite}`, `provider`,
    /// `requestedModel`, `costUsd`, `cacheSavedUsd`, `durationMs`, `outcome`.
    func usageBesideHeaders() throws(RPCError) -> CallUsage {
        var usage = try Self.callFacts(self, label: { $0 })
        guard let counts = try object("usage") else { return usage }
        let p = Params(object: counts)
        func count(_ key: String) throws(RPCError) -> Int64? {
            do { return try p.tokenCount(key) } catch { throw .invalidParams("usage.\(key)", error.reason) }
        }
        usage.inputTokens = try count("input")
        usage.outputTokens = try count("output")
        usage.cacheReadTokens = try count("cacheRead")
        usage.cacheWriteTokens = try count("cacheWrite")
        return usage
    }

    /// The usage inside a `capture` object, by the capture's wire names; `autorouted` defaults to true.
    static func usage(fromCapture capture: JSONObject) throws(RPCError) -> CallUsage {
        let p = Params(object: capture)
        let label = { (key: String) in "capture." + key }
        var usage = try callFacts(p, label: label)
        do throws(RPCError) {
            usage.autorouted = try p.bool("autorouted") ?? true
            usage.inputTokens = try p.tokenCount("inputTokens")
            usage.outputTokens = try p.tokenCount("outputTokens")
            usage.cacheReadTokens = try p.tokenCount("cacheReadTokens")
            usage.cacheWriteTokens = try p.tokenCount("cacheWriteTokens")
        } catch {
            throw .invalidParams(label(error.field), error.reason)
        }
        return usage
    }

    /// The fields both shapes name alike: provider, requestedModel, costUsd, cacheSavedUsd, durationMs, outcome.
    static func callFacts(_ p: Params, label: (String) -> String) throws(RPCError) -> CallUsage {
        var usage = CallUsage()
        do throws(RPCError) {
            usage.provider = try p.identity("provider")
            usage.requestedModel = try p.identity("requestedModel")
            usage.costUsd = try p.number("costUsd", in: 0...CallUsage.maxUsd)
            usage.cacheSavedUsd = try p.number("cacheSavedUsd", in: 0...CallUsage.maxUsd)
            usage.durationMs = try p.integer("durationMs", in: 0...CallUsage.maxDurationMs)
            if let outcome = try p.string("outcome") {
                guard let known = CallOutcome(rawValue: outcome) else {
                    throw RPCError.invalidParams("outcome", "must be one of ok, error, aborted")
                }
                usage.outcome = known
            }
        } catch {
            throw .invalidParams(label(error.field), error.reason)
        }
        return usage
    }

    /// What started the run and how the call began or failed (SPEC v3 "Attribution"), named alike beside `headers`
    /// and in a `capture` object: `trigger`, `channel`, `failureKind` (bounded identities), `timeToFirstByteMs`.
    static func attribution(_ p: Params, label: (String) -> String) throws(RPCError) -> CallAttribution {
        do throws(RPCError) {
            return CallAttribution(
                trigger: try p.identity("trigger"), channel: try p.identity("channel"),
                timeToFirstByteMs: try p.integer("timeToFirstByteMs", in: 0...CallAttribution.maxTimeToFirstByteMs),
                failureKind: try p.identity("failureKind"))
        } catch {
            throw .invalidParams(label(error.field), error.reason)
        }
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

    /// The `field` of a -32602, for re-labelling a nested field.
    var field: String {
        if case .param(let field, _)? = detail { return field }
        return "params"
    }
}
