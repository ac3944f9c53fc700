import AffinityCore
import CaptureStore
import NIOCore

/// Wire shapes of results (SPEC "The capture" and "Methods"), written straight into a buffer.
extension ByteBuffer {
    /// A capture: id, sessionId, agentId, capturedAt, then the fields in SPEC order; nulls included. A fleet
    /// capture has `hostId` first. Written into one reservation (`JSONBytes`).
    mutating func writeCapture(_ c: Capture, hostId: String? = nil) {
        writeJSON(bound: Self.captureBound(c, hostId: hostId)) { $0.capture(c, hostId: hostId) }
    }

    /// The static text of a capture object (its keys, quotes, colons, commas and braces: under 500 bytes).
    private static let keysBound = 640

    /// The most bytes `capture` writes: its keys and punctuation, and each value at its bound.
    private static func captureBound(_ c: Capture, hostId: String?) -> Int {
        let f = c.fields
        let u = c.usage
        var strings = JSONBytes.bound(c.sessionId) + JSONBytes.bound(c.agentId)
        strings += JSONBytes.bound(f.taasRequestId) + JSONBytes.bound(f.taasTraceId)
        strings += JSONBytes.bound(f.openclawTurnId) + JSONBytes.bound(f.openclawAttempt)
        strings += JSONBytes.bound(f.autorouterModel) + JSONBytes.bound(f.autorouterAlgo)
        strings += JSONBytes.bound(f.autorouterAlgoSource) + JSONBytes.bound(f.thinkingApplied)
        strings += JSONBytes.bound(u.provider) + JSONBytes.bound(u.requestedModel)
        strings += JSONBytes.bound(u.outcome?.rawValue) + (hostId.map { JSONBytes.bound($0) + 10 } ?? 0)
        let a = c.attribution
        strings += JSONBytes.bound(a.trigger) + JSONBytes.bound(a.channel) + JSONBytes.bound(a.failureKind)
        // 9 integers, 2 doubles, 2 Booleans, and the static text.
        return strings + 9 * JSONBytes.intBound + 2 * JSONBytes.doubleBound + 2 * 5 + keysBound
    }

    mutating func writeCapture(_ c: Capture?) {
        if let c { writeCapture(c) } else { writeStaticString("null") }
    }

    /// `{"recorded":true,"id","duplicate"}`.
    mutating func writeRecordOutcome(_ outcome: RecordOutcome) {
        writeStaticString("{\"recorded\":true,\"id\":")
        writeJSONInt(outcome.id)
        writeStaticString(",\"duplicate\":")
        writeJSONBool(outcome.duplicate)
        writeStaticString("}")
    }

    /// lastRoute: by agent `{"agentId","sessionId","capture"}`, else `{"sessionId","capture"}`.
    mutating func writeLastRoute(_ selector: ResolvedSelector, _ capture: Capture?) {
        if let agentId = selector.agentId {
            writeStaticString("{\"agentId\":")
            writeJSONString(agentId)
            writeStaticString(",\"sessionId\":")
            writeJSONString(capture?.sessionId)
        } else {
            writeStaticString("{\"sessionId\":")
            writeJSONString(selector.sessionId)
        }
        writeStaticString(",\"capture\":")
        writeCapture(capture)
        writeStaticString("}")
    }

    /// history: `{"agentId"|"sessionId", "captures", "nextCursor"}`.
    mutating func writeHistory(_ selector: ResolvedSelector, _ page: HistoryPage) {
        if let agentId = selector.agentId {
            writeStaticString("{\"agentId\":")
            writeJSONString(agentId)
        } else {
            writeStaticString("{\"sessionId\":")
            writeJSONString(selector.sessionId)
        }
        writeStaticString(",\"captures\":[")
        for (i, capture) in page.captures.enumerated() {
            if i > 0 { writeStaticString(",") }
            writeCapture(capture)
        }
        writeStaticString("],\"nextCursor\":")
        writeJSONString(page.nextCursor)
        writeStaticString("}")
    }

