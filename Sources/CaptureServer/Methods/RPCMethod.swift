import AffinityCore
import CaptureStore

/// One JSON-RPC method with everything the transport and the dispatcher need of it, registered once in
/// `RPCMethod.table`, as Hummingbird's router registers a route with its handler. No other place matches a
/// method's name.
struct RPCMethod: Sendable {
    /// What a call costs against its connection's per-tick work budget, and the history captures it may
    /// return (which one batch may ask for only so many of).
    struct Cost: Equatable, Sendable {
        var units: Int
        var captures: Int
        static let one = Cost(units: 1, captures: 0)
    }

    typealias Run = @Sendable (MethodDispatcher, Params, @escaping MethodDispatcher.Completion) throws(RPCError) -> Void

    let name: String
    /// Whether it changes stored data: a connection runs any other call only after its own earlier
    /// calls of these are done (SPEC v2 "Ordered effects on one connection").
    let changesData: Bool
    /// Read from the raw params before they are validated, so a bad `limit` counts as the size it would
    /// be clamped to.
    let cost: @Sendable (JSON?) -> Cost
    /// Reads the params, runs the call (inline, on the scan pool or on the writer) and encodes its result.
    let run: Run

    init(
        _ name: String, changesData: Bool = false, cost: @escaping @Sendable (JSON?) -> Cost = { _ in .one },
        run: @escaping Run
    ) {
        self.name = name
        self.changesData = changesData
        self.cost = cost
        self.run = run
    }

    /// The method called `name`, or nil (answered -32601).
    static func named(_ name: String) -> RPCMethod? { byName[name] }

    /// Every method the service answers.
    static let table: [RPCMethod] = [
        RPCMethod("taas.autorouter.record", changesData: true) { (d, params, done) throws(RPCError) in try d.record(params, done) },
        RPCMethod("taas.autorouter.lastRoute") { (d, params, done) throws(RPCError) in done(try d.lastRoute(params)) },
        RPCMethod("taas.autorouter.history", cost: historyCost) { (d, params, done) throws(RPCError) in done(try d.history(params)) },
        RPCMethod("taas.autorouter.stats") { (d, params, done) throws(RPCError) in try d.stats(params, done) },
        RPCMethod("taas.autorouter.setAlgorithm", changesData: true) { (d, params, done) throws(RPCError) in
            try d.setAlgorithm(params, done)
        },
        RPCMethod("taas.autorouter.algorithms") { (d, params, done) throws(RPCError) in done(try d.algorithms(params)) },
        RPCMethod("taas.capture.prune", changesData: true) { (d, params, done) throws(RPCError) in try d.prune(params, done) },
        RPCMethod("taas.capture.health") { (d, _, done) throws(RPCError) in try d.health(done) },
        RPCMethod("taas.capture.page") { (d, params, done) throws(RPCError) in try d.page(params, done) },
        RPCMethod("taas.capture.setBudget", changesData: true) { (d, params, done) throws(RPCError) in
            try d.setBudget(params, done)
        },
        RPCMethod("taas.capture.budgets") { (d, _, done) throws(RPCError) in try d.budgets(done) },
        RPCMethod("taas.affinity.deriveSessionId") { (d, params, done) throws(RPCError) in done(try d.deriveSessionId(params)) },
    ]

    private static let byName = Dictionary(uniqueKeysWithValues: table.map { ($0.name, $0) })

    /// A history page costs 1 plus its size in hundreds of captures.
    private static func historyCost(_ params: JSON?) -> Cost {
        let captures = HistoryQuery.clampedLimit(params?["limit"]?.integerValue)
        return Cost(units: 1 + captures / 100, captures: captures)
    }
}
