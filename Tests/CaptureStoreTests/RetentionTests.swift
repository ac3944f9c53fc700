import AffinityCore
import XCTest

@testable import CaptureStore

final class RetentionTests: StoreTestCase {
    private let off = RetentionPolicy(maxAgeMs: 0, maxPerSession: 0, maxRows: 0)

    /// Sessions a (6 captures), b (3), c (1) at interleaved times; returns the writer.
    private func seeded() throws -> CaptureWriter {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var batch: [NewCapture] = []
        for index in 0..<6 { batch.append(capture(session: "oc:a", at: 100 + Int64(index) * 10)) }
        for index in 0..<3 { batch.append(capture(session: "oc:b", at: 105 + Int64(index) * 10)) }
        batch.append(capture(session: "oc:c", at: 100))
        _ = try writer.record(batch)
        return writer
    }

    /// (session, capturedAt) of what is left, sorted.
    private func remaining() throws -> [String] {
        let reader = try CaptureReader(path: path())
        defer { reader.close() }
        var rows: [String] = []
        for session in ["oc:a", "oc:b", "oc:c"] {
            rows += try reader.history(HistoryQuery(selector: .session(session), limit: 1000)).captures
                .map { "\($0.sessionId)@\($0.capturedAt)" }
        }
        return rows.sorted()
    }

    func testMaxAgeRemovesOnlyCapturesOlderThanTheCutoff() throws {
        let writer = try seeded()
        var policy = off
        policy.maxAgeMs = 30
        let report = try writer.prune(policy, now: 150, dryRun: false)
        XCTAssertEqual(try remaining(), ["oc:a@120", "oc:a@130", "oc:a@140", "oc:a@150", "oc:b@125"])
        XCTAssertEqual([report.deleted, report.byAge, report.byPerSession, report.byRows, report.remaining], [5, 5, 0, 0, 5])
    }

    func testMaxPerSessionKeepsExactlyTheNewestNOfEachSession() throws {
        let writer = try seeded()
        // A tie on capturedAt: the higher id counts as newer.
        _ = try writer.record([capture(session: "oc:b", at: 125)])
        var policy = off
        policy.maxPerSession = 2
        let report = try writer.prune(policy, now: 0, dryRun: false, chunkSize: 1)
        XCTAssertEqual(try remaining(), ["oc:a@140", "oc:a@150", "oc:b@125", "oc:b@125", "oc:c@100"])
        XCTAssertEqual(try CaptureReader(path: path()).lastRoute(.session("oc:b"))?.id, 11)
        XCTAssertEqual([report.deleted, report.byPerSession, report.remaining], [6, 6, 5])
    }

    func testMaxRowsRemovesOldestFirstAcrossSessions() throws {
        let writer = try seeded()
        var policy = off
        policy.maxRows = 4
        let report = try writer.prune(policy, now: 0, dryRun: false, chunkSize: 3)
        XCTAssertEqual(try remaining(), ["oc:a@130", "oc:a@140", "oc:a@150", "oc:b@125"])
        XCTAssertEqual([report.deleted, report.byRows, report.remaining], [6, 6, 4])
    }

    func testCombinedRulesCountEachRowOnceUnderTheFirstRuleThatRemovedIt() throws {
        let writer = try seeded()
        let policy = RetentionPolicy(maxAgeMs: 45, maxPerSession: 3, maxRows: 3)
        // Age (cutoff 105) removes a@100, c@100; per session (3) then removes a@110, a@120; of the 6 left,
        // rows (3) removes the oldest: b@105, b@115, b@125.
        let report = try writer.prune(policy, now: 150, dryRun: false, chunkSize: 1)
        XCTAssertEqual(try remaining(), ["oc:a@130", "oc:a@140", "oc:a@150"])
        XCTAssertEqual(
            report,
            PruneReport(deleted: 7, remaining: 3, byAge: 2, byPerSession: 2, byRows: 3, durationMs: report.durationMs, dryRun: false)
        )
    }

    func testDryRunCountsTheSameRowsAndDeletesNothing() throws {
        let writer = try seeded()
        let policy = RetentionPolicy(maxAgeMs: 45, maxPerSession: 3, maxRows: 3)
        let before = try storedIds(path())
        let dry = try writer.prune(policy, now: 150, dryRun: true)
        XCTAssertEqual(try storedIds(path()), before)
        XCTAssertTrue(dry.dryRun)
        let real = try writer.prune(policy, now: 150, dryRun: false)
        XCTAssertEqual(
            [dry.deleted, dry.remaining, dry.byAge, dry.byPerSession, dry.byRows],
            [real.deleted, real.remaining, real.byAge, real.byPerSession, real.byRows]
        )
    }