    mutating func writeCounts(_ counts: [String: Int]) {
        writeStaticString("{")
        for (i, key) in counts.keys.sorted().enumerated() {
            if i > 0 { writeStaticString(",") }
            writeJSONString(key)
            writeStaticString(":")
            writeJSONInt(Int64(counts[key]!))
        }
        writeStaticString("}")
    }

    /// stats, `by*` keys sorted for stable output; `extra` writes more members before the closing brace
    /// (the fleet's `hosts` and `byHost`).
    mutating func writeStats(_ s: Stats, extra: (inout ByteBuffer) -> Void = { _ in }) {
        writeStaticString("{\"total\":")
        writeJSONInt(Int64(s.total))
        writeStaticString(",\"sessions\":")
        writeJSONInt(Int64(s.sessions))
        writeStaticString(",\"agents\":")
        writeJSONInt(Int64(s.agents))
        writeStaticString(",\"firstCapturedAt\":")
        writeJSONInt(s.firstCapturedAt)
        writeStaticString(",\"lastCapturedAt\":")
        writeJSONInt(s.lastCapturedAt)
        writeStaticString(",\"byModel\":")
        writeCounts(s.byModel)
        writeStaticString(",\"byAlgo\":")
        writeCounts(s.byAlgo)
        writeStaticString(",\"byAlgoSource\":")
        writeCounts(s.byAlgoSource)
        writeStaticString(",\"byThinking\":")
        writeCounts(s.byThinking)
        writeStaticString(",\"usage\":")
        writeUsageTotals(s.usage)
        if let changes = s.routeChanges {
            writeStaticString(",\"routeChanges\":")
            writeJSONInt(Int64(changes))
        }
        if let groups = s.groups {
            writeStaticString(",\"groups\":[")
            for (i, group) in groups.enumerated() {
                if i > 0 { writeStaticString(",") }
                writeStatsGroup(group)
            }
            writeStaticString("]")
        }
        extra(&self)
        writeStaticString("}")
    }

    /// `{"key", "captures", "firstCapturedAt", "lastCapturedAt", "lastModel", "modelSince", "models", "usage",
    /// "routeChanges"}` (the last where the store keeps route changes).
    mutating func writeStatsGroup(_ g: StatsGroup) {
        writeStaticString("{\"key\":")
        writeJSONString(g.key)
        writeStaticString(",\"captures\":")
        writeJSONInt(Int64(g.captures))
        writeStaticString(",\"firstCapturedAt\":")
        writeJSONInt(g.firstCapturedAt)
        writeStaticString(",\"lastCapturedAt\":")
        writeJSONInt(g.lastCapturedAt)
        writeStaticString(",\"lastModel\":")
        writeJSONString(g.lastModel)
        writeStaticString(",\"modelSince\":")
        writeJSONInt(g.modelSince)
        writeStaticString(",\"models\":")
        writeJSONInt(Int64(g.models))
        writeStaticString(",\"usage\":")
        writeUsageTotals(g.usage)
        if let changes = g.routeChanges {
            writeStaticString(",\"routeChanges\":")
            writeJSONInt(Int64(changes))
        }
        writeStaticString("}")
    }

    /// `{"calls", "inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens", "cacheHitRatio",
    /// "costUsd", "cacheSavedUsd"}`.
    mutating func writeUsageTotals(_ u: UsageTotals) {
        writeStaticString("{\"calls\":")
        writeJSONInt(Int64(u.calls))
        writeStaticString(",\"inputTokens\":")
        writeJSONInt(u.inputTokens)
        writeStaticString(",\"outputTokens\":")
        writeJSONInt(u.outputTokens)
        writeStaticString(",\"cacheReadTokens\":")
        writeJSONInt(u.cacheReadTokens)
        writeStaticString(",\"cacheWriteTokens\":")
        writeJSONInt(u.cacheWriteTokens)
        writeStaticString(",\"cacheHitRatio\":")
        writeJSONDouble(u.cacheHitRatio)
        writeStaticString(",\"costUsd\":")
        writeJSONDouble(u.costUsd)
        writeStaticString(",\"cacheSavedUsd\":")
        writeJSONDouble(u.cacheSavedUsd)
        writeStaticString("}")
    }

