import ServiceLifecycle

/// The writer thread and the scan pool as a service of the group: it runs until graceful shutdown, then
/// commits everything queued, ends the writer thread (which checkpoints and closes the database) and
/// closes the scan pool's reader. First in the group, so it stops last: after every connection is answered
/// and the forwarder has stopped queueing its progress.
struct WriterService: Service {
    let queue: WriteQueue
    let thread: WriterThread
    let scanReader: ScanReader

    func run() async throws {
        // Cancelled (another service failed without a graceful shutdown): the same ending.
        try? await gracefulShutdown()
        await stop()
    }

    /// Drains and ends the writer and the scan pool.
    func stop() async {
        queue.stop()
        await thread.join()
        await scanReader.shutdown()
    }
}
