import AffinityCore
import CSQLite
import XCTest

@testable import CaptureStore

/// The hourly rollups (schema 4) give the same stats and agent groups as reading every capture, whatever part of
/// the captures is folded, after retention took some out, and for ranges on and off the hour.
final class RollupTests: StoreTestCase {
    private let hour: Int64 = 3_600_000
    private let start: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z, on the hour

    /// Varied captures over about six hours, out of time order: five agents and none, three models and none,
    /// routed or not, usage and money (binary fractions, so sums are exact in any order) on some. Two agent ids
    /// are canonically equivalent but different bytes (two agents to SQLite), and one model is called "unknown"
    /// (one group with the captures of no model, as `coalesce` groups them).
    private let agents: [String?] = ["agent-0", "agent-1", "agent-2", "caf\u{E9}", "cafe\u{301}", nil]
    private let models: [String?] = ["model-0", "model-1", "unknown", nil]

    private func seeded(count: Int = 600) throws -> CaptureWriter {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var generator = SeededGenerator(seed: 7)
        var batch: [NewCapture] = []
        for index in 0..<count {
            let agentIndex = Int(generator.next() % 6)
            let routed = generator.next() % 4 != 0
            let modelIndex = Int(generator.next() % 4)
            let withUsage = generator.next() % 3 != 0
            let at = start + Int64(generator.next() % UInt64(6 * hour))
            batch.append(
                NewCapture(
                    sessionId: "oc:s\(generator.next() % 20)", agentId: agents[agentIndex],
                    capturedAt: at,
                    fields: CaptureFields(
                        taasRequestId: "r\(index)", taasTraceId: nil, openclawTurnId: nil, openclawAttempt: nil,
                        autorouterModel: models[modelIndex],
                        autorouterAlgo: generator.next() % 2 == 0 ? "best_fit" : nil,
                        autorouterAlgoSource: generator.next() % 2 == 0 ? "org" : "request",
                        thinkingApplied: generator.next() % 3 == 0 ? nil : "medium", routedContextWindow: nil),
                    usage: CallUsage(
                        autorouted: routed, requestedModel: routed ? nil : "asked-\(modelIndex)",
                        inputTokens: withUsage ? Int64(generator.next() % 5000) : nil,
                        outputTokens: withUsage ? Int64(generator.next() % 900) : nil,
                        cacheReadTokens: withUsage && generator.next() % 2 == 0 ? Int64(generator.next() % 4000) : nil,
                        costUsd: withUsage && generator.next() % 2 == 0 ? Double(generator.next() % 64) / 16 : nil,
                        cacheSavedUsd: withUsage && generator.next() % 3 == 0 ? 0.125 : nil),
                    idempotencyKey: nil))
            if batch.count == 37 {
                _ = try writer.record(batch)
                batch = []
            }
        }
        _ = try writer.record(batch)
        return writer
    }

    /// Stats and agent groups through the rollups, and the same read from every capture.
    private func bothWays(
        _ reader: CaptureReader, _ selector: CaptureSelector?, since: Int64?, until: Int64?, by grouping: StatsGrouping
    ) throws -> (rollups: Stats, scanned: Stats) {
        let rollups = try reader.stats(selector, since: since, until: until, groupBy: grouping, limit: 1000)
        let scanned = try reader.connection.transaction(.deferred) { () throws(StoreError) -> Stats in
            var stats = try reader.scannedStats(selector, since: since, until: until)
            stats.groups = try reader.scannedGroups(by: grouping, selector: selector, since: since, until: until, limit: 1000)
            return stats
        }
        return (rollups, scanned)
    }

    private var ranges: [(Int64?, Int64?)] {
        [
            (nil, nil), (start, nil), (nil, start + 3 * hour), (start + hour, start + 4 * hour),
            (start + hour / 3, start + 5 * hour + 7), (start + 2 * hour + 5, start + 2 * hour + hour / 2),
            (start + 10 * hour, nil), (start - 5, start + 5),
            (Int64.min, Int64.max), (Int64.min + 5, Int64.min + 9), (Int64.max - 9, Int64.max - 5), (nil, Int64.min + 3),
            (Int64.max - 3, nil), (start + hour, start),
        ]
    }

