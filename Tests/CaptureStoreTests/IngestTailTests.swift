import CSQLite
import AffinityCore
import XCTest

@testable import CaptureStore

/// The ingest tail (schema 4): captures land in `captures_recent` and move into `captures` in batches; every
/// read answers the same wherever a capture is, with the writer's index or without it.
final class IngestTailTests: StoreTestCase {
    private func readers(_ writer: CaptureWriter) throws -> [CaptureReader] {
        [try CaptureReader(path: path(), tail: writer.tail), try CaptureReader(path: path())]
    }

    private func tableCounts() throws -> (captures: Int64, recent: Int64) {
        let connection = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        return (
            try connection.scalarInt("SELECT count(*) FROM captures") ?? -1,
            try connection.scalarInt("SELECT count(*) FROM captures_recent") ?? -1
        )
    }

    /// Every page of a session's history, following cursors.
    private func allPages(_ reader: CaptureReader, _ selector: CaptureSelector, limit: Int) throws -> [Int64] {
        var ids: [Int64] = []
        var cursor: String?
        repeat {
            let page = try reader.history(HistoryQuery(selector: selector, limit: limit, cursor: cursor))
            ids += page.captures.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        return ids
    }

    func testRecordsLandInTheTailAndMoveInBatchesKeepingIdsAndAnswers() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        // Out-of-order capture times, so the newest by time is not the highest id.
        let times: [Int64] = [50, 10, 40, 30, 20, 60]
        _ = try writer.record(times.map { capture(session: "oc:s", agent: "a", at: $0) })
        XCTAssertEqual(try tableCounts().captures, 0)
        XCTAssertEqual(try tableCounts().recent, 6)
        XCTAssertEqual(writer.tail.count, 6)
        let expected: [Int64] = [6, 1, 3, 4, 5, 2]  // newest first by (capturedAt, id)
        for reader in try readers(writer) {
            XCTAssertEqual(try reader.lastRoute(.session("oc:s"))?.id, 6)
            XCTAssertEqual(try allPages(reader, .session("oc:s"), limit: 4), expected)
            XCTAssertEqual(try allPages(reader, .agent("a"), limit: 1), expected)
        }
        XCTAssertEqual(try writer.moveTail(limit: 4), 4)
        XCTAssertEqual(try tableCounts().captures, 4)
        XCTAssertEqual(try tableCounts().recent, 2)
        XCTAssertEqual(writer.tail.count, 2)
        for reader in try readers(writer) {
            XCTAssertEqual(try reader.lastRoute(.session("oc:s"))?.id, 6)
            XCTAssertEqual(try allPages(reader, .session("oc:s"), limit: 4), expected, "half moved")
            XCTAssertEqual(try reader.stats(nil, since: nil, until: nil).total, 6)
            XCTAssertEqual(try reader.captures(after: 0, limit: 10).map(\.id), [1, 2, 3, 4, 5, 6])
        }
        try writer.moveWholeTail()
        XCTAssertEqual(try tableCounts().recent, 0)
        XCTAssertEqual(writer.tail.count, 0)
        for reader in try readers(writer) {
            XCTAssertEqual(try allPages(reader, .session("oc:s"), limit: 2), expected, "all moved")
        }
    }

