import AffinityCore
import CSQLite
import XCTest

@testable import CaptureReport
@testable import CaptureStore

/// Schema 5's route changes and session rollups, and the pages drawn from them (SPEC v3 "The dashboard tab").
final class DashboardTests: StoreTestCase {
    private let hour: Int64 = 3_600_000
    private let start: Int64 = 1_767_225_600_000  // 2026-01-01T00:00:00Z, on the hour

    /// 12 sessions over 4 agents, each session's captures in time order but the sessions interleaved, with models
    /// that change now and then, some calls not routed (usage only), recorded in batches of 13.
    private func seeded(count: Int = 900) throws -> (CaptureWriter, [NewCapture]) {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        var all: [NewCapture] = []
        var state: UInt64 = 11
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        var model = [Int](repeating: 0, count: 12)
        var batch: [NewCapture] = []
        for index in 0..<count {
            let session = Int(next() % 12)
            if next() % 5 == 0 { model[session] = Int(next() % 3) }
            let routed = next() % 6 != 0
            let names: [String?] = ["model-a", "model-b", nil]
            let capture = NewCapture(
                sessionId: "oc:dash-\(session)", agentId: "agent-\(session % 4)",
                capturedAt: start + Int64(index) * 29_000,
                fields: CaptureFields(
                    taasRequestId: "r\(index)", taasTraceId: nil, openclawTurnId: nil, openclawAttempt: nil,
                    autorouterModel: routed ? names[model[session]] : nil, autorouterAlgo: "best_fit",
                    autorouterAlgoSource: "org", thinkingApplied: nil, routedContextWindow: nil),
                usage: CallUsage(
                    autorouted: routed, requestedModel: routed ? nil : "asked", inputTokens: 100, outputTokens: 10,
                    cacheReadTokens: Int64(index % 3) * 50, costUsd: 0.25),
                idempotencyKey: nil)
            all.append(capture)
            batch.append(capture)
            if batch.count == 13 {
                _ = try writer.record(batch)
                batch = []
            }
        }
        _ = try writer.record(batch)
        return (writer, all)
    }

    /// Route changes counted from the captures themselves: per session in time order, a routed capture whose model
    /// differs from the session's previous routed one.
    private func referenceChanges(_ captures: [NewCapture], agent: String? = nil) -> Int {
        var last: [String: String?] = [:]
        var changes = 0
        for capture in captures.sorted(by: { $0.capturedAt < $1.capturedAt }) where capture.usage.autorouted {
            if let previous = last[capture.sessionId], previous != capture.fields.autorouterModel,
                agent == nil || capture.agentId == agent
            {
                changes += 1
            }
            last[capture.sessionId] = .some(capture.fields.autorouterModel)
        }
        return changes
    }

    func testRouteChangesMatchTheCapturesFoldedOrNot() throws {
        let (writer, captures) = try seeded()
        let reader = try CaptureReader(path: path())
        let expected = referenceChanges(captures)
        XCTAssertGreaterThan(expected, 20, "the data has route changes")
        let stored = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        XCTAssertEqual(try stored.scalarInt("SELECT count(*) FROM captures WHERE route_changed IS NULL"), 0, "set on insert")
        XCTAssertEqual(try stored.scalarInt("SELECT sum(route_changed) FROM captures"), Int64(expected))
        stored.close()
        XCTAssertEqual(try reader.stats(nil, since: nil, until: nil).routeChanges, expected, "nothing folded")
        try writer.foldRollups(limit: 333)
        XCTAssertEqual(try reader.stats(nil, since: nil, until: nil).routeChanges, expected, "a third folded")
        while try writer.foldRollups(limit: 100) > 0 {}
        XCTAssertEqual(try reader.stats(nil, since: nil, until: nil).routeChanges, expected, "all folded")
        let stats = try reader.stats(nil, since: nil, until: nil, groupBy: .agent)
        for group in stats.groups ?? [] {
            XCTAssertEqual(group.routeChanges, referenceChanges(captures, agent: group.key), group.key)
        }
        let connection = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM captures WHERE route_changed IS NULL"), 0)
        XCTAssertEqual(try connection.scalarInt("SELECT sum(route_changes) FROM capture_rollups"), Int64(expected))
    }