    /// prune: `{"deleted","remaining","byRule":{"age","perSession","rows"},"unforwardedDropped","durationMs","dryRun"}`.
    mutating func writePruneReport(_ r: PruneReport) {
        writeStaticString("{\"deleted\":")
        writeJSONInt(Int64(r.deleted))
        writeStaticString(",\"remaining\":")
        writeJSONInt(Int64(r.remaining))
        writeStaticString(",\"byRule\":{\"age\":")
        writeJSONInt(Int64(r.byAge))
        writeStaticString(",\"perSession\":")
        writeJSONInt(Int64(r.byPerSession))
        writeStaticString(",\"rows\":")
        writeJSONInt(Int64(r.byRows))
        writeStaticString("},\"unforwardedDropped\":")
        writeJSONInt(Int64(r.unforwarded))
        writeStaticString(",\"durationMs\":")
        writeJSONInt(r.durationMs)
        writeStaticString(",\"dryRun\":")
        writeJSONBool(r.dryRun)
        writeStaticString("}")
    }

    /// `health.forward`: null when forwarding is off, else
    /// `{"target","hostId","state","lagCaptures","lastForwardedId","lastError","droppedUnforwarded"}` (no credentials).
    mutating func writeForward(_ status: ForwardStatus?, progress: ForwardProgress?) {
        guard let status else {
            writeStaticString("null")
            return
        }
        writeStaticString("{\"target\":")
        writeJSONString(status.target)
        writeStaticString(",\"hostId\":")
        writeJSONString(status.hostId)
        writeStaticString(",\"state\":")
        writeJSONString(status.state.rawValue)
        writeStaticString(",\"lagCaptures\":")
        writeJSONInt(status.lagCaptures.map(Int64.init))
        writeStaticString(",\"lastForwardedId\":")
        writeJSONInt(status.lastForwardedId ?? progress?.forwardedThrough)
        writeStaticString(",\"lastError\":")
        writeJSONString(status.lastError)
        writeStaticString(",\"lastErrorKind\":")
        writeJSONString(status.lastErrorKind)
        writeStaticString(",\"droppedUnforwarded\":")
        writeJSONInt(progress?.droppedUnforwarded ?? 0)
        writeStaticString("}")
    }

    /// health: `{"status","version","schemaVersion","captures","dbBytes","walBytes","statsRollupsBehind","uptimeMs",
    /// "durability","retention","commits","recordsCommitted","storage":{"ok","kind","error","since","failedWrites"},"forward",
    /// "budgets":{"count","exceeded","checkedAt"}}`. `status` is `degraded` while `storage` reports a fault; the
    /// file's figures are null when it could not be read. The budgets as `BudgetWatch` last checked them (every
    /// `--budget-check-interval`).
    mutating func writeHealth(_ health: StoreHealth?, storage fault: StorageCondition.Fault?, of context: ServiceContext) {
        let uptime = ContinuousClock.now - context.startedAt
        writeStaticString(fault == nil ? "{\"status\":\"ok\",\"version\":" : "{\"status\":\"degraded\",\"version\":")
        writeJSONString(context.version)
        writeStaticString(",\"schemaVersion\":")
        writeJSONInt(health.map { Int64($0.schemaVersion) })
        writeStaticString(",\"captures\":")
        writeJSONInt(health.map { Int64($0.captures) })
        writeStaticString(",\"dbBytes\":")
        writeJSONInt(health?.dbBytes)
        writeStaticString(",\"walBytes\":")
        writeJSONInt(health?.walBytes)
        writeStaticString(",\"statsRollupsBehind\":")
        writeJSONInt(health.map { Int64($0.rollupsBehind) })
        writeStaticString(",\"uptimeMs\":")
        writeJSONInt(uptime.wholeMilliseconds)
        writeStaticString(",\"durability\":")
        writeJSONString(context.durability.rawValue)
        writeStaticString(",\"retention\":")
        writeRetention(context.retention)
        let written = context.writerStats.snapshot
        writeStaticString(",\"commits\":")
        writeJSONInt(Int64(written.commits))
        writeStaticString(",\"recordsCommitted\":")
        writeJSONInt(Int64(written.records))
        writeStaticString(",\"storage\":")
        writeStorage(fault)
        writeStaticString(",\"forward\":")
        writeForward(context.forwarder?.status, progress: health?.forward)
        let budgets = context.budgets.snapshot
        writeStaticString(",\"budgets\":{\"count\":")
        writeJSONInt(Int64(budgets.count))
        writeStaticString(",\"exceeded\":")
        writeJSONInt(Int64(budgets.exceeded))
        writeStaticString(",\"checkedAt\":")
        writeJSONInt(budgets.checkedAt)
        writeStaticString("}}")
    }

