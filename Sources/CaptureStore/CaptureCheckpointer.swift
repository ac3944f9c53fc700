import CSQLite

/// A connection of its own that copies the writer's WAL into the database file with PASSIVE checkpoints, which
/// never wait for (nor hold up) the writer or readers: https://www.sqlite.org/c3ref/wal_checkpoint_v2.html. Run on a
/// thread beside the writer's and woken by its commits (`CaptureWriter.checkpointInBackground`, `CheckpointSchedule`).
///
/// Opened after the writer (which creates and migrates the file). Its `synchronous` is the writer's: a checkpoint syncs
/// the WAL before it copies and the database file after. Not `Sendable`: one thread owns it.
public final class CaptureCheckpointer {
    private let connection: Connection

    public init(path: String, durability: Durability) throws(StoreError) {
        connection = try Connection(path: path, flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: 5000)
        switch durability {
        case .normal: try connection.execute("PRAGMA synchronous = NORMAL")
        case .full: try connection.execute("PRAGMA synchronous = FULL")
        }
        // Reading the schema opens the WAL and its index for this connection.
        _ = try connection.scalarInt("SELECT count(*) FROM sqlite_schema")
    }

    /// How one pass went.
    public enum Pass: Equatable, Sendable {
        /// Of the `walFrames` frames the WAL held, `copied` are in the database file (all, unless a reader's snapshot
        /// still needed some: the next pass takes them).
        case copied(walFrames: Int, copied: Int)
        /// Another connection (the writer, copying the last few frames) was checkpointing: nothing done.
        case busy
    }

    /// Copies every frame it can.
    public func copy() throws(StoreError) -> Pass {
        let result = connection.checkpointPassive()
        if result.rc & 0xff == SQLITE_BUSY { return .busy }
        guard result.rc == SQLITE_OK else {
            throw StoreError.sqlite(result.rc, connection.handle, Self.failureContext)
        }
        return .copied(walFrames: result.walFrames, copied: result.copied)
    }

    static let failureContext = "the WAL's checkpoint failed (the WAL grows until one succeeds)"

    public func close() {
        connection.close()
    }
}