    func testTheReportIsTheSameFromTheRollupsAsFromEveryCapture() throws {
        let (writer, _) = try seeded()
        let reader = try CaptureReader(path: path())
        let ranges: [(Int64, Int64)] = [
            (start, start + 8 * hour), (start + hour / 2, start + 5 * hour + 17), (start - 3 * 86_400_000, start + 86_400_000),
            (start + 2 * hour, start + 2 * hour + 600_000),
        ]
        var unfolded: [ReportData] = []
        for (since, until) in ranges {
            for selector in [nil, CaptureSelector.agent("agent-1"), .session("oc:dash-5")] {
                unfolded.append(try reader.report(selector: selector, since: since, until: until))
            }
        }
        try writer.foldRollups(limit: 400)
        var index = 0
        for (since, until) in ranges {
            for selector in [nil, CaptureSelector.agent("agent-1"), .session("oc:dash-5")] {
                XCTAssertEqual(try reader.report(selector: selector, since: since, until: until), unfolded[index], "part folded")
                index += 1
            }
        }
        while try writer.foldRollups() > 0 {}
        index = 0
        for (since, until) in ranges {
            for selector in [nil, CaptureSelector.agent("agent-1"), .session("oc:dash-5")] {
                let data = try reader.report(selector: selector, since: since, until: until)
                XCTAssertEqual(data, unfolded[index], "all folded, \(String(describing: selector)) \(since)..<\(until)")
                XCTAssertEqual(data.buckets.map { $0.byModel.values.reduce(0, +) }.reduce(0, +), data.stats.total)
                XCTAssertTrue(data.buckets.allSatisfy { $0.start % data.bucketMs == 0 }, "buckets start on the hour or day")
                index += 1
            }
        }
    }

    func testRetentionTakesCapturesOutOfTheSessionRollups() throws {
        let (writer, _) = try seeded()
        try writer.foldRollups(limit: 750)
        _ = try writer.prune(
            RetentionPolicy(maxAgeMs: 6 * hour, maxPerSession: 40, maxRows: 300), now: start + 8 * hour, dryRun: false,
            chunkSize: 11)
        let connection = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        let mark = try connection.foldedThrough()
        let folded = try XCTUnwrap(connection.scalarInt("SELECT count(*) FROM captures WHERE id <= \(mark)"))
        XCTAssertGreaterThan(folded, 50, "some folded captures outlive the prune")
        XCTAssertEqual(try connection.scalarInt("SELECT sum(captures) FROM session_rollups"), folded)
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM session_rollups WHERE captures <= 0"), 0)
        XCTAssertEqual(try connection.scalarInt("SELECT sum(captures) FROM session_days"), folded)
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM session_days WHERE captures <= 0"), 0)
        while try writer.foldRollups() > 0 {}
        XCTAssertEqual(try connection.scalarInt("SELECT sum(captures) FROM session_rollups"), 300)
        XCTAssertEqual(
            try connection.scalarInt(
                """
                SELECT count(*) FROM (SELECT session_id, ifnull(agent_id, '') AS a, captured_at / 86400000 AS d, count(*) AS n \
                FROM captures GROUP BY 1, 2, 3) AS c FULL JOIN session_days AS r \
                ON r.session_id = c.session_id AND r.agent_id = c.a AND r.day = c.d WHERE r.captures IS NOT c.n
                """), 0)
        // Per session and hour, exactly what is stored.
        XCTAssertEqual(
            try connection.scalarInt(
                """
                SELECT count(*) FROM (SELECT session_id, ifnull(agent_id, '') AS a, captured_at / 3600000 AS b, count(*) AS n \
                FROM captures GROUP BY 1, 2, 3) AS c FULL JOIN session_rollups AS r \
                ON r.session_id = c.session_id AND r.agent_id = c.a AND r.bucket = c.b WHERE r.captures IS NOT c.n
                """), 0)
        let reader = try CaptureReader(path: path())
        XCTAssertEqual(try reader.stats(nil, since: nil, until: nil).sessions, 12)
    }

