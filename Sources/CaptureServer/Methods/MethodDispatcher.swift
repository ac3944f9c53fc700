import AffinityCore
import CaptureReport
import CaptureStore
import Logging
import NIOCore

/// Executes JSON-RPC calls for the connections of ONE event loop, and only on that loop.
///
/// Readers: each event loop has its own `CaptureReader` for `lastRoute` and `history`. Those are
/// indexed lookups of a few microseconds, cheaper than any hop to another thread, so they run inline
/// on the loop; WAL readers never wait on the writer. `stats` and `health` may scan the table, so they
/// go to `ScanReader`'s pool. Writes (`record`, `prune`) go to the single writer thread.
final class MethodDispatcher {
    typealias Completion = (Result<RPCResult, RPCError>) -> Void

    private let context: ServiceContext
    private let reader: CaptureReader
    private let eventLoop: any EventLoop

    init(context: ServiceContext, reader: CaptureReader, eventLoop: any EventLoop) {
        self.context = context
        self.reader = reader
        self.eventLoop = eventLoop
    }

    /// Closes this loop's reader.
    func close() { reader.close() }

    /// Counts an error answered on a connection of this loop (no-op without metrics).
    func answeredError(code: Int) { context.metrics?.answeredError(code: code) }

    /// Counts a connection opened or closed on this loop (no-op without metrics).
    func connectionOpened() { context.metrics?.connectionOpened() }
    func connectionClosed() { context.metrics?.connectionClosed() }

    /// What a request costs against its connection's per-tick work budget: 1, plus a history page's
    /// size in hundreds of captures; and the captures it may return (a history page's size, else 0).
    /// Read before the params are validated, so a bad `limit` counts as the size it would be clamped to.
    static func cost(of request: RPCRequest) -> (units: Int, captures: Int) {
        guard request.method == "taas.autorouter.history" else { return (1, 0) }
        let captures = HistoryQuery.clampedLimit(request.params?["limit"]?.integerValue)
        return (1 + captures / 100, captures)
    }

    /// The methods that change stored data. A connection runs every other call only after its own
    /// earlier writes are done (SPEC v2 "Ordered effects on one connection").
    static func changesData(_ method: String) -> Bool {
        switch method {
        case "taas.autorouter.record", "taas.autorouter.setAlgorithm", "taas.capture.prune": true
        default: false
        }
    }

    /// Runs `request` and calls `completion` on this loop, now (queries) or later (writes, scans).
    func dispatch(_ request: RPCRequest, completion: @escaping Completion) {
        do throws(RPCError) {
            let params = try Params(request.params)
            switch request.method {
            case "taas.autorouter.record": try record(params, completion)
            case "taas.autorouter.lastRoute": completion(try lastRoute(params))
            case "taas.autorouter.history": completion(try history(params))
            case "taas.autorouter.stats": try stats(params, completion)
            case "taas.autorouter.setAlgorithm": try setAlgorithm(params, completion)
            case "taas.autorouter.algorithms": try algorithms(params, completion)
            case "taas.capture.prune": try prune(params, completion)
            case "taas.capture.health": health(completion)
            case "taas.capture.page": try page(params, completion)
            case "taas.affinity.deriveSessionId": completion(try deriveSessionId(params))
            default: completion(.failure(.methodNotFound(request.method)))
            }
        } catch {
            completion(.failure(error))
        }
    }

    private func encode(sizeHint: Int = 256, _ body: @escaping (inout ByteBuffer) -> Void) -> Result<RPCResult, RPCError> {
        .success(RPCResult(sizeHint: sizeHint, body))
    }

    private func failure(_ error: StoreError, _ method: String) -> Result<RPCResult, RPCError> {
        if error.code == .invalidCursor {
            context.logger.debug("invalid cursor", metadata: ["method": "\(method)"])
        } else if RPCError.isBug(error) {
            context.logger.error("store error", metadata: ["method": "\(method)", "error": "\(error)"])
        } else {
            context.logger.warning("store error", metadata: ["method": "\(method)", "code": "\(error.code)"])
        }
        return .failure(RPCError(error))
    }

    /// Wraps `completion` so that another thread can hand a result back to this loop.
    private func deliver<T: Sendable>(
        _ method: String, _ completion: @escaping Completion, encode: @escaping (inout ByteBuffer, T) -> Void
    ) -> WriterCompletion<T> {
        let bound = NIOLoopBound((completion, encode, self), eventLoop: eventLoop)
        return WriterCompletion(eventLoop: eventLoop) { result in
            let (completion, encode, dispatcher) = bound.value
            switch result {
            case .success(let value): completion(dispatcher.encode { encode(&$0, value) })
            case .failure(let error): completion(dispatcher.failure(error, method))
            }
        }
    }