    /// `{"ok", "kind", "error", "since", "failedWrites"}`: the storage fault under way (`kind`: full, ioError,
    /// readOnly, corrupt, notADatabase, cantOpen), or `{"ok": true}` with nulls and 0.
    private mutating func writeStorage(_ fault: StorageCondition.Fault?) {
        writeStaticString(fault == nil ? "{\"ok\":true,\"kind\":" : "{\"ok\":false,\"kind\":")
        writeJSONString(fault.map { "\($0.code)" })
        writeStaticString(",\"error\":")
        writeJSONString(fault?.message)
        writeStaticString(",\"since\":")
        writeJSONInt(fault?.since)
        writeStaticString(",\"failedWrites\":")
        writeJSONInt(Int64(fault?.failedWrites ?? 0))
        writeStaticString("}")
    }

    /// setBudget: `{"subject": {"agentId"|"sessionId"}, "usdPerDay", "previous", "updatedAt"}`.
    mutating func writeBudgetChange(_ change: BudgetChange) {
        writeBudgetStart(change.subject, usdPerDay: change.usdPerDay)
        writeStaticString(",\"previous\":")
        writeJSONDouble(change.previous)
        writeStaticString(",\"updatedAt\":")
        writeJSONInt(change.updatedAt)
        writeStaticString("}")
    }

    /// A budget object's start: `{"subject": {"agentId"|"sessionId"}, "usdPerDay"` (the caller closes it).
    private mutating func writeBudgetStart(_ subject: CaptureSelector, usdPerDay: Double?) {
        writeStaticString("{\"subject\":{")
        writeOverrideSubject(subject)
        writeStaticString("},\"usdPerDay\":")
        writeJSONDouble(usdPerDay)
    }

    /// budgets: `{"day", "dayStart", "count", "exceeded", "budgets": [{"subject", "usdPerDay", "spentTodayUsd",
    /// "exceeded", "updatedAt"}]}` (the day is UTC).
    mutating func writeBudgetListing(_ listing: BudgetListing) {
        writeStaticString("{\"day\":")
        writeJSONString(UTCDate(containing: listing.dayStart).text)
        writeStaticString(",\"dayStart\":")
        writeJSONInt(listing.dayStart)
        writeStaticString(",\"count\":")
        writeJSONInt(Int64(listing.budgets.count))
        writeStaticString(",\"exceeded\":")
        writeJSONInt(Int64(listing.exceeded))
        writeStaticString(",\"budgets\":[")
        for (i, standing) in listing.budgets.enumerated() {
            if i > 0 { writeStaticString(",") }
            writeBudgetStart(standing.budget.subject, usdPerDay: standing.budget.usdPerDay)
            writeStaticString(",\"spentTodayUsd\":")
            writeJSONDouble(standing.spentTodayUsd)
            writeStaticString(",\"exceeded\":")
            writeJSONBool(standing.exceeded)
            writeStaticString(",\"updatedAt\":")
            writeJSONInt(standing.budget.updatedAt)
            writeStaticString("}")
        }
        writeStaticString("]}")
    }