    private func assertAgree(_ reader: CaptureReader, _ stage: String) throws {
        for (since, until) in ranges {
            for selector in [nil, CaptureSelector.agent("agent-2"), .agent("cafe\u{301}"), .agent("nobody")] {
                for grouping in StatsGrouping.allCases {
                    let (rollups, scanned) = try bothWays(reader, selector, since: since, until: until, by: grouping)
                    XCTAssertEqual(
                        rollups, scanned,
                        "\(stage), by \(grouping), \(String(describing: selector)), \(String(describing: since))..<\(String(describing: until))")
                }
            }
        }
    }

    private func foldedThrough() throws -> Int64 {
        let connection = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        return try connection.foldedThrough()
    }

    func testRollupsAgreeWithEveryCaptureAtEveryStageOfFolding() throws {
        let writer = try seeded()
        let reader = try CaptureReader(path: path())
        try assertAgree(reader, "nothing folded")
        XCTAssertEqual(try writer.foldRollups(limit: 250), 250)
        XCTAssertEqual(try foldedThrough(), 250)
        try assertAgree(reader, "250 folded")
        while try writer.foldRollups(limit: 100) > 0 {}
        XCTAssertEqual(try foldedThrough(), 600)
        XCTAssertEqual(try writer.unfoldedIds(), 0)
        try assertAgree(reader, "all folded")
        let all = try reader.stats(nil, since: nil, until: nil, groupBy: .agent)
        XCTAssertEqual(all.total, 600)
        XCTAssertEqual(all.groups?.count, 5, "captures without an agent form no group; the two cafés are two")
    }

    func testRetentionTakesDeletedCapturesOutOfTheRollups() throws {
        let writer = try seeded()
        try writer.foldRollups(limit: 400)
        let reader = try CaptureReader(path: path())
        // Age first (the first two hours), then 5 per session, then 60 in all: each deletes folded captures and
        // captures above the mark, in chunks of 7.
        _ = try writer.prune(
            RetentionPolicy(maxAgeMs: 4 * hour, maxPerSession: 5, maxRows: 60), now: start + 6 * hour, dryRun: false,
            chunkSize: 7)
        XCTAssertEqual(try storedIds(path()).count, 60)
        try assertAgree(reader, "after prune")
        while try writer.foldRollups() > 0 {}
        try assertAgree(reader, "after prune, all folded")
        let connection = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM capture_rollups WHERE captures <= 0"), 0)
        XCTAssertEqual(try connection.scalarInt("SELECT sum(captures) FROM capture_rollups"), 60)
    }

    func testADryRunLeavesTheRollupsAlone() throws {
        let writer = try seeded(count: 100)
        while try writer.foldRollups() > 0 {}
        _ = try writer.prune(RetentionPolicy(maxAgeMs: hour, maxPerSession: 1, maxRows: 3), now: start + 6 * hour, dryRun: true)
        let connection = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        XCTAssertEqual(try connection.scalarInt("SELECT sum(captures) FROM capture_rollups"), 100)
    }

    func testTheWholeRangeIsOneRollupQueryAndNoScanOfCaptures() throws {
        let writer = try seeded(count: 50)
        while try writer.foldRollups() > 0 {}
        let reader = try CaptureReader(path: path())
        _ = try reader.stats(nil, since: nil, until: nil, groupBy: .agent)
        for sql in reader.connection.preparedSQL {
            let explain = try reader.connection.prepare("EXPLAIN QUERY PLAN " + sql)
            var details: [String] = []
            while try explain.step() { details.append(explain.string(at: 3)) }
            explain.reset()
            XCTAssertFalse(
                details.contains { $0.hasPrefix("SCAN captures") && !$0.contains("COVERING INDEX captures_by_session") },
                "\(sql)\n\(details)")
        }
    }
}
