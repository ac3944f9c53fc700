/// When the writer's WAL is copied into the database file, and by whom.
///
/// SQLite's own rule (a PASSIVE checkpoint inside the commit that takes the WAL to `limitFrames`) makes that commit
/// copy the whole WAL and sync twice: most of the writer's time under load (BENCHMARKS.md, "Checkpoints beside the
/// writer"). With a background checkpointer (`CaptureCheckpointer`, on a thread of its own), the bulk is copied
/// there instead, woken whenever `wakeFrames` frames wait to be copied.
///
/// The WAL starts over only at a write that begins with every frame copied (and no reader still using it), which a
/// checkpointer racing the writer's next commits seldom sees. So once the WAL holds `restartFrames`, and the background
/// has copied all but `remainderFrames` of what was there before this commit, the writer copies the rest itself right
/// after the commit (its own frames, still in the page cache, and those few), and its next write starts the WAL over.
/// At `limitFrames` the writer checkpoints whatever is left after every commit, as SQLite would: the WAL stays bounded
/// (64 MiB, past a batch) if the background falls behind or fails.
struct CheckpointSchedule {
    enum Action: Equatable {
        case none
        /// Wake the background checkpointer (while it is copying, this queues at most one more pass).
        case wake
        /// A PASSIVE checkpoint on the writer, now.
        case checkpoint
    }

    static let limitFrames = 16384
    static let restartFrames = 12288
    static let wakeFrames = 4096
    static let remainderFrames = 512

    /// Whether a background checkpointer copies the bulk; without one, SQLite's own rule.
    var background: Bool

    /// What to do after a commit that took the WAL from `framesBefore` frames (nil: not known) to `frames`, `backfilled`
    /// of them copied.
    func action(frames: Int, framesBefore: Int?, backfilled: Int) -> Action {
        if frames >= Self.limitFrames { return .checkpoint }
        guard background else { return .none }
        let copied = min(backfilled, frames)
        // A commit that started the WAL over found it shorter than it leaves it.
        let before = min(framesBefore ?? frames, frames)
        if frames >= Self.restartFrames {
            return before - min(copied, before) <= Self.remainderFrames ? .checkpoint : .wake
        }
        return frames - copied >= Self.wakeFrames ? .wake : .none
    }
}