    func testACursorFromBeforeAMoveContinuesExactlyAfterIt() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((1...10).map { capture(session: "oc:s", at: Int64($0)) })
        let reader = try CaptureReader(path: path(), tail: writer.tail)
        let first = try reader.history(HistoryQuery(selector: .session("oc:s"), limit: 3))
        XCTAssertEqual(first.captures.map(\.id), [10, 9, 8])
        try writer.moveWholeTail()
        _ = try writer.record([capture(session: "oc:s", at: 11)])
        var ids = first.captures.map(\.id)
        var cursor = first.nextCursor
        while let next = cursor {
            let page = try reader.history(HistoryQuery(selector: .session("oc:s"), limit: 3, cursor: next))
            ids += page.captures.map(\.id)
            cursor = page.nextCursor
        }
        XCTAssertEqual(ids, Array((1...10).reversed()), "each capture once, in order; the new one is above the cursor")
    }

    func testDuplicatesAreFoundInTheTailAndAfterTheMove() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let first = try writer.record([capture(requestId: "r1"), capture(requestId: "r2")])
        XCTAssertEqual(try writer.record([capture(at: 9, requestId: "r1")]), [RecordOutcome(id: first[0].id, duplicate: true)])
        try writer.moveWholeTail()
        XCTAssertEqual(try writer.record([capture(at: 9, requestId: "r2")]), [RecordOutcome(id: first[1].id, duplicate: true)])
        // A second writer (as `taas-capture prune` opens) lists the tail afresh and finds the same.
        _ = try writer.record([capture(requestId: "r3")])
        let other = try CaptureWriter(path: path(), durability: .normal)
        XCTAssertEqual(try other.record([capture(requestId: "r3")]).first?.duplicate, true)
        XCTAssertEqual(try storedIds(path()), [1, 2, 3])
    }

    func testIdsAreNeverHandedOutTwiceEvenAfterTheNewestWereRemoved() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<5).map { capture(at: Int64($0)) })
        // Keep 1 row in all: removes ids 1-4 after the move; then an age rule removes the last.
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 0, maxPerSession: 0, maxRows: 1), now: 100, dryRun: false)
        XCTAssertEqual(try storedIds(path()), [5])
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 1, maxPerSession: 0, maxRows: 0), now: 100, dryRun: false)
        XCTAssertEqual(try storedIds(path()), [])
        XCTAssertEqual(try writer.record([capture(at: 7)]).map(\.id), [6])
        writer.close()
        let reopened = try CaptureWriter(path: path(), durability: .normal)
        XCTAssertEqual(try reopened.record([capture(at: 8)]).map(\.id), [7])
    }

    func testAReopenedWriterListsTheTailItFinds() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<3).map { capture(session: "oc:s\($0)", at: Int64($0)) })
        writer.close()
        let reopened = try CaptureWriter(path: path(), durability: .normal)
        XCTAssertEqual(reopened.tail.count, 3)
        let reader = try CaptureReader(path: path(), tail: reopened.tail)
        XCTAssertEqual(try reader.lastRoute(.session("oc:s2"))?.id, 3)
        XCTAssertEqual(try reader.history(HistoryQuery(selector: .session("oc:s1"))).captures.map(\.id), [2])
    }

    func testAnswersStayExactWhenAnotherProcessMovesAndPrunesTheTail() throws {
        let service = try CaptureWriter(path: path(), durability: .normal)
        _ = try service.record((1...6).map { capture(session: "oc:s", at: Int64($0)) })
        let reader = try CaptureReader(path: path(), tail: service.tail)
        // `taas-capture prune` in another process: its own writer moves the tail, then keeps 2 per session.
        let cli = try CaptureWriter(path: path(), durability: .normal)
        _ = try cli.prune(RetentionPolicy(maxAgeMs: 0, maxPerSession: 2, maxRows: 0), now: 100, dryRun: false)
        XCTAssertEqual(try tableCounts().recent, 0)
        XCTAssertEqual(service.tail.count, 6, "the service's index still lists rows that moved")
        XCTAssertEqual(try reader.lastRoute(.session("oc:s"))?.id, 6)
        XCTAssertEqual(try allPages(reader, .session("oc:s"), limit: 1), [6, 5])
        // The service's next move finds nothing and clears the index; its next id is past everything.
        XCTAssertEqual(try service.moveTail(), 0)
        XCTAssertEqual(service.tail.count, 0)
        XCTAssertEqual(try service.record([capture(session: "oc:s", at: 7)]).map(\.id), [7])
        XCTAssertEqual(try allPages(reader, .session("oc:s"), limit: 10), [7, 6, 5])
    }

    func testStatsAndGroupsCountBothTables() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<6).map { capture(session: "oc:s\($0 % 2)", agent: "a\($0 % 3)", at: Int64($0), model: "m1") })
        try writer.moveTail(limit: 3)
        _ = try writer.record([capture(session: "oc:s0", agent: "a0", at: 10, model: "m2")])
        let reader = try CaptureReader(path: path())
        let stats = try reader.stats(nil, since: nil, until: nil)
        XCTAssertEqual(stats.total, 7)
        XCTAssertEqual(stats.byModel, ["m1": 6, "m2": 1])
        let groups = try reader.statsGroups(by: .agent, selector: nil, since: nil, until: nil, limit: 10)
        XCTAssertEqual(groups.map(\.key), ["a0", "a1", "a2"])
        XCTAssertEqual(groups.map(\.captures), [3, 2, 2])
        XCTAssertEqual(groups[0].lastModel, "m2")
        XCTAssertEqual(groups[0].modelSince, 10)
        XCTAssertEqual(try reader.health().captures, 7)
    }
}