    private func record(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        switch try params.recordRequest(now: WallClock.unixMillis()) {
        case .notAutorouted:
            completion(encode { $0.writeStaticString("{\"recorded\":false,\"reason\":\"not_autorouted\"}") })
        case .store(let capture):
            let metrics = context.metrics
            let started = metrics == nil ? nil : ContinuousClock.now
            let done = deliver("record", completion) { (buffer, outcome: RecordOutcome) in
                if let metrics, let started {
                    metrics.recorded(capture, duplicate: outcome.duplicate, after: ContinuousClock.now - started)
                }
                buffer.writeRecordOutcome(outcome)
            }
            guard context.writeQueue.submit(.record(capture, done)) else {
                throw .overloaded("write queue full")
            }
        }
    }

    private func lastRoute(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let selector = try params.requiredSelector()
        do {
            let capture = try reader.lastRoute(selector.selector)
            return encode { $0.writeLastRoute(selector, capture) }
        } catch {
            return failure(error, "lastRoute")
        }
    }

    private func history(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let selector = try params.requiredSelector()
        let limits = Int64(HistoryQuery.limits.lowerBound)...Int64(HistoryQuery.limits.upperBound)
        let limit = try params.integer("limit", in: limits) ?? Int64(HistoryQuery.defaultLimit)
        let cursor = try params.string("cursor")
        let since = try params.integer("since", in: Int64.min...Int64.max)
        let until = try params.integer("until", in: Int64.min...Int64.max)
        let query = HistoryQuery(
            selector: selector.selector, limit: Int(limit), cursor: cursor, since: since, until: until
        )
        do {
            let page = try reader.history(query)
            return encode(sizeHint: 64 + page.captures.count * 720) { $0.writeHistory(selector, page) }
        } catch {
            return failure(error, "history")
        }
    }

    private func stats(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let selector = try params.selector()?.selector
        let since = try params.integer("since", in: Int64.min...Int64.max)
        let until = try params.integer("until", in: Int64.min...Int64.max)
        let grouping = try params.statsGrouping()
        let done = deliver("stats", completion) { (buffer, stats: Stats) in buffer.writeStats(stats) }
        let scan = context.scanReader.run(on: eventLoop) { (reader) throws(StoreError) in
            try reader.stats(
                selector, since: since, until: until, groupBy: grouping?.0, limit: grouping?.1 ?? StatsGroup.defaultLimit)
        }
        guard let scan else { throw .overloaded("too many queries waiting") }
        scan.whenComplete { result in
            done.deliver(result.mapError { $0 as? StoreError ?? StoreError(code: .internal, message: "\($0)") })
        }
    }

    /// A dashboard page (SPEC v3 "The dashboard tab"), rendered on the scan pool: `{"html"}`.
    private func page(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let request = try params.pageRequest()
        // A page saved to a file (`openclaw taas report`) has no links: they would only reload the file.
        let links = try params.bool("links") ?? true
        let done = deliver("page", completion) { (buffer, html: String) in
            buffer.writeStaticString("{\"html\":")
            buffer.writeJSONString(html)
            buffer.writeStaticString("}")
        }
        let scan = context.scanReader.run(on: eventLoop) { (reader) throws(StoreError) in
            try Pages.html(request, reader: reader, now: WallClock.unixMillis(), links: links)
        }
        guard let scan else { throw .overloaded("too many queries waiting") }
        scan.whenComplete { result in
            done.deliver(result.mapError { $0 as? StoreError ?? StoreError(code: .internal, message: "\($0)") })
        }
    }

    private func setAlgorithm(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let (selector, algorithm) = try params.algorithmOverride()
        let done = deliver("setAlgorithm", completion) { (buffer, change: OverrideChange) in
            buffer.writeOverrideChange(change)
        }
        guard context.writeQueue.submit(.setAlgorithm(algorithm, selector, done)) else {
            throw .overloaded("write queue full")
        }
    }

    /// Reads the small overrides table inline, like `lastRoute`: an indexed range of at most
    /// `OverrideLimits.maxListed` rows.
    private func algorithms(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let sinceVersion = try params.integer("sinceVersion", in: 0...Int64.max)
        do {
            let listing = try reader.algorithms(sinceVersion: sinceVersion)
            completion(encode { $0.writeOverrideListing(listing) })
        } catch {
            completion(failure(error, "algorithms"))
        }
    }

