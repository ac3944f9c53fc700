import CaptureStore
import Foundation
import Logging

/// The thread that copies the writer's WAL into the database file beside the writer (`CaptureCheckpointer`), woken
/// by the writer's commits (`CaptureWriter.checkpointInBackground`, `CheckpointSchedule`). How each pass went goes to
/// `storage`: a failing checkpoint is a storage fault (the WAL grows) until one succeeds.
final class CheckpointThread: @unchecked Sendable {
    // @unchecked: `opened`, `woken`, `stopping` and `ended` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var opened: Result<Void, StoreError>?
    private var woken = false
    private var stopping = false
    private var ended = false
    private let storage: StorageCondition
    private let logger: Logger
    /// After a failed pass, wakes are ignored this long: a fault that lasts must not spin the thread.
    static let pauseAfterFailure: TimeInterval = 0.25

    private init(storage: StorageCondition, logger: Logger) {
        self.storage = storage
        self.logger = logger
    }

    /// Starts the thread, which opens the checkpointer's connection (after the writer created and migrated the file);
    /// returns once it has, or throws what opening threw.
    static func start(
        path: String, durability: Durability, storage: StorageCondition, logger: Logger
    ) throws(StoreError) -> CheckpointThread {
        let thread = CheckpointThread(storage: storage, logger: logger)
        let runner = Thread { thread.run(path: path, durability: durability) }
        runner.name = "taas-capture checkpoints"
        runner.start()
        try thread.waitUntilOpened()
        return thread
    }

    /// Asks for a pass; a no-op while one is under way (it copies what this commit wrote too, or the next pass does).
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

    private func waitUntilOpened() throws(StoreError) {
        condition.lock()
        while opened == nil { condition.wait() }
        let result = opened!
        condition.unlock()
        try result.get()
    }

    private func run(path: String, durability: Durability) {
        let checkpointer: CaptureCheckpointer
        do {
            checkpointer = try CaptureCheckpointer(path: path, durability: durability)
        } catch {
            return note(opened: .failure(error))
        }
        note(opened: .success(()))
        while waitForWake() {
            do {
                _ = try checkpointer.copy()
                storage.checkpointed(.success(()))
            } catch {
                storage.checkpointed(.failure(error))
                logger.debug("background checkpoint failed", metadata: ["error": "\(error)"])
                pause()
            }
        }
        checkpointer.close()
        noteEnded()
    }

    /// Tells `start` how opening went (a thread that could not open has ended).
    private func note(opened result: Result<Void, StoreError>) {
        condition.lock()
        opened = result
        if case .failure = result { ended = true }
        condition.broadcast()
        condition.unlock()
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

    private func pause() {
        condition.lock()
        defer { condition.unlock() }
        let until = Date().addingTimeInterval(Self.pauseAfterFailure)
        while !stopping, condition.wait(until: until) {}
        woken = false
    }
}
