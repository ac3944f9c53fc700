import CaptureStore
import NIOConcurrencyHelpers

/// What the writer has committed since start, reported by `taas.capture.health` as `commits` and
/// `recordsCommitted`: their ratio is how many records share a transaction (group commit at work). And whether
/// storage is failing: the last write of records failed with an error of the storage itself (full, I/O,
/// corrupt, read-only, not a database), until the next commit succeeds (`taas_capture_storage_healthy`).
final class WriterStats: Sendable {
    private let counts = NIOLockedValueBox((commits: 0, records: 0, failing: false))

    /// Counts one committed transaction of `records` records.
    func committed(records: Int) {
        counts.withLockedValue {
            $0.commits += 1
            $0.records += records
            $0.failing = false
        }
    }

    /// A write of records failed with `error`.
    func failed(_ error: StoreError) {
        let storage: [StoreError.Code] = [.full, .ioError, .corrupt, .notADatabase, .readOnly, .cantOpen]
        guard storage.contains(error.code) else { return }
        counts.withLockedValue { $0.failing = true }
    }

    var snapshot: (commits: Int, records: Int) { counts.withLockedValue { ($0.commits, $0.records) } }

    var storageHealthy: Bool { counts.withLockedValue { !$0.failing } }
}
