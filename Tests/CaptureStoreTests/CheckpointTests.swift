import CSQLite
import Synchronization
import XCTest

@testable import CaptureStore

/// Checkpoints beside the writer: a background checkpointer copies the bulk of the WAL, the writer the last few frames,
/// and the WAL still starts over before it reaches SQLite's own checkpoint size.
final class CheckpointTests: StoreTestCase {
    func testTheScheduleLeavesTheBulkToTheBackgroundAndTheLastFramesToTheWriter() {
        let limit = CheckpointSchedule.limitFrames, restart = CheckpointSchedule.restartFrames
        let wake = CheckpointSchedule.wakeFrames, remainder = CheckpointSchedule.remainderFrames
        let alone = CheckpointSchedule(background: false)
        XCTAssertEqual(alone.action(frames: limit - 1, framesBefore: limit - 10, backfilled: 0), .none)
        XCTAssertEqual(alone.action(frames: limit, framesBefore: limit - 10, backfilled: 0), .checkpoint, "SQLite's own rule")

        let beside = CheckpointSchedule(background: true)
        XCTAssertEqual(beside.action(frames: wake - 1, framesBefore: wake - 10, backfilled: 0), .none)
        XCTAssertEqual(beside.action(frames: wake, framesBefore: wake - 10, backfilled: 0), .wake)
        XCTAssertEqual(beside.action(frames: 5000, framesBefore: 4990, backfilled: 4000), .none, "little left to copy")
        XCTAssertEqual(
            beside.action(frames: restart, framesBefore: restart - 10, backfilled: 0), .wake,
            "the background copies the bulk, even past the restart size")
        XCTAssertEqual(
            beside.action(frames: restart, framesBefore: restart - 10, backfilled: restart - 10 - remainder), .checkpoint,
            "the writer copies the last few frames so that its next write starts the WAL over")
        XCTAssertEqual(
            beside.action(frames: restart + 3000, framesBefore: restart, backfilled: restart - remainder), .checkpoint,
            "a commit of many frames: its own frames are the writer's to copy")
        XCTAssertEqual(
            beside.action(frames: restart + 3000, framesBefore: nil, backfilled: restart - remainder), .wake,
            "without the frames before it, what is left counts whole")
        XCTAssertEqual(
            beside.action(frames: limit, framesBefore: limit - 10, backfilled: 0), .checkpoint,
            "a background that falls behind or fails: the writer's own checkpoint bounds the WAL")
        XCTAssertEqual(
            beside.action(frames: 300, framesBefore: restart + 100, backfilled: 0), .none,
            "a commit that started the WAL over: the frames before it were in the old WAL")
    }

    /// The writer creates the file before it switches it to WAL: a checkpointer opened in between must not take the file
    /// (its checkpoints would do nothing and report every frame copied), so it is refused and tried again later.
    func testACheckpointerRefusesAFileNotYetInWALMode() throws {
        let plain = try Connection(path: path(), flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busyTimeoutMs: 100)
        try plain.execute("CREATE TABLE t (x)")
        plain.close()
        XCTAssertThrowsError(try CaptureCheckpointer(path: path(), durability: .normal)) { error in
            XCTAssertEqual((error as? StoreError)?.code, .internal)
        }
        try CaptureWriter(path: path("second.sqlite3"), durability: .normal).close()
        let checkpointer = try CaptureCheckpointer(path: path("second.sqlite3"), durability: .normal)
        defer { checkpointer.close() }
        XCTAssertEqual(try checkpointer.copy(), .copiedAll)
    }

    func testTheBackgroundCopiesTheWALAndItStartsOverBeforeSQLitesOwnSize() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        let routes = RouteCache(capacity: 64)
        try writer.keepExact(routes)
        let checkpointer = try CaptureCheckpointer(path: path(), durability: .normal)
        defer { checkpointer.close() }
        let wakes = Wakes()
        try writer.checkpointInBackground { wakes.add() }
        var writerCheckpoints: [Result<Void, StoreError>] = []
        try writer.reportCheckpoints { writerCheckpoints.append($0) }

