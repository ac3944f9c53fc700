import CaptureStore
import Logging
import XCTest

@testable import CaptureServer

/// `StorageCondition`: a passing fault ends at the next commit, damage does not; failed writes are counted per fault.
final class StorageConditionTests: XCTestCase {
    private let condition = StorageCondition(logger: Logger(label: "test"))

    func testAFullDiskIsAFaultUntilTheNextCommit() {
        XCTAssertTrue(condition.healthy)
        condition.failed(StoreError(code: .full, message: "disk full"), records: 3, now: 100)
        condition.failed(StoreError(code: .full, message: "disk full"), records: 2, now: 200)
        XCTAssertEqual(condition.fault, .init(code: .full, message: "disk full", since: 100, failedWrites: 5))
        condition.committed(now: 300)
        XCTAssertNil(condition.fault)
        condition.failed(StoreError(code: .ioError, message: "I/O"), records: 1, now: 400)
        XCTAssertEqual(condition.fault?.since, 400, "a new fault starts its own count")
        XCTAssertEqual(condition.fault?.failedWrites, 1)
    }

    func testDamageOutlastsCommitsAndOutranksAPassingFault() {
        condition.failed(StoreError(code: .full, message: "disk full"), records: 1, now: 100)
        condition.failed(StoreError(code: .corrupt, message: "malformed"), now: 200)
        condition.failed(StoreError(code: .ioError, message: "I/O"), records: 1, now: 300)
        XCTAssertEqual(condition.fault, .init(code: .corrupt, message: "malformed", since: 100, failedWrites: 2))
        condition.committed(now: 400)
        XCTAssertEqual(condition.fault?.code, .corrupt, "a commit beside the bad pages does not mend them")
    }

    func testErrorsOfOneRequestAreNoStorageFault() {
        condition.failed(StoreError(code: .invalidCursor, message: "cursor"), records: 1)
        condition.failed(StoreError(code: .busy, message: "locked"), records: 1)
        condition.failed(StoreError(code: .limitReached, message: "too many"), records: 1)
        XCTAssertTrue(condition.healthy)
    }

    func testQuickCheckEndsAnUnconfirmedDamageAndNamesAConfirmedOne() {
        condition.failed(StoreError(code: .corrupt, message: "malformed"), now: 100)
        condition.damageNotConfirmed(since: 99)
        XCTAssertNotNil(condition.fault, "a check of another fault changes nothing")
        condition.damageNotConfirmed(since: 100)
        XCTAssertTrue(condition.healthy, "a sound file: the corruption was a passing read error")

        condition.failed(StoreError(code: .corrupt, message: "malformed"), now: 200)
        condition.damageConfirmed(since: 200, detail: "quick_check found 3 problems, the first: x")
        condition.failed(StoreError(code: .corrupt, message: "malformed again"), records: 1, now: 300)
        XCTAssertEqual(
            condition.fault,
            .init(code: .corrupt, message: "the database is damaged: quick_check found 3 problems, the first: x", since: 200,
                  failedWrites: 1),
            "what quick_check found stays the message")
    }

    func testACheckpointFailingForAnotherReasonIsNoFault() {
        condition.checkpointed(.failure(StoreError(code: .internal, message: "misuse")), now: 100)
        condition.checkpointed(.failure(StoreError(code: .internal, message: "misuse")), now: 200)
        XCTAssertTrue(condition.healthy)
        XCTAssertFalse(condition.checkpointsFailing, "no retries for it: the next commit's checkpoint tries again")
        condition.checkpointed(.failure(StoreError(code: .ioError, message: "I/O")), now: 300)
        XCTAssertEqual(condition.fault?.code, .ioError, "a storage error still is one")
        XCTAssertTrue(condition.checkpointsFailing)
    }

    func testFailingCheckpointsAreOneFaultThatCommitsDoNotEnd() {
        let failure = StoreError(code: .ioError, message: "the WAL's checkpoint failed")
        condition.checkpointed(.failure(failure), now: 100)
        condition.committed(now: 200)
        condition.checkpointed(.failure(failure), now: 300)
        condition.committed(now: 400)
        XCTAssertEqual(condition.fault?.since, 100, "commits beside failing checkpoints do not end the fault")
        XCTAssertEqual(condition.fault?.code, .ioError)
        condition.checkpointed(.success(()), now: 500)
        XCTAssertTrue(condition.healthy, "a fault of checkpoints alone ends when one works, with no commit to wait for")
        condition.checkpointed(.failure(StoreError(code: .busy, message: "busy")), now: 600)
        condition.committed(now: 700)
        XCTAssertTrue(condition.healthy, "a busy checkpoint is no storage fault")
    }

    func testAFaultOfWritesAndCheckpointsEndsAtACommitAfterACheckpointWorked() {
        let failure = StoreError(code: .full, message: "disk full")
        condition.checkpointed(.failure(failure), now: 100)
        condition.failed(failure, records: 2, now: 200)
        condition.checkpointed(.success(()), now: 300)
        XCTAssertEqual(condition.fault?.failedWrites, 2, "writes failed too: a checkpoint alone does not say they work")
        condition.committed(now: 400)
        XCTAssertTrue(condition.healthy)
    }
}
