import AffinityCore
import CSQLite
import Foundation
import XCTest

@testable import CaptureStore

/// Schema 2: usage columns, the schema-1 migration, and the queries that read usage.
final class UsageTests: StoreTestCase {
    /// `Tests/Fixtures/schema1-captures.sqlite3`: 240 captures over 12 sessions and 5 agents, written by the
    /// schema-1 service (taas-capture 0.6 `serve`, through its socket) before schema 2 existed.
    static let schemaOneFixture = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/schema1-captures.sqlite3")

    static let schemaOneColumns = """
        id, session_id, agent_id, captured_at, taas_request_id, taas_trace_id, openclaw_turn_id, openclaw_attempt, \
        autorouter_model, autorouter_algo, autorouter_algo_source, thinking_applied, routed_context_window, dedupe_key
        """

    /// Every row's schema-1 columns as text, by id.
    func schemaOneRows(_ path: String) throws -> [[String?]] {
        let connection = try Connection(path: path, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        let statement = try connection.prepare("SELECT \(Self.schemaOneColumns) FROM captures ORDER BY id")
        defer { statement.reset() }
        var rows: [[String?]] = []
        while try statement.step() { rows.append((0..<14).map { statement.optionalString(at: Int32($0)) }) }
        return rows
    }

    func copyOfSchemaOneFixture() throws -> String {
        let target = path()
        try FileManager.default.copyItem(atPath: Self.schemaOneFixture.path, toPath: target)
        chmod(target, 0o600)
        return target
    }

    func testSchemaOneFileMigratesInPlaceKeepingEveryCapture() throws {
        let file = try copyOfSchemaOneFixture()
        let before = try schemaOneRows(file)
        XCTAssertEqual(before.count, 240)
        XCTAssertEqual(try Migrator.probeVersion(path: file, busyTimeoutMs: 1000), 1)

        let writer = try CaptureWriter(path: file, durability: .normal)
        writer.close()
        XCTAssertEqual(try Migrator.probeVersion(path: file, busyTimeoutMs: 1000), Migrator.latestVersion)
        XCTAssertEqual(try schemaOneRows(file), before, "no capture lost or altered")

        let reader = try CaptureReader(path: file)
        defer { reader.close() }
        let page = try reader.history(HistoryQuery(selector: .session("oc:0000000000000000"), limit: 1000))
        XCTAssertEqual(page.captures.count, 20)
        XCTAssertTrue(page.captures.allSatisfy { $0.usage == CallUsage() }, "old captures: autorouted, no usage")
        let stats = try reader.stats(nil, since: nil, until: nil)
        XCTAssertEqual(stats.total, 240)
        XCTAssertEqual(stats.byModel, ["qwen3-coder": 80, "claude-sonnet-4": 80, "gpt-5": 80])
        XCTAssertEqual(stats.usage, UsageTotals())
        XCTAssertEqual(try reader.integrityCheck(), ["ok"])
    }

    func testAMigratedFileOpensAgainWithoutChange() throws {
        let file = try copyOfSchemaOneFixture()
        try CaptureWriter(path: file, durability: .normal).close()
        let once = try schemaOneRows(file)
        try CaptureWriter(path: file, durability: .normal).close()
        XCTAssertEqual(try schemaOneRows(file), once)
    }

    func testUsageIsStoredAndReadBackExactly() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var routed = capture(at: 10, model: "qwen3-coder")
        routed.usage = CallUsage(
            autorouted: true, provider: "cloudsigma", requestedModel: "cloudsigma/auto", inputTokens: 120,
            outputTokens: 40, cacheReadTokens: 880, cacheWriteTokens: 0, costUsd: 0.0125, cacheSavedUsd: 0.0031,
            durationMs: 1830, outcome: .ok)
        var unrouted = capture(at: 20, model: nil)
        unrouted.fields = CaptureFields()
        unrouted.usage = CallUsage(
            autorouted: false, provider: "cloudsigma", requestedModel: "cloudsigma/gpt-5", inputTokens: 9_007_199_254_740_991,
            outcome: .aborted)
        _ = try writer.record([routed, unrouted])
        let reader = try CaptureReader(path: path())
        let page = try reader.history(HistoryQuery(selector: .session("oc:session-a")))
        XCTAssertEqual(page.captures.map(\.usage), [unrouted.usage, routed.usage])
    }

    func testLastRouteSkipsCallsTaasDidNotRoute() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var unrouted = capture(at: 50, model: nil)
        unrouted.fields = CaptureFields()
        unrouted.usage = CallUsage(autorouted: false, inputTokens: 5)
        let routed = try writer.record([capture(at: 40, model: "served"), unrouted])
        let reader = try CaptureReader(path: path())
        XCTAssertEqual(try reader.lastRoute(.session("oc:session-a"))?.id, routed[0].id)
        XCTAssertEqual(try reader.lastRoute(.agent("main"))?.id, routed[0].id)
        XCTAssertEqual(try reader.history(HistoryQuery(selector: .agent("main"))).captures.count, 2, "history lists both")
    }

    func testStatsSumUsageAndCountTheServedModel() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var a = capture(at: 1, model: "qwen3-coder")
        a.usage = CallUsage(inputTokens: 100, outputTokens: 10, cacheReadTokens: 300, cacheWriteTokens: 100, costUsd: 0.5)
        var b = capture(at: 2, model: nil)
        b.fields = CaptureFields()
        b.usage = CallUsage(autorouted: false, requestedModel: "cloudsigma/gpt-5", inputTokens: 500, cacheSavedUsd: 0.25)
        let c = capture(at: 3, model: "qwen3-coder")  // a route without usage
        _ = try writer.record([a, b, c])
        let stats = try CaptureReader(path: path()).stats(nil, since: nil, until: nil)
        XCTAssertEqual(stats.total, 3)
        XCTAssertEqual(stats.byModel, ["qwen3-coder": 2, "cloudsigma/gpt-5": 1])
        XCTAssertEqual(
            stats.usage,
            UsageTotals(
                calls: 2, inputTokens: 600, outputTokens: 10, cacheReadTokens: 300, cacheWriteTokens: 100,
                costUsd: 0.5, cacheSavedUsd: 0.25))
        XCTAssertEqual(try XCTUnwrap(stats.usage.cacheHitRatio), 0.3, accuracy: 1e-12)
        XCTAssertNil(UsageTotals(calls: 1, outputTokens: 5).cacheHitRatio, "no prompt tokens: no ratio")
    }

    func testTheDatabaseRefusesNegativeCountsAndUnknownOutcomes() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        XCTAssertThrowsError(try writer.connection.execute(
            "INSERT INTO captures (session_id, captured_at, input_tokens) VALUES ('s', 1, -1)"))
        XCTAssertThrowsError(try writer.connection.execute(
            "INSERT INTO captures (session_id, captured_at, outcome) VALUES ('s', 1, 'maybe')"))
        XCTAssertEqual(try storedIds(path()), [])
    }
}
