import AffinityCore
import CSQLite
import XCTest

@testable import CaptureStore

/// The route cache answers `lastRoute` exactly as SQLite does, whoever changed the file.
final class RouteCacheTests: StoreTestCase {
    private var writer: CaptureWriter!
    private var cached: CaptureReader!
    private var plain: CaptureReader!
    private var routes: RouteCache!

    override func setUpWithError() throws {
        try super.setUpWithError()
        writer = try CaptureWriter(path: path(), durability: .normal)
        routes = RouteCache(capacity: 64)
        try writer.keepExact(routes)
        cached = try CaptureReader(path: path())
        cached.routes = routes
        plain = try CaptureReader(path: path())
    }

    override func tearDownWithError() throws {
        cached?.close()
        plain?.close()
        writer?.close()
        try super.tearDownWithError()
    }

    /// Whether the cache would answer `selector` from memory now.
    private func isHeld(_ selector: CaptureSelector) -> Bool {
        if case .hit = routes.lookup(selector, now: cached.connection.walStamp()) { return true }
        return false
    }

    private func assertSameAnswers(_ selectors: [CaptureSelector], file: StaticString = #filePath, line: UInt = #line) throws {
        for selector in selectors {
            // Twice: the first may fill, the second is then answered from memory.
            for _ in 0..<2 {
                XCTAssertEqual(try cached.lastRoute(selector), try plain.lastRoute(selector), "\(selector)", file: file, line: line)
            }
        }
    }

