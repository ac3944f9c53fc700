import NIOConcurrencyHelpers

/// Counts open connections across event loops.
final class ConnectionLimiter: Sendable {
    private let open = NIOLockedValueBox(0)
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Takes a slot; false when `limit` connections are already open.
    func acquire() -> Bool {
        open.withLockedValue { count in
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    /// Gives a slot back.
    func release() {
        open.withLockedValue { $0 -= 1 }
    }
}