    private func prune(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        var policy = context.retention
        if let v = try params.integer("maxAgeMs", in: 0...Int64.max) { policy.maxAgeMs = v }
        if let v = try params.integer("maxPerSession", in: 0...Int64(Int32.max)) { policy.maxPerSession = Int(v) }
        if let v = try params.integer("maxRows", in: 0...Int64(Int32.max)) { policy.maxRows = Int(v) }
        let dryRun = try params.bool("dryRun") ?? false
        let done = deliver("prune", completion) { (buffer, report: PruneReport) in buffer.writePruneReport(report) }
        guard context.writeQueue.submit(.prune(policy, dryRun: dryRun, done)) else {
            throw .overloaded("write queue full")
        }
    }

    private func health(_ completion: @escaping Completion) {
        let context = self.context
        let done = deliver("health", completion) { (buffer, health: StoreHealth) in
            let uptime = ContinuousClock.now - context.startedAt
            buffer.writeStaticString("{\"status\":\"ok\",\"version\":")
            buffer.writeJSONString(context.version)
            buffer.writeStaticString(",\"schemaVersion\":")
            buffer.writeJSONInt(Int64(health.schemaVersion))
            buffer.writeStaticString(",\"captures\":")
            buffer.writeJSONInt(Int64(health.captures))
            buffer.writeStaticString(",\"dbBytes\":")
            buffer.writeJSONInt(health.dbBytes)
            buffer.writeStaticString(",\"walBytes\":")
            buffer.writeJSONInt(health.walBytes)
            buffer.writeStaticString(",\"statsRollupsBehind\":")
            buffer.writeJSONInt(Int64(health.rollupsBehind))
            buffer.writeStaticString(",\"uptimeMs\":")
            buffer.writeJSONInt(uptime.wholeMilliseconds)
            buffer.writeStaticString(",\"durability\":")
            buffer.writeJSONString(context.durability.rawValue)
            buffer.writeStaticString(",\"retention\":")
            buffer.writeRetention(context.retention)
            let written = context.writerStats.snapshot
            buffer.writeStaticString(",\"commits\":")
            buffer.writeJSONInt(Int64(written.commits))
            buffer.writeStaticString(",\"recordsCommitted\":")
            buffer.writeJSONInt(Int64(written.records))
            buffer.writeStaticString(",\"forward\":")
            buffer.writeForward(context.forwarder?.status, progress: health.forward)
            buffer.writeStaticString("}")
        }
        guard let scan = context.scanReader.run(on: eventLoop, { (reader) throws(StoreError) in try reader.health() })
        else {
            return completion(.failure(.overloaded("too many queries waiting")))
        }
        scan.whenComplete { result in
                done.deliver(result.mapError { $0 as? StoreError ?? StoreError(code: .internal, message: "\($0)") })
            }
    }

    /// The service has no environment of the caller's: every tier input comes as a parameter, and a
    /// call with none of them is refused rather than answered from the service's own home directory.
    private func deriveSessionId(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let keys = ["localSessionId", "workspaceDir", "openclawSessionId", "agentId", "runId", "stateDir"]
        var values: [String: String] = [:]
        for key in keys {
            if let v = try params.identity(key) { values[key] = v }
        }
        guard !values.isEmpty else { throw .invalidParams("params", "at least one of \(keys.joined(separator: ", ")) is required") }
        if let stateDir = values["stateDir"], !PosixPath.isAbsolute(stateDir) {
            throw .invalidParams("stateDir", "must be an absolute path")
        }
        let input = SessionIdentityInput(
            localSessionId: values["localSessionId"], workspaceDir: values["workspaceDir"],
            openclawSessionId: values["openclawSessionId"], agentId: values["agentId"], runId: values["runId"],
            stateDir: values["stateDir"], home: nil, cwd: "/"
        )
        let identity: SessionIdentity
        do {
            identity = try SessionIdentity.deriveRequiringAbsoluteWorkspace(from: input)
        } catch {
            throw .invalidParams("workspaceDir", "must be an absolute path")
        }
        return encode {
            $0.writeStaticString("{\"sessionId\":")
            $0.writeJSONString(identity.sessionId)
            $0.writeStaticString(",\"source\":")
            $0.writeJSONString(identity.source.rawValue)
            $0.writeStaticString("}")
        }
    }
}
