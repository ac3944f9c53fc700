import AffinityCore
import CSQLite
import Foundation
import XCTest

@testable import CaptureStore

/// Schema 6: the attribution fields stored and read back, stats grouped by trigger and channel from the rollups
/// exactly as from the captures, and budgets: set, cleared, bounded, counted by UTC day.
final class AttributionAndBudgetTests: StoreTestCase {
    private let day: Int64 = UTCDate(year: 2026, month: 12, day: 3).startMillis

    private func call(
        session: String, agent: String?, at time: Int64, model: String, trigger: String?, channel: String?, cost: Double?
    ) -> NewCapture {
        var new = capture(session: session, agent: agent, at: time, model: model)
        new.usage = CallUsage(provider: "cloudsigma", inputTokens: 100, outputTokens: 10, cacheReadTokens: 50, costUsd: cost, outcome: .ok)
        new.attribution = CallAttribution(trigger: trigger, channel: channel, timeToFirstByteMs: 420, failureKind: nil)
        return new
    }

    func testTheFieldsAreStoredAndReadBackAndTheRouteChangeToo() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        var first = call(session: "s", agent: "a", at: day, model: "m1", trigger: "cron", channel: "telegram", cost: 0.5)
        first.usage.outcome = .error
        first.attribution.failureKind = "timeout"
        _ = try writer.record([first, call(session: "s", agent: "a", at: day + 1, model: "m2", trigger: nil, channel: nil, cost: nil)])
        let reader = try CaptureReader(path: path())
        defer { reader.close() }
        let page = try reader.history(HistoryQuery(selector: .session("s"), limit: 10))
        XCTAssertEqual(page.captures.map(\.attribution), [
            CallAttribution(timeToFirstByteMs: 420),
            CallAttribution(trigger: "cron", channel: "telegram", timeToFirstByteMs: 420, failureKind: "timeout"),
        ], "newest first")
        XCTAssertEqual(page.captures.map(\.routeChanged), [true, false], "m1 then m2: the second changed the route")
        XCTAssertEqual(try reader.lastRoute(.session("s"))?.routeChanged, true)
    }

    func testStatsGroupByTriggerAndChannelAgreeBetweenRollupsAndCaptures() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        let triggers: [String?] = ["user", "cron", nil, "unknown", "<script>alert(1)</script>", "heartbeat"]
        var batch: [NewCapture] = []
        for i in 0..<300 {
            batch.append(
                call(
                    session: "s\(i % 7)", agent: i % 3 == 0 ? nil : "a\(i % 2)", at: day - 5 * 3_600_000 + Int64(i) * 61_000,
                    model: "m\(i % 4)", trigger: triggers[i % triggers.count], channel: i % 5 == 0 ? nil : "c\(i % 2)",
                    cost: Double(i % 10) / 10))
        }
        _ = try writer.record(batch)
        let reader = try CaptureReader(path: path())
        defer { reader.close() }
        let since = day - 6 * 3_600_000 + 1_234
        let until = day + 123
        func groups(_ by: StatsGrouping) throws -> [String: (Int, Double?, Int?, Int64, Int64)] {
            let stats = try reader.stats(nil, since: since, until: until, groupBy: by, limit: 100)
            return Dictionary(uniqueKeysWithValues: (stats.groups ?? []).map {
                ($0.key, ($0.captures, $0.usage.costUsd, $0.routeChanges, $0.firstCapturedAt, $0.lastCapturedAt))
            })
        }
        let unfolded = (try groups(.trigger), try groups(.channel))
        while try writer.foldRollups() > 0 {}
        let folded = (try groups(.trigger), try groups(.channel))
        for (a, b) in [(unfolded.0, folded.0), (unfolded.1, folded.1)] {
            XCTAssertEqual(Set(a.keys), Set(b.keys))
            for (key, value) in a {
                XCTAssertEqual(value.0, b[key]?.0, key)
                XCTAssertEqual(value.1 ?? 0, b[key]?.1 ?? 0, accuracy: 1e-9, key)
                XCTAssertEqual(value.2, b[key]?.2, key)
                XCTAssertEqual(value.3, b[key]?.3, "\(key): first capture, from the captures or from the rollups' first hour")
                XCTAssertEqual(value.4, b[key]?.4, "\(key): last capture")
            }
        }
        // None and a trigger named "unknown" are one group, as a model group's are; a hostile value is just a key.
        XCTAssertEqual(Set(folded.0.keys), ["user", "cron", "unknown", "<script>alert(1)</script>", "heartbeat"])
        let inRange = batch.filter { $0.capturedAt >= since && $0.capturedAt < until }.count
        XCTAssertEqual(folded.0.values.reduce(0) { $0 + $1.0 }, inRange, "every capture in the range in one trigger group")
        XCTAssertEqual(folded.1.values.reduce(0) { $0 + $1.0 }, inRange)
        XCTAssertEqual(Set(folded.1.keys), ["c0", "c1", "unknown"])
        // A session selector reads its captures: the same groups as the rollups would give.
        let session = try reader.stats(.session("s1"), since: nil, until: nil, groupBy: .trigger, limit: 100)
        XCTAssertEqual(session.groups?.reduce(0) { $0 + $1.captures }, batch.filter { $0.sessionId == "s1" }.count)
        XCTAssertTrue(session.groups?.allSatisfy { $0.lastModel == nil } ?? false, "a trigger has no one model")
    }

    func testBudgetsAreSetClearedAndBounded() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        let set = try writer.setBudget(10, for: .agent("a"), now: day)
        XCTAssertEqual(set, BudgetChange(subject: .agent("a"), usdPerDay: 10, previous: nil, updatedAt: day))
        XCTAssertEqual(try writer.setBudget(12.5, for: .agent("a"), now: day + 1).previous, 10)
        XCTAssertEqual(try writer.setBudget(nil, for: .session("never set"), now: day).previous, nil)
        XCTAssertThrowsError(try writer.setBudget(0, for: .agent("b"), now: day)) {
            XCTAssertEqual(($0 as? StoreError)?.code, .invalidArgument)
        }
        XCTAssertThrowsError(try writer.setBudget(-1, for: .agent("b"), now: day))
        XCTAssertThrowsError(try writer.setBudget(.nan, for: .agent("b"), now: day))
        for i in 1..<BudgetLimits.maxBudgets { _ = try writer.setBudget(1, for: .session("s\(i)"), now: day) }
        XCTAssertThrowsError(try writer.setBudget(1, for: .agent("one too many"), now: day)) {
            XCTAssertEqual(($0 as? StoreError)?.code, .limitReached)
        }
        XCTAssertEqual(try writer.setBudget(2, for: .agent("a"), now: day).previous, 12.5, "changing one is not a new one")
        XCTAssertEqual(try writer.setBudget(nil, for: .agent("a"), now: day).previous, 2)
        _ = try writer.setBudget(1, for: .agent("now there is room"), now: day)
        let reader = try CaptureReader(path: path())
        defer { reader.close() }
        XCTAssertEqual(try reader.budgets(now: day).budgets.count, BudgetLimits.maxBudgets)
    }

    func testSpendIsCountedByUTCDayAndRetentionKeepsBudgets() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        _ = try writer.setBudget(1, for: .agent("a"), now: day)
        _ = try writer.setBudget(0.5, for: .session("s"), now: day)
        _ = try writer.record([
            call(session: "s", agent: "a", at: day - 1, model: "m", trigger: nil, channel: nil, cost: 5),  // yesterday
            call(session: "s", agent: "a", at: day, model: "m", trigger: nil, channel: nil, cost: 0.75),
            call(session: "t", agent: "a", at: day + 3_600_000, model: "m", trigger: nil, channel: nil, cost: 0.5),
            call(session: "t", agent: "a", at: day + 3_600_001, model: "m", trigger: nil, channel: nil, cost: nil),
        ])
        let reader = try CaptureReader(path: path())
        defer { reader.close() }
        func spent(_ now: Int64) throws -> [CaptureSelector: (Double, Bool)] {
            let listing = try reader.budgets(now: now)
            return Dictionary(uniqueKeysWithValues: listing.budgets.map { ($0.budget.subject, ($0.spentTodayUsd, $0.exceeded)) })
        }
        for folded in [false, true] {
            if folded { while try writer.foldRollups() > 0 {} }
            let yesterday = try spent(day - 1)
            XCTAssertEqual(yesterday[.agent("a")]?.0, 5, "folded: \(folded)")
            XCTAssertEqual(yesterday[.agent("a")]?.1, true)
            let today = try spent(day + 7_200_000)
            XCTAssertEqual(today[.agent("a")]?.0 ?? 0, 1.25, accuracy: 1e-9)
            XCTAssertEqual(today[.agent("a")]?.1, true, "1.25 > 1")
            XCTAssertEqual(today[.session("s")]?.0 ?? 0, 0.75, accuracy: 1e-9)
            XCTAssertEqual(try reader.budgets(now: day).exceeded, 2)
            XCTAssertEqual(try spent(day + 86_400_000)[.agent("a")]?.0, 0, "a new UTC day starts at 0")
        }
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 0, maxPerSession: 0, maxRows: 1), now: day + 7_200_000, dryRun: false)
        XCTAssertEqual(try reader.budgets(now: day).budgets.count, 2, "retention never removes a budget")
    }

    // MARK: Migration from schemas 2 to 5 (schema 1: `UsageTests`)

    /// Fixtures written by the schema-2 to schema-5 services through their sockets (`scripts/make-schema-fixture.py`,
    /// with taas-capture at 8f211e3, 6960e5c, 4fb8971 and 0ab797e): 240 captures, capture i in session i % 12 of agent i % 5 at
    /// 2025-11-24T16:00Z + i × 15 min, served by one of three models in runs of 7, cost 0.001 × (i % 17) USD.
    private static func fixture(_ schema: Int) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/schema\(schema)-captures.sqlite3")
    }

    private static let modelsOfFixture = ["qwen3-coder", "claude-sonnet-4", "gpt-5"]

    /// Every capture's columns of schema 5 (route_changed included) as text, by id.
    private func rows(_ file: String, routeChanged: Bool) throws -> [[String?]] {
        let connection = try Connection(path: file, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        let columns = "id, session_id, agent_id, captured_at, taas_request_id, autorouter_model, autorouter_algo, "
            + "autorouted, provider, requested_model, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
            + "cost_usd, cache_saved_usd, duration_ms, outcome, dedupe_key" + (routeChanged ? ", route_changed" : "")
        let statement = try connection.prepare("SELECT \(columns) FROM captures ORDER BY id")
        defer { statement.reset() }
        var rows: [[String?]] = []
        let count = Int32(columns.split(separator: ",").count)
        while try statement.step() { rows.append((0..<count).map { statement.optionalString(at: $0) }) }
        return rows
    }

    func testSchemaTwoToFiveFilesMigrateKeepingEveryCaptureTheirStatsAndPins() throws {
        for schema in [2, 3, 4, 5] {
            let file = path("schema\(schema).sqlite3")
            try FileManager.default.copyItem(atPath: Self.fixture(schema).path, toPath: file)
            chmod(file, 0o600)
            XCTAssertEqual(try Migrator.probeVersion(path: file, busyTimeoutMs: 1000), schema)
            let before = try rows(file, routeChanged: schema == 5)
            XCTAssertEqual(before.count, 240)

            let writer = try CaptureWriter(path: file, durability: .normal)
            defer { writer.close() }
            XCTAssertEqual(try Migrator.probeVersion(path: file, busyTimeoutMs: 1000), 6)
            XCTAssertEqual(try rows(file, routeChanged: schema == 5), before, "schema \(schema): no capture lost or altered")
            while try writer.foldRollups() > 0 {}

            let reader = try CaptureReader(path: file)
            defer { reader.close() }
            let audit = try reader.rollupAudit()
            XCTAssertEqual(audit.counted, 240)
            XCTAssertEqual(audit.stored, 240)
            let stats = try reader.stats(nil, since: nil, until: nil, groupBy: .trigger)
            XCTAssertEqual(stats.total, 240)
            var byModel: [String: Int] = [:]
            var changes = 0
            var last: [Int: String] = [:]
            var cost = 0.0
            for i in 0..<240 {
                let model = Self.modelsOfFixture[(i / 7) % 3]
                byModel[model, default: 0] += 1
                if let previous = last[i % 12], previous != model { changes += 1 }
                last[i % 12] = model
                cost += Double(i % 17) / 1000
            }
            XCTAssertEqual(stats.byModel, byModel)
            XCTAssertEqual(stats.routeChanges, changes, "schema \(schema): route changes settled or kept")
            XCTAssertEqual(stats.usage.costUsd ?? 0, cost, accuracy: 1e-9)
            XCTAssertEqual(stats.groups?.map(\.key), [Stats.unknown], "no older capture has a trigger")
            XCTAssertEqual(stats.groups?.first?.captures, 240)
            XCTAssertEqual(try reader.algorithms(sinceVersion: nil).overrides.count, 2, "pins kept")
            XCTAssertEqual(try reader.budgets(now: day).budgets, [], "the budgets table is there, empty")
            XCTAssertEqual(try reader.integrityCheck(), ["ok"])
        }
    }
}