    func testRulesSetToZeroAreOff() throws {
        let writer = try seeded()
        let report = try writer.prune(off, now: Int64.max, dryRun: false)
        XCTAssertEqual([report.deleted, report.remaining], [0, 10])
    }

    func testPruneCommitsInChunksOfAtMostChunkSize() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<25).map { capture(session: "oc:s\($0 % 5)", at: Int64($0)) })
        var sizes: [Int] = []
        var last = 25
        let policy = RetentionPolicy(maxAgeMs: 0, maxPerSession: 1, maxRows: 0)
        var reported: [Int] = []
        let report = try writer.prune(policy, now: 0, dryRun: false, chunkSize: 3) { progress in
            // Outside any transaction: another connection sees each committed chunk.
            let now = (try? self.storedIds(self.path()).count) ?? -1
            sizes.append(last - now)
            last = now
            reported.append(progress.deleted)
        }
        XCTAssertEqual(report.byPerSession, 20)
        XCTAssertTrue(sizes.allSatisfy { $0 <= 3 }, "\(sizes)")
        XCTAssertGreaterThanOrEqual(sizes.count, 6)
        XCTAssertEqual(reported, sizes.reduce(into: [Int]()) { $0.append(($0.last ?? 0) + $1) }, "progress counts what was committed")
    }

    /// The service stopping: the prune ends after the chunk under way, keeps what it committed, skips the rules not
    /// begun, and leaves the rollups exact; the next prune removes the rest.
    func testAPruneStoppedEarlyKeepsWhatItCommittedAndTheNextEndsIt() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<20).map { capture(session: "oc:s\($0 % 4)", at: Int64($0)) })
        let policy = RetentionPolicy(maxAgeMs: 1, maxPerSession: 1, maxRows: 1)
        var chunks = 0
        let first = try writer.prune(policy, now: 10, dryRun: false, chunkSize: 3) { _ in
            chunks += 1
        } stopsEarly: {
            chunks >= 2
        }
        XCTAssertTrue(first.stopped)
        XCTAssertEqual(chunks, 2, "no chunk after the stop")
        XCTAssertEqual([first.deleted, first.byAge, first.byPerSession, first.byRows], [6, 6, 0, 0])
        XCTAssertEqual(first.remaining, 14)
        XCTAssertEqual(try storedIds(path()).count, 14, "both chunks committed")
        let reader = try CaptureReader(path: path())
        defer { reader.close() }
        let audit = try reader.rollupAudit()
        XCTAssertEqual(audit.sessionsCounted, audit.sessionsStored)
        let second = try writer.prune(policy, now: 10, dryRun: false)
        XCTAssertFalse(second.stopped)
        XCTAssertEqual(second.byAge, 3, "the rest of the age rule")
        XCTAssertEqual(second.remaining, 1)
    }

    func testPerSessionWalkYieldsToTheCallerEvenWhenNothingIsDeleted() throws {
        // 1,000 sessions all under the limit: nothing to delete, but the walk over them must still let
        // the service commit waiting records every 64 sessions (dry run too).
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<1000).map { capture(session: "oc:w\($0)", at: Int64($0)) })
        for dryRun in [false, true] {
            var yields = 0
            let policy = RetentionPolicy(maxAgeMs: 0, maxPerSession: 5, maxRows: 0)
            let report = try writer.prune(policy, now: 0, dryRun: dryRun) { progress in
                yields += 1
                XCTAssertEqual(progress.sessionsVisited, yields * 64, "the walk reports the sessions it looked at")
            }
            XCTAssertEqual(report.deleted, 0)
            XCTAssertGreaterThanOrEqual(yields, 1000 / 64, "dryRun \(dryRun)")
        }
    }

    func testIdsAreNeverReusedAfterPrune() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let first = try writer.record([capture(at: 1), capture(at: 2_000)])
        // The highest id is the oldest capture, so the age rule deletes it.
        _ = try writer.record([capture(at: 0)])
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 10, maxPerSession: 0, maxRows: 0), now: 2_000, dryRun: false)
        XCTAssertEqual(try storedIds(path()), [first[1].id])
        writer.close()
        let reopened = try CaptureWriter(path: path(), durability: .normal)
        XCTAssertEqual(try reopened.record([capture()])[0].id, 4)
    }
}
