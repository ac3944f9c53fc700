/// When the writer's WAL is copied into the database file, and by whom.
///
/// SQLite's own rule (a PASSIVE checkpoint inside the commit that takes the WAL to `limitFrames`) makes that commit
/// copy the whole WAL and sync twice: most of the writer's time under load (BENCHMARKS.md, "Checkpoints beside the
/// writer"). With a background checkpointer (`CaptureCheckpointer`, on a thread of its own), the bulk is copied
/// there instead, woken whenever `wakeFrames` frames wait to be copied.
///
/// The WAL starts over only at a write that begins with every frame copied, which a checkpointer racing the writer's
/// next commits seldom sees. So once the WAL holds `restartFrames`, the writer copies the last few itself (at most
/// `remainderFrames`) right after its commit, and its next transaction starts the WAL over. At `limitFrames` the
/// writer checkpoints whatever is left after every commit, as SQLite would: the WAL stays bounded (64 MiB, past a
/// batch) if the background falls behind or fails.
struct CheckpointSchedule {
    enum Action: Equatable {
        case none
        /// Wake the background checkpointer (a no-op while it is copying).
        case wake
        /// A PASSIVE checkpoint on the writer, now.
        case checkpoint
    }

    static let limitFrames = 16384
    static let restartFrames = 8192
    static let wakeFrames = 2048
    static let remainderFrames = 512

    /// Whether a background checkpointer copies the bulk; without one, SQLite's own rule.
    var background: Bool

    /// What to do after a commit that left the WAL with `frames` frames, `backfilled` of them copied.
    func action(frames: Int, backfilled: Int) -> Action {
        if frames >= Self.limitFrames { return .checkpoint }
        guard background else { return .none }
        let uncopied = frames - min(backfilled, frames)
        if frames >= Self.restartFrames {
            return uncopied <= Self.remainderFrames ? .checkpoint : .wake
        }
        return uncopied >= Self.wakeFrames ? .wake : .none
    }
}