    /// page: `{"html"}`.
    mutating func writePage(_ html: String) {
        writeStaticString("{\"html\":")
        writeJSONString(html)
        writeStaticString("}")
    }

    /// deriveSessionId: `{"sessionId","source"}`.
    mutating func writeSessionIdentity(_ identity: SessionIdentity) {
        writeStaticString("{\"sessionId\":")
        writeJSONString(identity.sessionId)
        writeStaticString(",\"source\":")
        writeJSONString(identity.source.rawValue)
        writeStaticString("}")
    }

    /// A retention policy: `{"maxAgeMs","maxPerSession","maxRows"}` (0 = rule off).
    mutating func writeRetention(_ r: RetentionPolicy) {
        writeStaticString("{\"maxAgeMs\":")
        writeJSONInt(r.maxAgeMs)
        writeStaticString(",\"maxPerSession\":")
        writeJSONInt(Int64(r.maxPerSession))
        writeStaticString(",\"maxRows\":")
        writeJSONInt(Int64(r.maxRows))
        writeStaticString("}")
    }
}

extension PruneReport {
    /// The `taas.capture.prune` result as one line of JSON; `taas-capture prune --json` prints the same.
    public var jsonText: String {
        var buffer = ByteBuffer()
        buffer.writePruneReport(self)
        return String(buffer: buffer)
    }
}

extension JSONBytes {
    /// The capture object `ByteBuffer.writeCapture` reserves room for.
    mutating func capture(_ c: Capture, hostId: String?) {
        if let hostId {
            text("{\"hostId\":")
            string(hostId)
            text(",\"id\":")
        } else {
            text("{\"id\":")
        }
        int(c.id)
        text(",\"sessionId\":")
        string(c.sessionId)
        text(",\"agentId\":")
        string(c.agentId)
        text(",\"capturedAt\":")
        int(c.capturedAt)
        let f = c.fields
        text(",\"taasRequestId\":")
        string(f.taasRequestId)
        text(",\"taasTraceId\":")
        string(f.taasTraceId)
        text(",\"openclawTurnId\":")
        string(f.openclawTurnId)
        text(",\"openclawAttempt\":")
        string(f.openclawAttempt)
        text(",\"autorouterModel\":")
        string(f.autorouterModel)
        text(",\"autorouterAlgo\":")
        string(f.autorouterAlgo)
        text(",\"autorouterAlgoSource\":")
        string(f.autorouterAlgoSource)
        text(",\"thinkingApplied\":")
        string(f.thinkingApplied)
        text(",\"routedContextWindow\":")
        int(f.routedContextWindow.map { Int64($0) })
        let u = c.usage
        text(",\"autorouted\":")
        bool(u.autorouted)
        text(",\"provider\":")
        string(u.provider)
        text(",\"requestedModel\":")
        string(u.requestedModel)
        text(",\"inputTokens\":")
        int(u.inputTokens)
        text(",\"outputTokens\":")
        int(u.outputTokens)
        text(",\"cacheReadTokens\":")
        int(u.cacheReadTokens)
        text(",\"cacheWriteTokens\":")
        int(u.cacheWriteTokens)
        text(",\"costUsd\":")
        double(u.costUsd)
        text(",\"cacheSavedUsd\":")
        double(u.cacheSavedUsd)
        text(",\"durationMs\":")
        int(u.durationMs)
        text(",\"outcome\":")
        string(u.outcome?.rawValue)
        let a = c.attribution
        text(",\"trigger\":")
        string(a.trigger)
        text(",\"channel\":")
        string(a.channel)
        text(",\"timeToFirstByteMs\":")
        int(a.timeToFirstByteMs)
        text(",\"failureKind\":")
        string(a.failureKind)
        text(",\"routeChanged\":")
        if let changed = c.routeChanged { bool(changed) } else { text("null") }
        byte(UInt8(ascii: "}"))
    }
}
