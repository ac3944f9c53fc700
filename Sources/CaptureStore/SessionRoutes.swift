import AffinityCore

/// The writer's memory of each recently recorded session's newest routed capture, so that a record's route change
/// (`captures.route_changed`, SPEC v3 `routeChanged`) usually needs no read of the session's previous capture.
///
/// It holds only what the writer itself stored, and is emptied whenever that may no longer be the newest routed
/// capture stored: another connection committed (`PRAGMA data_version` moved:
/// https://www.sqlite.org/pragma.html#pragma_data_version), this writer pruned, or a write transaction rolled back.
/// A session it does not hold is read from `captures_by_session`, the same answer. At most `capacity` sessions
/// (about 100 bytes each); past that it starts empty again.
struct SessionRoutes {
    struct Route {
        var capturedAt: Int64
        var id: Int64
        var model: String?
    }

    static let capacity = 16_384
    private var routes: [ScalarKey: Route] = [:]
    private var dataVersion: Int64?

    /// Empties the memory unless `version` (the connection's `data_version` inside a new write transaction) is the
    /// one seen last: every other connection's commit moves it.
    mutating func check(dataVersion version: Int64) {
        if version != dataVersion { forget() }
        dataVersion = version
    }

    mutating func forget() { routes.removeAll(keepingCapacity: true) }

    /// The newest routed capture stored for `session`, when held.
    func newest(of session: ScalarKey) -> Route? { routes[session] }

    /// Notes `route` as stored for `session` when it is newer, by `(capturedAt, id)`, than what is held.
    mutating func note(_ route: Route, of session: ScalarKey) {
        if let held = routes[session], (held.capturedAt, held.id) >= (route.capturedAt, route.id) { return }
        if routes[session] == nil, routes.count >= Self.capacity { routes.removeAll(keepingCapacity: true) }
        routes[session] = route
    }

    /// Whether `model` differs from `previous` as SQL's `IS NOT` compares text: by bytes, nil only equal to nil.
    static func differs(_ model: String?, _ previous: String?) -> Bool {
        switch (model, previous) {
        case (nil, nil): false
        case let (a?, b?): !(a.utf8.count == b.utf8.count && a.utf8.elementsEqual(b.utf8))
        default: true
        }
    }
}
