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

    /// Counts one committed transaction of `records` records. A checkpoint that commit ran and that failed keeps
    /// (or starts) the storage fault: the commit itself is durable, but the WAL cannot shrink.
    func committed(records: Int, checkpointFailure: StoreError? = nil) {
        counts.withLockedValue {
            $0.commits += 1
            $0.records += records
        }
        if let checkpointFailure {
            storage.failed(checkpointFailure)
        } else {
            storage.committed()
        }
    }

    /// A write of `records` records failed with `error`.
    func failed(_ error: StoreError, records: Int) {
        storage.failed(error, records: records)
    }

    var snapshot: (commits: Int, records: Int) { counts.withLockedValue { ($0.commits, $0.records) } }

    var storageHealthy: Bool { storage.healthy }
}
