import CaptureStore
import Foundation

/// The thread that copies the writer's WAL into the database file beside the writer (`CaptureCheckpointer`), woken
/// by the writer's commits (`CaptureWriter.checkpointInBackground`, `CheckpointSchedule`). How each pass went goes to
/// `storage`: a failing checkpoint is a storage fault (the WAL grows) until one succeeds. While checkpoints fail (its own
/// or the writer's), the thread tries again every `retryAfterFailure` on its own, so a fault that ends while the
/// service is idle is seen to end, and leaves wakes for later meanwhile, so a fault that lasts does not spin it.
final class CheckpointThread: @unchecked Sendable {
    // @unchecked: `woken`, `stopping` and `ended` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var woken = false
    private var stopping = false
    private var ended = false
    private let storage: StorageCondition
    static let retryAfterFailure: TimeInterval = 0.25

    private init(storage: StorageCondition) {
        self.storage = storage
    }

    /// Starts the thread. It opens its connection when first woken (start-up does not wait for it); a failure to open
    /// counts as a failed checkpoint, tried again like one.
    static func start(path: String, durability: Durability, storage: StorageCondition) -> CheckpointThread {
        let thread = CheckpointThread(storage: storage)
        let runner = Thread { thread.run(path: path, durability: durability) }
        runner.name = "taas-capture checkpoints"
        runner.start()
        return thread
    }

    /// Asks for a pass: at most one more is queued while one is under way.
    func wake() {
        condition.lock()
        if !woken {
            woken = true
            condition.signal()
        }
        condition.unlock()
    }

    /// Ends the thread after the pass under way, if any, and closes its connection; returns once it has.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while !ended { condition.wait() }
        condition.unlock()
    }

    private func run(path: String, durability: Durability) {
        var checkpointer: CaptureCheckpointer?
        var failing = false
        while failing || storage.checkpointsFailing ? waitToRetry() : waitForWake() {
            do throws(StoreError) {
                let open: CaptureCheckpointer
                if let checkpointer {
                    open = checkpointer
                } else {
                    open = try CaptureCheckpointer(path: path, durability: durability)
                    checkpointer = open
                }
                // Busy (the writer is copying the last frames) or held back by a reader: no news of the storage.
                if try open.copy() == .copiedAll {
                    failing = false
                    storage.checkpointed(.success(()))
                }
            } catch {
                // `storage` logs it: a storage error once per fault, anything else once until a checkpoint works.
                failing = true
                storage.checkpointed(.failure(error))
            }
        }
        checkpointer?.close()
        noteEnded()
    }

    /// Tells `stop` that the thread has ended.
    private func noteEnded() {
        condition.lock()
        ended = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits until woken (true) or stopped (false).
    private func waitForWake() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !woken, !stopping { condition.wait() }
        woken = false
        return !stopping
    }

    /// Waits `retryAfterFailure` (true) or until stopped (false); wakes meanwhile are left for later.
    private func waitToRetry() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let until = Date().addingTimeInterval(Self.retryAfterFailure)
        while !stopping, condition.wait(until: until) {}
        return !stopping
    }
}
