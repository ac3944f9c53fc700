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
    public func backup(to destination: String) throws(StoreError) {
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
            // -1: all pages in one step, one consistent snapshot of the source.
            let stepResult = sqlite3_backup_step(backup, -1)
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