        var generator = SeededGenerator(seed: 22)
        var largestWAL = 0
        var restarts = 0
        var backgroundPasses = 0
        var recorded = 0
        var lastSalt = try XCTUnwrap(writer.connection.walStamp()).firstSalt
        while restarts < 3 {
            XCTAssertLessThan(recorded, 200_000, "the WAL never started over")
            if recorded >= 200_000 { break }
            // Captures of random sessions: each batch dirties pages all over the four indexes.
            let batch = (0..<200).map { _ in
                capture(session: "oc:s\(UInt32.random(in: 0..<100_000, using: &generator))", at: 1_700_000_000_000 + Int64(recorded))
            }
            _ = try writer.record(batch)
            recorded += batch.count
            if wakes.take() {
                // What the background thread does when woken.
                XCTAssertNotEqual(try checkpointer.copy(), .busy)
                backgroundPasses += 1
            }
            let stamp = try XCTUnwrap(writer.connection.walStamp())
            largestWAL = max(largestWAL, stamp.frames)
            if stamp.firstSalt != lastSalt {
                restarts += 1
                lastSalt = stamp.firstSalt
            }
        }
        XCTAssertEqual(restarts, 3)
        XCTAssertGreaterThanOrEqual(backgroundPasses, 3)
        XCTAssertFalse(writerCheckpoints.contains { if case .failure = $0 { true } else { false } })
        XCTAssertLessThan(largestWAL, CheckpointSchedule.limitFrames, "the WAL started over before SQLite's own size")
        XCTAssertEqual(try storedIds(path()).count, recorded)
        let check = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { check.close() }
        XCTAssertEqual(try check.strings("PRAGMA integrity_check"), ["ok"])
    }

    func testTheWriterCopiesTheLastFramesTheBackgroundCouldNot() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        let checkpointer = try CaptureCheckpointer(path: path(), durability: .normal)
        defer { checkpointer.close() }
        try writer.checkpointInBackground {}
        var writerCheckpoints: [Result<Void, StoreError>] = []
        try writer.reportCheckpoints { writerCheckpoints.append($0) }
        var generator = SeededGenerator(seed: 9)
        func record(_ count: Int) throws {
            _ = try writer.record((0..<count).map { _ in capture(session: "oc:s\(UInt32.random(in: 0..<100_000, using: &generator))") })
        }
        while try XCTUnwrap(writer.connection.walStamp()).frames < CheckpointSchedule.restartFrames { try record(200) }
        // A reader's snapshot holds the background's pass back, as the writer's next commits would in a race.
        let reader = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { reader.close() }
        try reader.begin(.deferred)
        XCTAssertNotNil(try reader.scalarInt("SELECT count(*) FROM captures"))
        try record(1)
        XCTAssertTrue(writerCheckpoints.isEmpty, "too much left to copy: the background's work")
        XCTAssertNotEqual(try checkpointer.copy(), .busy)
        try reader.commit()
        let copied = try XCTUnwrap(writer.connection.walBackfilled())
        let framesBefore = try XCTUnwrap(writer.connection.walStamp()).frames
        XCTAssertLessThan(copied, framesBefore, "the reader held the last commit's frames back")
        try record(1)
        guard writerCheckpoints.count == 1, case .success = writerCheckpoints[0] else {
            return XCTFail("the writer copied the last frames: \(writerCheckpoints)")
        }
        let salt = try XCTUnwrap(writer.connection.walStamp()).firstSalt
        try record(1)
        let after = try XCTUnwrap(writer.connection.walStamp())
        XCTAssertNotEqual(after.firstSalt, salt, "the next write started the WAL over")
        XCTAssertLessThan(after.frames, CheckpointSchedule.wakeFrames)
    }

    func testTheWriterAloneStillCheckpointsAtSQLitesOwnSize() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        try writer.keepExact(RouteCache(capacity: 64))
        var writerCheckpoints: [Result<Void, StoreError>] = []
        try writer.reportCheckpoints { writerCheckpoints.append($0) }
        var generator = SeededGenerator(seed: 7)
        var recorded = 0
        while writerCheckpoints.isEmpty, recorded < 200_000 {
            let batch = (0..<200).map { _ in capture(session: "oc:s\(UInt32.random(in: 0..<100_000, using: &generator))") }
            _ = try writer.record(batch)
            recorded += batch.count
            XCTAssertLessThanOrEqual(
                try XCTUnwrap(writer.connection.walStamp()).frames, CheckpointSchedule.limitFrames + 2000,
                "within a batch of the limit")
        }
        guard writerCheckpoints.count == 1, case .success = writerCheckpoints[0] else {
            return XCTFail("the writer checkpointed at SQLite's own size: \(writerCheckpoints)")
        }
        XCTAssertEqual(writer.connection.walBackfilled(), try XCTUnwrap(writer.connection.walStamp()).frames)
    }
}

/// The background's wake-ups, as the writer's commits ask for them.
private final class Wakes: Sendable {
    private let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    /// Whether any came since the last call.
    func take() -> Bool {
        count.withLock { count in
            defer { count = 0 }
            return count > 0
        }
    }
}
