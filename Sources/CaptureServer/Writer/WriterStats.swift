import NIOConcurrencyHelpers

/// What the writer has committed since start, reported by `taas.capture.health` as `commits` and
/// `recordsCommitted`: their ratio is how many records share a transaction (group commit at work).
final class WriterStats: Sendable {
    private let counts = NIOLockedValueBox((commits: 0, records: 0))

    /// Counts one committed transaction of `records` records.
    func committed(records: Int) {
        counts.withLockedValue {
            $0.commits += 1
            $0.records += records
        }
    }

    var snapshot: (commits: Int, records: Int) { counts.withLockedValue { $0 } }
}
