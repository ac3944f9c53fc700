#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import CSQLite

extension CaptureWriter {
    /// Copies the database, as of one consistent moment, into a new 0600 file at `destination`.
    ///
    /// Uses the online backup API (https://www.sqlite.org/backup.html) with this writer's connection as the
    /// source, so concurrent readers are not disturbed. Refuses an existing destination rather than overwrite it;
    /// on failure the partial destination is removed.
    ///
    /// It copies `pagesPerStep` pages at a time and reports `(copied, total)` pages after each step. A write by
    /// another process between steps restarts the copy (SQLite's rule for a changed source); after
    /// `maxRestarts` restarts the rest is copied in one step, which holds one snapshot to the end, so a busy
    /// service can never keep a backup from finishing.
    public func backup(
        to destination: String, pagesPerStep: Int32 = 1024, maxRestarts: Int = 3,
        progress: (_ copied: Int, _ total: Int) -> Void = { _, _ in }
    ) throws(StoreError) {
        guard try DatabaseFile.createPrivate(destination) else {
            throw StoreError(code: .invalidArgument, message: "the backup destination already exists; choose a new file")
        }
        do throws(StoreError) {
            let target = try Connection(path: destination, flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: 5000)
            defer { target.close() }
            guard let source = connection.handle, let targetHandle = target.handle,
                let backup = sqlite3_backup_init(targetHandle, "main", source, "main")
            else {
                throw StoreError.sqlite(sqlite3_extended_errcode(target.handle), target.handle, "cannot start the backup")
            }
            var stepResult = SQLITE_OK
            var restarts = 0
            var lastRemaining = Int32.max
            var busyWaits = 0
            while stepResult == SQLITE_OK || ((stepResult == SQLITE_BUSY || stepResult == SQLITE_LOCKED) && busyWaits < 500) {
                // -1 copies every remaining page in one step: one consistent snapshot of the source.
                stepResult = sqlite3_backup_step(backup, restarts >= maxRestarts ? -1 : pagesPerStep)
                let remaining = sqlite3_backup_remaining(backup)
                let total = sqlite3_backup_pagecount(backup)
                if remaining > lastRemaining { restarts += 1 }
                lastRemaining = remaining
                progress(Int(total - remaining), Int(total))
                if stepResult == SQLITE_BUSY || stepResult == SQLITE_LOCKED {
                    busyWaits += 1
                    usleep(10_000)
                }
            }
            let finishResult = sqlite3_backup_finish(backup)
            guard stepResult == SQLITE_DONE, finishResult == SQLITE_OK else {
                let rc = stepResult == SQLITE_DONE ? finishResult : stepResult
                throw StoreError.sqlite(rc, targetHandle, "the backup failed")
            }
            DatabaseFile.restrictSidecars(of: destination)
        } catch {
            unlink(destination)
            for suffix in ["-wal", "-shm", "-journal"] { unlink(destination + suffix) }
            throw error
        }
    }
}
