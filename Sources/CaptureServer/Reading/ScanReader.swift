import CaptureStore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Runs queries that may scan (stats, health) on a thread pool of their own, off the event loops, so
/// a slow scan never delays the cheap indexed queries or another connection's I/O.
///
/// Its queue is bounded (`capacity` queries waiting or running): past it `run` returns nil and the
/// caller answers -32002, so a client pipelining scans cannot queue without limit or starve `health`.
final class ScanReader: Sendable {
    private let pool: NIOThreadPool
    private let slot: ReaderSlot
    private let queued = NIOLockedValueBox(0)
    let capacity: Int

    init(path: String, threads: Int, capacity: Int) {
        self.capacity = capacity
        pool = NIOThreadPool(numberOfThreads: threads)
        slot = ReaderSlot(path: path)
        pool.start()
    }

    /// Runs `body` with a reader on a pool thread; the future completes on `eventLoop`. Nil when
    /// `capacity` queries are already waiting or running.
    func run<T: Sendable>(
        on eventLoop: any EventLoop, _ body: @escaping @Sendable (CaptureReader) throws(StoreError) -> T
    ) -> EventLoopFuture<T>? {
        let admitted = queued.withLockedValue { count in
            guard count < capacity else { return false }
            count += 1
            return true
        }
        guard admitted else { return nil }
        let slot = self.slot
        let queued = self.queued
        let future = pool.runIfActive(eventLoop: eventLoop) { try slot.withReader(body) }
        future.whenComplete { _ in queued.withLockedValue { $0 -= 1 } }
        return future
    }

    /// Waits for running queries, then closes the reader.
    func shutdown() async {
        try? await pool.shutdownGracefully()
        slot.close()
    }
}

/// The pool's reader, opened on first use and used by one thread at a time.
private final class ReaderSlot: @unchecked Sendable {
    // @unchecked: `reader` is only touched while holding `lock`, so one thread uses it at a time.
    private let lock = NSLock()
    private let path: String
    private var reader: CaptureReader?

    init(path: String) { self.path = path }

    func withReader<T>(_ body: (CaptureReader) throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        if reader == nil { reader = try CaptureReader(path: path) }
        return try body(reader!)
    }

    func close() {
        lock.lock()
        defer { lock.unlock() }
        reader?.close()
        reader = nil
    }
}
