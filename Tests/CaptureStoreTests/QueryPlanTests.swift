import AffinityCore
import XCTest

@testable import CaptureStore

/// Every statement the store prepares on its hot paths uses an index: no `SCAN captures` (a full table scan).
/// https://www.sqlite.org/eqp.html
final class QueryPlanTests: StoreTestCase {
    private func plan(_ sql: String, on connection: Connection) throws -> [String] {
        let explain = try connection.prepare("EXPLAIN QUERY PLAN " + sql)
        defer { explain.reset() }
        var details: [String] = []
        while try explain.step() { details.append(explain.string(at: 3)) }
        return details
    }

    private func assertNoTableScan(_ connection: Connection, where include: (String) -> Bool) throws -> [String: [String]] {
        var plans: [String: [String]] = [:]
        for sql in connection.preparedSQL where include(sql) {
            let details = try plan(sql, on: connection)
            plans[sql] = details
            // The table under any alias the statement gives it (`captures AS c` plans as `SCAN c`).
            let names = ["captures"] + sql.matches(of: /captures AS (\w+)/).map { String($0.output.1) }
            let scans = details.filter { detail in
                names.contains { detail == "SCAN \($0)" || detail.hasPrefix("SCAN \($0) ") } && !detail.contains("INDEX")
            }
            XCTAssertTrue(scans.isEmpty, "\(sql)\n\(details)")
        }
        return plans
    }

    func testWritePathsUseIndexes() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        // With the route cache, as in the service: a prune then reads back the routes it deletes.
        try writer.keepExact(RouteCache(capacity: 64))
        _ = try writer.record((0..<20).map { capture(session: "oc:s\($0 % 5)", at: Int64($0), requestId: "r\($0 % 10)") })
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 5, maxPerSession: 2, maxRows: 3), now: 10, dryRun: false, chunkSize: 1)
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 5, maxPerSession: 2, maxRows: 3), now: 10, dryRun: true)
        // Retention picks the rows it deletes with `INSERT INTO temp.doomed SELECT …`; only the record INSERT is
        // left out.
        let plans = try assertNoTableScan(writer.connection) {
            $0.contains("captures") && !$0.hasPrefix("INSERT INTO captures (")
        }
        let text = plans.values.joined().joined(separator: "\n")
        for index in ["captures_by_session", "captures_by_time", "captures_dedupe"] {
            XCTAssertTrue(text.contains(index), "\(index) unused:\n\(plans)")
        }
        XCTAssertGreaterThanOrEqual(plans.count, 8)
    }

    func testReadPathsUseIndexes() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<20).map { capture(session: "oc:s\($0 % 4)", agent: "a\($0 % 2)", at: Int64($0)) })
        let reader = try CaptureReader(path: path())
        for selector in [CaptureSelector.session("oc:s1"), .agent("a1")] {
            _ = try reader.lastRoute(selector)
            _ = try reader.history(HistoryQuery(selector: selector, limit: 2, since: 1, until: 15))
            _ = try reader.stats(selector, since: nil, until: nil)
        }
        // Every statement that reads captures, those that name their index or read by rowid (NOT INDEXED) too.
        let plans = try assertNoTableScan(reader.connection) { $0.contains("FROM captures") }
        for (sql, details) in plans where sql.contains("session_id = ?1") {
            XCTAssertTrue(details.joined().contains("captures_by_session"), "\(sql)\n\(details)")
        }
        for (sql, details) in plans where sql.contains("agent_id = ?1") {
            XCTAssertTrue(details.joined().contains("captures_by_agent"), "\(sql)\n\(details)")
        }
        // lastRoute and history need no sort step: the index already returns newest first.
        for (sql, details) in plans where sql.contains("ORDER BY captured_at DESC") {
            XCTAssertFalse(details.contains { $0.contains("TEMP B-TREE") }, "\(sql)\n\(details)")
        }
        // lastRoute and history per selector kind; stats of a session read its captures (two statements); stats
        // of an agent read the captures beside the rollups (two), its time bounds (two), and its sessions beside the
        // session rollups (two: those of the times the session tables do not hold yet, those above the id mark);
        // the route-change term's correlated read of the previous capture is in both stats.
        XCTAssertEqual(plans.count, 12)
    }
}
