import AffinityCore
import XCTest

@testable import CaptureStore

final class RecordTests: StoreTestCase {
    func testRecordReturnsIncreasingIdsInBatchOrder() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let first = try writer.record([capture(at: 3), capture(at: 1), capture(at: 2)])
        let second = try writer.record([capture(at: 0)])
        XCTAssertEqual(first.map(\.duplicate), [false, false, false])
        XCTAssertEqual((first + second).map(\.id), [1, 2, 3, 4])
    }

    func testRepeatedRequestIdAcrossBatchesReturnsFirstIdAsDuplicate() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let first = try writer.record([capture(requestId: "req-1")])
        let again = try writer.record([capture(at: 5, requestId: "req-1"), capture(requestId: "req-2")])
        XCTAssertEqual(again[0], RecordOutcome(id: first[0].id, duplicate: true))
        XCTAssertFalse(again[1].duplicate)
        XCTAssertEqual(try storedIds(path()).count, 2)
    }

    func testRepeatedKeyWithinOneBatchIsStoredOnce() throws {
        let writer = try CaptureWriter(path: path(), durability: .full)
        let outcomes = try writer.record([
            capture(requestId: "req-1"), capture(idempotencyKey: "req-1"), capture(requestId: "x", idempotencyKey: "req-1"),
        ])
        XCTAssertEqual(outcomes.map(\.id), [1, 1, 1])
        XCTAssertEqual(outcomes.map(\.duplicate), [false, true, true])
        XCTAssertEqual(try storedIds(path()), [1])
    }

    func testIdempotencyKeyTakesPrecedenceOverRequestId() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let outcomes = try writer.record([
            capture(requestId: "req-1", idempotencyKey: "k-1"), capture(requestId: "req-1", idempotencyKey: "k-2"),
        ])
        XCTAssertEqual(outcomes.map(\.duplicate), [false, false])
    }

    func testSameKeyInAnotherSessionIsNotADuplicate() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let outcomes = try writer.record([capture(session: "oc:a", requestId: "r"), capture(session: "oc:b", requestId: "r")])
        XCTAssertEqual(outcomes.map(\.duplicate), [false, false])
    }

    func testCapturesWithoutAnyKeyAreAlwaysStored() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record([capture(), capture()])
        _ = try writer.record([capture()])
        XCTAssertEqual(try storedIds(path()), [1, 2, 3])
    }

    func testEmptyBatchStoresNothing() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        XCTAssertEqual(try writer.record([]), [])
    }

    func testRecordedCaptureReadsBackWithEveryField() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let new = capture(agent: nil, at: 42, requestId: "req", model: nil, turn: "turn-1")
        let id = try writer.record([new])[0].id
        let reader = try CaptureReader(path: path())
        XCTAssertEqual(
            try reader.lastRoute(.session(new.sessionId)),
            Capture(id: id, sessionId: new.sessionId, agentId: nil, capturedAt: 42, fields: new.fields, routeChanged: false)
        )
    }
}
