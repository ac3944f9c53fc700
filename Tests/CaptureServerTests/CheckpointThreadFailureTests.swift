import CaptureStore
import Foundation
import Logging
import XCTest

@testable import CaptureServer

/// `CheckpointThread` when its connection cannot be opened: a storage fault, tried again on its own every
/// `retryAfterFailure` until it opens (no commit or wake needed), and a stop that does not wait for it to work.
final class CheckpointThreadFailureTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "cpt-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func testAConnectionThatCannotOpenIsAFaultThatEndsByItselfOnceItCan() throws {
        let path = directory + "/c.sqlite3"  // not there yet: the thread opens read-write, never creates
        let storage = StorageCondition(logger: Logger(label: "test"))
        let thread = CheckpointThread.start(path: path, durability: .normal, storage: storage)
        defer { thread.stop() }
        thread.wake()
        try Self.waitUntil("the failed open is a storage fault") { storage.fault?.code == .cantOpen }
        XCTAssertTrue(storage.checkpointsFailing)
        XCTAssertFalse(storage.healthy)

        // The database appears whole (made beside it, then renamed in); nothing commits through `storage` and nobody
        // wakes the thread.
        let made = directory + "/made.sqlite3"
        try CaptureWriter(path: made, durability: .normal).close()
        XCTAssertEqual(rename(made, path), 0)
        try Self.waitUntil("a retry opened the file and its checkpoint ended the fault") { storage.healthy }
        XCTAssertFalse(storage.checkpointsFailing)
    }

    func testStopEndsAThreadWhoseCheckpointsKeepFailing() throws {
        let storage = StorageCondition(logger: Logger(label: "test"))
        let thread = CheckpointThread.start(path: directory + "/missing/c.sqlite3", durability: .normal, storage: storage)
        defer { thread.stop() }  // when a check below throws; a second stop returns at once
        thread.wake()
        try Self.waitUntil("the failed open is a storage fault") { storage.fault?.code == .cantOpen }
        // Two retries at least, so the stop below comes while the thread is in its retry wait or in a try.
        Thread.sleep(forTimeInterval: 2.5 * CheckpointThread.retryAfterFailure)
        XCTAssertEqual(storage.fault?.code, .cantOpen, "still failing: the file never appears")
        let stopped = expectation(description: "stop returned")
        DispatchQueue.global().async {
            thread.stop()
            stopped.fulfill()
        }
        wait(for: [stopped], timeout: 5)
    }

    /// Polls `condition` every 10 ms for up to 5 s (the thread retries every 250 ms).
    private static func waitUntil(_ what: String, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(5)
        while !condition() {
            guard Date() < deadline else { throw Failure(what: what) }
            Thread.sleep(forTimeInterval: 0.01)
        }
    }

    private struct Failure: Error, CustomStringConvertible {
        let what: String
        var description: String { "not within 5 s: \(what)" }
    }
}