    func testAnswersAsSQLiteDoesThroughRandomRecords() throws {
        var generator = SystemRandomNumberGenerator()
        let sessions = (0..<12).map { "oc:s\($0)" } + ["oc:e\u{301}", "oc:\u{e9}"]  // canonically equal, different bytes
        let agents = ["a1", "a2", "a3", "e\u{301}", "\u{e9}"]
        let selectors = sessions.map(CaptureSelector.session) + agents.map(CaptureSelector.agent) + [.session("oc:none")]
        for round in 0..<40 {
            var batch: [NewCapture] = []
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                var new = capture(
                    session: sessions.randomElement(using: &generator)!,
                    agent: Bool.random(using: &generator) ? agents.randomElement(using: &generator)! : nil,
                    // Out of order on purpose: an older capture must not become the newest route.
                    at: 1_700_000_000_000 + Int64.random(in: 0...200, using: &generator) * 1000,
                    requestId: "r\(Int.random(in: 0...300, using: &generator))",  // some are duplicates
                    model: "m\(round)"
                )
                if Int.random(in: 0..<5, using: &generator) == 0 {
                    new.usage = CallUsage(autorouted: false, provider: "p")
                    new.fields = CaptureFields(taasRequestId: new.fields.taasRequestId)
                }
                batch.append(new)
            }
            _ = try writer.record(batch)
            try assertSameAnswers(selectors)
        }
        XCTAssertGreaterThan(routes.counts.sessions, 10)
        XCTAssertGreaterThan(routes.counts.agents, 3)
        XCTAssertTrue(isHeld(.session("oc:s1")), "after a query with no commit since, the session is answered from memory")
    }

    func testAHeldRouteFollowsTheWritersNewerCapturesOnly() throws {
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 2000, model: "first")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "first")
        XCTAssertEqual(try cached.lastRoute(.agent("x"))?.fields.autorouterModel, "first")
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 1000, model: "older")])
        XCTAssertTrue(isHeld(.session("oc:a")), "the writer's commit keeps the entry")
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "first")
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 3000, model: "newer")])
        XCTAssertTrue(isHeld(.agent("x")))
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "newer")
        XCTAssertEqual(try cached.lastRoute(.agent("x")), try plain.lastRoute(.agent("x")))
        // A session with no route is held as such, and becomes routed with its first capture.
        XCTAssertNil(try cached.lastRoute(.session("oc:b")))
        XCTAssertTrue(isHeld(.session("oc:b")))
        _ = try writer.record([capture(session: "oc:b", at: 5, model: "b")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:b"))?.fields.autorouterModel, "b")
    }

    func testAnotherConnectionsDeleteIsSeenAtOnce() throws {
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 1000, model: "old")])
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 2000, model: "new")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "new")
        XCTAssertEqual(try cached.lastRoute(.agent("x"))?.fields.autorouterModel, "new")
        XCTAssertTrue(isHeld(.session("oc:a")))

        // Another connection (as `sqlite3` or `taas-capture prune` would be) deletes the newest capture.
        let other = try Connection(path: path(), flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: 1000)
        try other.execute("DELETE FROM captures WHERE captured_at = 2000")
        other.close()

        XCTAssertFalse(isHeld(.session("oc:a")), "a commit the writer did not make turns the cache off")
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "old")
        XCTAssertEqual(try cached.lastRoute(.agent("x"))?.fields.autorouterModel, "old")

        // The idle writer's catch-up empties the cache and publishes again; then it fills and holds.
        try writer.catchUpRoutes()
        XCTAssertEqual(routes.counts.sessions, 0)
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "old")
        XCTAssertTrue(isHeld(.session("oc:a")))
    }

    func testTheWritersNextTransactionEmptiesWhatAnotherConnectionChanged() throws {
        _ = try writer.record([capture(session: "oc:a", at: 1000, model: "old")])
        _ = try writer.record([capture(session: "oc:a", at: 2000, model: "new")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "new")
        let other = try Connection(path: path(), flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: 1000)
        try other.execute("DELETE FROM captures WHERE captured_at = 2000")
        other.close()
        // A record of another session: its BEGIN sees a header it did not publish.
        _ = try writer.record([capture(session: "oc:b", at: 3000)])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "old")
        XCTAssertTrue(isHeld(.session("oc:a")))
    }

    func testAFillRacingACommitIsRefused() throws {
        _ = try writer.record([capture(session: "oc:a", at: 1000, model: "old")])
        guard case .miss(let seen) = routes.lookup(.session("oc:a"), now: cached.connection.walStamp()) else {
            return XCTFail("expected a miss")
        }
        let stale = try plain.lastRoute(.session("oc:a"))
        _ = try writer.record([capture(session: "oc:a", at: 2000, model: "new")])
        routes.fill(.session("oc:a"), stale, seen: seen, now: cached.connection.walStamp())
        XCTAssertFalse(isHeld(.session("oc:a")), "a row read before a commit must not be held after it")
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "new")
    }

    func testRetentionDropsOnlyTheEntriesOfDeletedCaptures() throws {
        _ = try writer.record([
            capture(session: "oc:old", agent: "x", at: 1000, model: "old"),
            capture(session: "oc:kept", agent: "x", at: 500, model: "older"),
            capture(session: "oc:kept", agent: "y", at: 9_000_000, model: "fresh"),
        ])
        let selectors: [CaptureSelector] = [.session("oc:old"), .session("oc:kept"), .agent("x"), .agent("y"), .session("oc:none")]
        try assertSameAnswers(selectors)
        XCTAssertTrue(selectors.allSatisfy(isHeld))
        let report = try writer.prune(RetentionPolicy(maxAgeMs: 1_000_000, maxPerSession: 0, maxRows: 0), now: 5_000_000, dryRun: false)
        XCTAssertEqual(report.deleted, 2)
        XCTAssertFalse(isHeld(.session("oc:old")), "its newest capture was deleted")
        XCTAssertFalse(isHeld(.agent("x")))
        XCTAssertTrue(isHeld(.session("oc:kept")), "its newest capture survived: still exact")
        XCTAssertTrue(isHeld(.agent("y")))
        XCTAssertTrue(isHeld(.session("oc:none")), "a deletion cannot give a session a newest capture")
        try assertSameAnswers(selectors)
        XCTAssertEqual(try cached.lastRoute(.session("oc:kept"))?.fields.autorouterModel, "fresh")
        XCTAssertNil(try cached.lastRoute(.agent("x")))
    }

    /// Every rule, on random captures: after each prune the cache answers as SQLite does.
    func testAnswersAsSQLiteDoesThroughRandomPrunes() throws {
        var generator = SeededGenerator(seed: 22)
        let sessions = (0..<40).map { "oc:p\($0)" }
        let agents = ["a1", "a2", "a3"]
        let selectors = sessions.map(CaptureSelector.session) + agents.map(CaptureSelector.agent)
        var now: Int64 = 1_000_000
        for round in 0..<12 {
            var batch: [NewCapture] = []
            for index in 0..<Int.random(in: 5...30, using: &generator) {
                now += Int64.random(in: 1...50, using: &generator) * 1000
                var new = capture(
                    session: sessions.randomElement(using: &generator)!, agent: agents.randomElement(using: &generator)!,
                    at: now - Int64.random(in: 0...100, using: &generator) * 1000, requestId: "r\(round)-\(index)",
                    model: "m\(round)-\(index)"
                )
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    new.usage = CallUsage(autorouted: false, provider: "p")  // stored, deleted, never a route
                }
                batch.append(new)
            }
            _ = try writer.record(batch)
            try assertSameAnswers(selectors)
            // What the prune will not delete: the newest route of each session and agent it keeps held.
            let newest = try Dictionary(uniqueKeysWithValues: selectors.map { ($0, try plain.lastRoute($0)?.id) })
            let policy = [
                RetentionPolicy(maxAgeMs: Int64.random(in: 20_000...200_000, using: &generator), maxPerSession: 0, maxRows: 0),
                RetentionPolicy(maxAgeMs: 0, maxPerSession: Int.random(in: 1...3, using: &generator), maxRows: 0),
                RetentionPolicy(maxAgeMs: 0, maxPerSession: 0, maxRows: Int.random(in: 5...40, using: &generator)),
            ][round % 3]
            _ = try writer.prune(policy, now: now, dryRun: false, chunkSize: 3)
            let survivors = try Set(storedIds(path()))
            for selector in selectors {
                guard case .some(.some(let id)) = newest[selector] else { continue }
                XCTAssertEqual(isHeld(selector), survivors.contains(id), "\(selector): held exactly while its newest survives")
            }
            try assertSameAnswers(selectors)
        }
    }

    func testRetentionOfOtherCapturesKeepsTheCache() throws {
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 2_000_000, model: "new")])
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 1000, model: "old")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "new")
        let report = try writer.prune(RetentionPolicy(maxAgeMs: 1_000_000, maxPerSession: 0, maxRows: 0), now: 2_000_000, dryRun: false)
        XCTAssertEqual(report.deleted, 1)
        XCTAssertTrue(isHeld(.session("oc:a")))
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "new")
    }

    func testRetentionOfTheNewestCaptureTakesItOut() throws {
        _ = try writer.record([capture(session: "oc:a", agent: "x", at: 1000, model: "old")])
        XCTAssertNotNil(try cached.lastRoute(.session("oc:a")))
        XCTAssertNotNil(try cached.lastRoute(.agent("x")))
        let report = try writer.prune(RetentionPolicy(maxAgeMs: 1, maxPerSession: 0, maxRows: 0), now: 10_000_000_000_000, dryRun: false)
        XCTAssertEqual(report.deleted, 1)
        XCTAssertNil(try cached.lastRoute(.session("oc:a")))
        XCTAssertNil(try cached.lastRoute(.agent("x")))
        XCTAssertTrue(isHeld(.session("oc:a")), "published again after the prune's commit")
    }

    func testCheckpointsAndWALRestartsKeepItExact() throws {
        _ = try writer.record([capture(session: "oc:a", at: 1000, model: "one")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "one")
        // A PASSIVE checkpoint that copies the whole WAL: the next commit starts the WAL over (new salt).
        try writer.checkpoint(truncate: false)
        _ = try writer.record([capture(session: "oc:a", at: 2000, model: "two")])
        XCTAssertTrue(isHeld(.session("oc:a")), "a commit that restarts the WAL is recognised as the writer's")
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "two")
        // TRUNCATE rewrites the header outside any commit: readers go to SQLite until the writer catches up.
        try writer.checkpoint(truncate: true)
        XCTAssertFalse(isHeld(.session("oc:a")))
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "two")
        _ = try writer.record([capture(session: "oc:a", at: 3000, model: "three")])
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "three")
        XCTAssertEqual(try cached.lastRoute(.session("oc:a")), try plain.lastRoute(.session("oc:a")))
    }

    func testARestartOfAShortWALByABiggerCommitIsSettledByDataVersion() throws {
        _ = try writer.record([capture(session: "oc:a", at: 1000, model: "one")])
        try writer.checkpoint(truncate: false)
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "one")
        let began = try XCTUnwrap(writer.connection.walStamp())
        // More frames than the WAL had: the header alone cannot tell this restart from another process's.
        let many = (0..<3000).map { capture(session: "oc:many\($0)", agent: "agent\($0)", at: 2000 + Int64($0)) }
        _ = try writer.record(many + [capture(session: "oc:a", at: 5000, model: "two")])
        let now = try XCTUnwrap(writer.connection.walStamp())
        XCTAssertEqual(now.firstSalt, began.firstSalt &+ 1, "the commit restarted the WAL")
        XCTAssertGreaterThan(now.frames, began.frames)
        XCTAssertTrue(isHeld(.session("oc:a")), "settled as the writer's own commit")
        XCTAssertEqual(try cached.lastRoute(.session("oc:a"))?.fields.autorouterModel, "two")
    }

    func testAFullCacheStartsOver() throws {
        for index in 0..<70 { _ = try writer.record([capture(session: "oc:\(index)", at: Int64(index))]) }
        for index in 0..<70 { XCTAssertEqual(try cached.lastRoute(.session("oc:\(index)"))?.capturedAt, Int64(index)) }
        XCTAssertLessThanOrEqual(routes.counts.sessions, 64)
        XCTAssertGreaterThan(routes.counts.sessions, 0)
    }

    func testOwnCommitShapes() {
        func stamp(frames: UInt32, salt: UInt32) -> WalStamp {
            var stamp = WalStamp()
            withUnsafeMutableBytes(of: &stamp.bytes) { header in
                header.storeBytes(of: frames, toByteOffset: 16, as: UInt32.self)
                header.storeBytes(of: salt.bigEndian, toByteOffset: 32, as: UInt32.self)
            }
            return stamp
        }
        let began = stamp(frames: 100, salt: 7)
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: 108, now: stamp(frames: 108, salt: 7)), .own)
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: 108, now: stamp(frames: 112, salt: 7)), .notOwn, "another commit after it")
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: 5, now: stamp(frames: 5, salt: 8)), .own, "restarted the WAL")
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: 5, now: stamp(frames: 5, salt: 9)), .notOwn)
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: 5, now: stamp(frames: 5, salt: 7)), .notOwn)
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: 108, now: stamp(frames: 108, salt: 8)), .ambiguous)
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: nil, now: began), .own)
        XCTAssertEqual(RouteCache.commitShape(began: began, frames: nil, now: stamp(frames: 101, salt: 7)), .notOwn)
    }
}
