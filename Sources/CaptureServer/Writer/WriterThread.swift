import CaptureStore
import NIOCore
import NIOPosix

/// The dedicated thread that owns the `CaptureWriter`: a one-thread pool running one job, the loop.
struct WriterThread: Sendable {
    private let pool: NIOThreadPool
    private let done: EventLoopFuture<Void>

    /// Opens (creating and migrating) the database on the writer thread, starts the checkpoint thread beside it
    /// (`checkpointsBeside`), then runs `loop` on the writer thread.
    /// Returns once the database is open; throws what opening threw.
    static func start(
        path: String, durability: Durability, routes: RouteCache?, loop: WriterLoop, eventLoop: any EventLoop
    ) async throws -> WriterThread {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let opened = eventLoop.makePromise(of: Void.self)
        let done = pool.runIfActive(eventLoop: eventLoop) {
            let writer: CaptureWriter
            let checkpoints: CheckpointThread?
            do {
                writer = try CaptureWriter(path: path, durability: durability)
                if let routes { try writer.keepExact(routes) }
                let storage = loop.stats.storage
                try writer.reportCheckpoints { storage.checkpointed($0) }
                checkpoints = try Self.checkpointsBeside(writer, path: path, durability: durability, loop: loop)
            } catch {
                opened.fail(error)
                return
            }
            opened.succeed()
            loop.run(writer: writer, checkpoints: checkpoints)
        }
        done.whenFailure { opened.fail($0) }
        do {
            try await opened.futureResult.get()
        } catch {
            try? await pool.shutdownGracefully()
            throw error
        }
        return WriterThread(pool: pool, done: done)
    }

    /// The checkpoint thread beside the writer, under `--durability normal` only: under `full` every commit already
    /// waits for the disk, and copying beside it made records no faster (BENCHMARKS.md, issue 22), so SQLite's own
    /// rule stays.
    private static func checkpointsBeside(
        _ writer: CaptureWriter, path: String, durability: Durability, loop: WriterLoop
    ) throws(StoreError) -> CheckpointThread? {
        guard durability == .normal else { return nil }
        let thread = CheckpointThread.start(path: path, durability: durability, storage: loop.stats.storage)
        do {
            try writer.checkpointInBackground { thread.wake() }
        } catch {
            thread.stop()
            throw error
        }
        return thread
    }

    /// Waits for the loop to finish (after its queue was stopped) and ends the thread.
    func join() async {
        try? await done.get()
        try? await pool.shutdownGracefully()
    }
}
