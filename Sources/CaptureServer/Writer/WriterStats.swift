import CaptureStore
import NIOConcurrencyHelpers

/// What the writer has committed since start, reported by `taas.capture.health` as `commits` and
/// `recordsCommitted`: their ratio is how many records share a transaction (group commit at work). Commits and
/// failures also go to `storage`, the condition `health.storage` and `taas_capture_storage_healthy` report.
final class WriterStats: Sendable {
    private let counts = NIOLockedValueBox((commits: 0, records: 0))
    let storage: StorageCondition

    init(storage: StorageCondition) {
        self.storage = storage
    }

    /// Counts one committed transaction of `records` records, and tells `storage`.
    func committed(records: Int) {
        counts.withLockedValue {
            $0.commits += 1
            $0.records += records
        }
        storage.committed()
    }

    var snapshot: (commits: Int, records: Int) { counts.withLockedValue { ($0.commits, $0.records) } }
}