    /// The session tables take each ended hour in parts (here of 50 captures, so their time mark is mostly not on the
    /// hour), late captures when folded, and retention's deletions: at every stage the busiest sessions and the
    /// session count equal those read from every capture, over ranges on and off the hour and across days.
    func testSessionTablesAgreeWithEveryCaptureWhileTheirTimeMarkMoves() throws {
        let (writer, _) = try seeded()
        let reader = try CaptureReader(path: path())
        let later = start + 40 * 86_400_000
        let ranges: [(Int64?, Int64?)] = [
            (nil, nil), (start, start + 8 * hour), (start + hour / 3, start + 5 * hour + 7), (start - 2 * 86_400_000, later),
            (start + 2 * hour, nil),
        ]
        func assertAgree(_ stage: String) throws {
            for (since, until) in ranges {
                for selector in [nil, CaptureSelector.agent("agent-1")] {
                    let rolled = try reader.stats(selector, since: since, until: until, groupBy: .session, limit: 12)
                    let scanned = try reader.connection.transaction(.deferred) { () throws(StoreError) -> Stats in
                        var stats = try reader.scannedStats(selector, since: since, until: until)
                        stats.groups = try reader.scannedGroups(by: .session, selector: selector, since: since, until: until, limit: 12)
                        return stats
                    }
                    XCTAssertEqual(rolled, scanned, "\(stage), \(String(describing: selector)), \(String(describing: since))..<\(String(describing: until))")
                }
            }
            let audit = try reader.rollupAudit()
            XCTAssertEqual(audit.sessionsCounted, audit.sessionsStored, stage)
        }
        try assertAgree("nothing folded")
        var steps = 0
        while try writer.foldRollups(limit: 100, sessionLimit: 50, now: later) > 0 {
            steps += 1
            if steps % 3 == 0 { try assertAgree("step \(steps)") }
        }
        let marked = try Connection(path: path(), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        let through = try marked.sessionsThrough()
        marked.close()
        XCTAssertLessThan(through, start + 8 * hour, "the session tables are still behind: their mark moves 50 captures a fold")
        try assertAgree("all ids folded, the session tables behind")
        // Late captures: times the session tables already hold.
        _ = try writer.record((0..<9).map { capture(session: "oc:dash-\($0)", agent: "agent-1", at: start + Int64($0) * 1000, requestId: "late-\($0)") })
        try writer.foldRollups(limit: 100, sessionLimit: 50, now: later)
        try assertAgree("late captures folded")
        _ = try writer.prune(
            RetentionPolicy(maxAgeMs: 0, maxPerSession: 30, maxRows: 0), now: later, dryRun: false, chunkSize: 13)
        try assertAgree("after a prune")
        while try writer.foldRollups(now: later) > 0 {}
        try writer.foldRollups(now: later)
        try assertAgree("the session tables caught up")
    }

    func testRebuildingTheRollupsKeepsRouteChangesAndRefillsSessions() throws {
        let (writer, captures) = try seeded(count: 200)
        while try writer.foldRollups() > 0 {}
        XCTAssertEqual(try writer.rebuildRollups(), 200)
        let reader = try CaptureReader(path: path())
        let stats = try reader.stats(nil, since: nil, until: nil, groupBy: .session, limit: 3)
        XCTAssertEqual(stats.routeChanges, referenceChanges(captures))
        XCTAssertEqual(stats.sessions, 12)
        XCTAssertEqual(stats.groups?.count, 3)
    }

    /// The writer's memory of each session's newest route gives what reading the previous capture gives: the same
    /// records (late ones, duplicates, unrouted ones) into two files, one writer forgetting before every batch;
    /// between batches another connection deletes captures and the writer prunes, in both files alike.
    func testTheWritersRouteMemoryAgreesWithReadingEveryTime() throws {
        let remembering = try CaptureWriter(path: path("a.sqlite3"), durability: .normal)
        let reading = try CaptureWriter(path: path("b.sqlite3"), durability: .normal)
        var state: UInt64 = 3
        func next(_ bound: UInt64) -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return (state >> 33) % bound
        }
        for round in 0..<60 {
            var batch: [NewCapture] = []
            for index in 0..<7 {
                let late = next(5) == 0
                var capture = capture(
                    session: "oc:m\(next(6))", at: start + Int64(round * 100 + index * 10) - (late ? Int64(next(900)) : 0),
                    requestId: "r\(next(400))", model: ["model-a", "model-b", nil][Int(next(3))])
                capture.usage = CallUsage(autorouted: next(7) != 0)
                batch.append(capture)
            }
            _ = try remembering.record(batch)
            reading.sessionRoutes.forget()
            _ = try reading.record(batch)
            if round % 3 == 1 {
                // Each session's newest capture, as the sqlite3 shell or another process might delete it.
                for file in ["a.sqlite3", "b.sqlite3"] {
                    let other = try Connection(path: path(file), flags: SQLITE_OPEN_READWRITE, busyTimeoutMs: 1000)
                    try other.execute(
                        "DELETE FROM captures WHERE id IN (SELECT max(id) FROM captures WHERE autorouted = 1 GROUP BY session_id)")
                    other.close()
                }
            }
            if round % 13 == 6 {
                for writer in [remembering, reading] {
                    _ = try writer.prune(
                        RetentionPolicy(maxAgeMs: 0, maxPerSession: 4, maxRows: 0), now: start, dryRun: false, chunkSize: 2)
                }
            }
        }
        let stored = { (file: String) throws -> [[Int64]] in
            let connection = try Connection(path: self.path(file), flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
            defer { connection.close() }
            let rows = try connection.prepare("SELECT id, route_changed FROM captures ORDER BY id")
            var out: [[Int64]] = []
            while try rows.step() { out.append([rows.int64(at: 0), rows.int64(at: 1)]) }
            rows.reset()
            return out
        }
        let a = try stored("a.sqlite3")
        XCTAssertEqual(a, try stored("b.sqlite3"))
        XCTAssertGreaterThan(a.filter { $0[1] == 1 }.count, 10, "route changes happened")
    }

    func testCapturesFromBeforeSchemaFiveGetTheirRouteChangesWhenFolded() throws {
        let file = path()
        try FileManager.default.copyItem(atPath: UsageTests.schemaOneFixture.path, toPath: file)
        chmod(file, 0o600)
        let writer = try CaptureWriter(path: file, durability: .normal)
        let connection = try Connection(path: file, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM captures WHERE route_changed IS NULL"), 240)
        // The same answer before the fold (computed by the query) and after it (stored by the fold).
        let reader = try CaptureReader(path: file)
        let before = try reader.stats(nil, since: nil, until: nil, groupBy: .session, limit: 12)
        // A reference from the rows themselves: per session in (captured_at, id) order.
        let rows = try connection.prepare(
            "SELECT session_id, autorouter_model FROM captures WHERE autorouted = 1 ORDER BY session_id, captured_at, id")
        var changes = 0
        var last: (String, String?)?
        while try rows.step() {
            let row = (rows.string(at: 0), rows.optionalString(at: 1))
            if let last, last.0 == row.0, last.1 != row.1 { changes += 1 }
            last = row
        }
        rows.reset()
        XCTAssertEqual(before.routeChanges, changes)
        while try writer.foldRollups(limit: 50) > 0 {}
        XCTAssertEqual(try connection.scalarInt("SELECT count(*) FROM captures WHERE route_changed IS NULL"), 0)
        XCTAssertEqual(try reader.stats(nil, since: nil, until: nil, groupBy: .session, limit: 12), before)
    }

    // MARK: Pages

    private func hostile() throws -> CaptureWriter {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let evil = [
            "<script>document.title='pwned'</script>", "\"><img src=http://127.0.0.1:9/x onerror=alert(1)>",
            "javascript:alert(1)", "' onmouseover='alert(1)", String(repeating: "&lt;long", count: 25),
        ]
        var batch: [NewCapture] = []
        for (i, text) in evil.enumerated() {
            for j in 0..<3 {
                var capture = capture(
                    session: "oc:" + text, agent: text, at: start + Int64(i * 3 + j) * 60_000, requestId: "h\(i)-\(j)",
                    model: text)
                capture.fields.autorouterAlgo = text
                capture.fields.autorouterAlgoSource = text
                capture.usage = CallUsage(autorouted: true, inputTokens: 1, outputTokens: 1)
                capture.attribution = CallAttribution(trigger: text, channel: text)
                batch.append(capture)
            }
            // The overview lists budgets by subject, with links.
            _ = try writer.setBudget(1, for: .agent(text), now: start)
            _ = try writer.setBudget(1, for: .session("oc:" + text), now: start)
        }
        _ = try writer.record(batch)
        return writer
    }

    /// Every `href` of `html`: each must be a query of ours.
    private func hrefs(_ html: String) -> [String] {
        html.components(separatedBy: "href=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    /// Every tag of `html`, from '<' to '>'.
    private func tags(_ html: String) -> [String] {
        html.components(separatedBy: "<").dropFirst().map { "<" + $0.prefix { $0 != ">" } }
    }

    func testEveryViewEscapesWhatCameFromTheNetwork() throws {
        let writer = try hostile()
        let reader = try CaptureReader(path: path())
        let now = start + hour
        let requests = [
            PageRequest(view: .overview, preset: .day), PageRequest(view: .agent, agentId: "javascript:alert(1)"),
            PageRequest(view: .agent, agentId: "<script>document.title='pwned'</script>", preset: .hour),
            PageRequest(view: .session, sessionId: "oc:\"><img src=http://127.0.0.1:9/x onerror=alert(1)>"),
            PageRequest(view: .session, sessionId: "oc:' onmouseover='alert(1)", since: start, until: now),
        ]
        for stage in ["unfolded", "folded"] {
            for request in requests {
                let html = try Pages.html(request, reader: reader, now: now, links: true)
                let context = "\(stage) \(request.view) \(request.query)"
                // Every '<' of a stored string is escaped, so each tag is ours: none may carry what the strings tried.
                for tag in tags(html) {
                    for attempt in ["<script", "<img", " onerror=", " onmouseover=", " src=", "javascript:", "'"] {
                        XCTAssertFalse(tag.lowercased().contains(attempt), "\(context): \(tag)")
                    }
                }
                let links = hrefs(html)
                XCTAssertFalse(links.isEmpty, context)
                for link in links {
                    XCTAssertTrue(link.hasPrefix("?view="), "\(context): \(link)")
                    XCTAssertFalse(link.contains("<") || link.contains(">") || link.contains("'"), "\(context): \(link)")
                }
            }
            let overview = try Pages.html(requests[0], reader: reader, now: now, links: true)
            XCTAssertTrue(overview.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"), stage)
            XCTAssertTrue(overview.contains("&quot;&gt;&lt;img src=http://127.0.0.1:9/x onerror=alert(1)&gt;"), stage)
            XCTAssertTrue(overview.contains("Spend by what started the run") && overview.contains("Budgets, "), stage)
            XCTAssertTrue(overview.contains("<td class=id>&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;</td>"),
                "\(stage): the hostile trigger, escaped, in the trigger table")
            while try writer.foldRollups() > 0 {}
        }
    }

    func testTheSessionViewPagesNewestFirstThroughTheCursor() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<120).map { capture(session: "oc:paged", at: start + Int64($0) * 1000, requestId: "p\($0)") })
        let reader = try CaptureReader(path: path())
        let now = start + hour
        let first = try Pages.html(PageRequest(view: .session, sessionId: "oc:paged"), reader: reader, now: now, links: true)
        XCTAssertTrue(first.contains(Figures.instant(start + 119_000)), "the newest first")
        XCTAssertFalse(first.contains(Figures.instant(start + 69_000)), "a page holds 50")
        let older = try XCTUnwrap(hrefs(first).first { $0.contains("cursor=") })
        let cursor = try XCTUnwrap(older.components(separatedBy: "cursor=").last).removingPercentEncoding
        let second = try Pages.html(
            PageRequest(view: .session, sessionId: "oc:paged", cursor: cursor), reader: reader, now: now, links: true)
        XCTAssertTrue(second.contains(Figures.instant(start + 69_000)))
        XCTAssertFalse(second.contains(Figures.instant(start + 70_000)))
        XCTAssertTrue(second.contains("Older calls"))
        XCTAssertTrue(hrefs(second).contains { !$0.contains("cursor=") && $0.contains("view=session") }, "a link back to the newest")
    }

    func testAFileReportHasNoLinks() throws {
        _ = try hostile()
        let reader = try CaptureReader(path: path())
        for request in [
            PageRequest(since: start, until: start + hour), PageRequest(view: .agent, agentId: "javascript:alert(1)"),
            PageRequest(view: .session, sessionId: "oc:javascript:alert(1)"),
        ] {
            let html = try Pages.html(request, reader: reader, now: start + hour, links: false)
            XCTAssertTrue(hrefs(html).isEmpty, request.query)
            XCTAssertFalse(html.contains("<script"))
            XCTAssertFalse(html.contains("<nav>"), "no presets or paging either")
        }
    }

    func testPresetsCoverTheirLengthOnWholeHoursOrDays() {
        let now = start + 5 * hour + 1234
        for preset in PageRequest.Preset.allCases {
            let request = PageRequest(preset: preset)
            let unit = preset.milliseconds > 2 * 86_400_000 ? 86_400_000 : hour
            XCTAssertEqual(request.unit, unit)
            let (since, until) = request.range(now: now)
            XCTAssertEqual(since % unit, 0)
            XCTAssertEqual(until % unit, 0)
            XCTAssertLessThanOrEqual(since, now - preset.milliseconds)
            XCTAssertGreaterThan(until, now)
            XCTAssertLessThanOrEqual(until - since, preset.milliseconds + 2 * unit)
        }
        XCTAssertEqual(PageRequest(since: 5, until: 9).range(now: now).since, 5, "given bounds are kept")
        XCTAssertEqual(PageRequest(view: .agent, agentId: "a b&c", preset: .week).query, "?view=agent&agentId=a%20b%26c&range=7d")
    }
}
