extension RouteCache {
    /// Keeps the cache exact through one writer connection's transactions (the rules are `RouteCache`'s):
    /// the connection tells it of each, as a `TransactionObserver`, and knows nothing of the cache.
    final class Observer: TransactionObserver {
        private let cache: RouteCache
        /// While a `BEGIN IMMEDIATE` transaction is open: the WAL-index header and `PRAGMA data_version`
        /// (which changes only when another connection's commit is seen) at its BEGIN.
        private var openWrite: (stamp: WalStamp?, dataVersion: Int64?)?

        init(_ cache: RouteCache) {
            self.cache = cache
        }

        func writeBegan(on connection: Connection) {
            // Holding the write lock: no other connection can commit until this transaction ends.
            let write = (stamp: connection.walStamp(), dataVersion: try? connection.scalarInt("PRAGMA data_version"))
            openWrite = write
            cache.writerBegan(write.stamp)
        }

        func didCommit(on connection: Connection, frames: Int?) {
            guard let write = openWrite else {
                // A write outside `BEGIN IMMEDIATE`: its effects are unknown to the cache.
                if frames != nil { cache.writerLostTrack() }
                return
            }
            openWrite = nil
            cache.writerCommitted(began: write.stamp, frames: frames, now: connection.walStamp()) {
                // https://www.sqlite.org/pragma.html#pragma_data_version: read after the header, so a commit by
                // another connection before that read changes it.
                (try? connection.scalarInt("PRAGMA data_version")) != write.dataVersion
            }
        }

        func didRollback(on connection: Connection) {
            if openWrite != nil { cache.writerRolledBack() }
            openWrite = nil
        }
    }
}
