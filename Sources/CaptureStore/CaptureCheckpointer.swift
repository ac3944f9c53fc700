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
        try connection.execute(durability.synchronousPragma)
        // Reading the schema opens the WAL and its index for this connection.
        _ = try connection.scalarInt("SELECT count(*) FROM sqlite_schema")
        // A file the writer has not switched to WAL yet (it creates the file first): a checkpoint there would do
        // nothing and report every frame copied, so this connection is refused and the caller tries again later.
        // (The connection closes as it is released.)
        guard try connection.strings("PRAGMA journal_mode") == ["wal"] else {
            throw StoreError(code: .internal, message: "the database is not in WAL mode yet")
        }
    }

    /// How one PASSIVE checkpoint went (this connection's or the writer's).
    public enum Pass: Equatable, Sendable {
        /// Every frame the WAL held is in the database file.
        case copiedAll
        /// A reader's snapshot still needed some frames: the next pass takes them. No news of the storage.
        case heldBack
        /// Another connection was checkpointing: nothing done.
        case busy
    }

    /// Copies every frame it can.
    public func copy() throws(StoreError) -> Pass {
        try connection.checkpointPassive()
    }

    public func close() {
        connection.close()
    }
}
