import AffinityCore
import CSQLite
import Foundation
import XCTest

@testable import CaptureStore

/// `Salvage` (issue 21): a sound file comes over whole; a damaged one gives back every capture on a readable page,
/// each exactly as it was recorded, and the source is never written.
final class SalvageTests: StoreTestCase {
    private let start: Int64 = 1_790_000_000_000

    private func call(_ index: Int) -> NewCapture {
        var new = capture(
            session: "oc:\(String(format: "%016x", index % 40))", agent: "agent-\(index % 5)", at: start + Int64(index) * 1000,
            requestId: "req-\(index)", model: "model-\(index % 7)")
        new.usage = CallUsage(
            provider: "cloudsigma", inputTokens: Int64(index), outputTokens: Int64(2 * index), cacheReadTokens: Int64(index % 3),
            costUsd: Double(index) / 1000, outcome: index % 11 == 0 ? .error : .ok)
        new.attribution = CallAttribution(
            trigger: index % 2 == 0 ? "user" : "cron", channel: "telegram", timeToFirstByteMs: Int64(index % 900),
            failureKind: index % 11 == 0 ? "timeout" : nil)
        return new
    }

    /// A database of `count` captures (recorded in batches of 8, as the service groups them), an override, a budget
    /// and a forwarding mark, checkpointed into the main file.
    private func recorded(_ count: Int, at file: String) throws {
        let writer = try CaptureWriter(path: file, durability: .normal)
        defer { writer.close() }
        for first in stride(from: 0, to: count, by: 8) {
            _ = try writer.record((first..<min(count, first + 8)).map(call))
        }
        _ = try writer.setAlgorithm(.cost, for: .agent("agent-1"), now: start)
        _ = try writer.setBudget(12.5, for: .session("oc:0000000000000003"), now: start)
        try writer.applyForwarding(.start(hostId: "host:test"), now: start)
        try writer.applyForwarding(.forwarded(through: Int64(count / 2)), now: start + 1)
        _ = try writer.rebuildRollups()
        try writer.checkpoint(truncate: true)
    }

    /// Every row of `table` as text (SQL `quote()` of each column), keyed by its first column.
    private func rows(_ file: String, _ sql: String) throws -> [String: [String]] {
        let connection = try Connection(path: file, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        let statement = try connection.prepare(sql)
        defer { statement.reset() }
        var rows: [String: [String]] = [:]
        while try statement.step() {
            let row = (0..<statement.columnCount).map { statement.string(at: $0) }
            rows[row[0]] = row
        }
        return rows
    }

    private func captureRows(_ file: String) throws -> [String: [String]] {
        let columns = try rows(file, "SELECT name, cid FROM pragma_table_info('captures')").keys.sorted()
        let quoted = columns.map { "quote(\($0))" }.joined(separator: ", ")
        return try rows(file, "SELECT id, \(quoted) FROM captures")
    }

    private func digest(_ file: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: file))
    }

    func testASoundFileComesOverWholeThroughSQLite() throws {
        try recorded(500, at: path())
        let before = try digest(path())
        let report = try Salvage.run(from: path(), to: path("new.sqlite3"))

        XCTAssertEqual(report.capturesBySQL, 500)
        XCTAssertEqual(report.capturesFromPages, 0)
        XCTAssertFalse(report.readPages)
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(report.newFileCheck, "ok")
        XCTAssertEqual(report.overrides, 1)
        XCTAssertEqual(report.budgets, 1)
        XCTAssertEqual(report.forwardedThrough, 250)
        XCTAssertEqual(try captureRows(path("new.sqlite3")), try captureRows(path()))
        for (table, key) in [
            ("algorithm_overrides", "scope || subject"), ("budgets", "scope || subject"), ("forward_progress", "host_id"),
            ("session_rollups", "bucket || session_id"), ("session_days", "day || session_id"),
        ] {
            let sql = "SELECT \(key), * FROM \(table)"
            XCTAssertEqual(try rows(path("new.sqlite3"), sql), try rows(path(), sql), table)
        }
        XCTAssertEqual(
            try rows(path("new.sqlite3"), "SELECT quote(bucket) || agent_id || model || trigger, captures, cost_usd FROM capture_rollups"),
            try rows(path(), "SELECT quote(bucket) || agent_id || model || trigger, captures, cost_usd FROM capture_rollups"),
            "the rebuilt rollups count what the old ones did")
        XCTAssertEqual(try digest(path()), before, "the source is not written")
        XCTAssertEqual(try permissions(path("new.sqlite3")), 0o600)
        // The next id is past every id the source handed out.
        let writer = try CaptureWriter(path: path("new.sqlite3"), durability: .normal)
        defer { writer.close() }
        let next = try writer.record([call(9999)])
        XCTAssertEqual(next.first?.id, 501)
    }

    func testEveryCaptureOnAReadablePageComesBackAsRecorded() throws {
        try recorded(3000, at: path())
        let pristine = try captureRows(path())
        let readable = try capturesOnPages(path(), sparing: { $0 % 3 != 0 })
        try overwrite(path(), pages: { $0 % 3 == 0 })
        let damaged = try digest(path())

        let report = try Salvage.run(from: path(), to: path("new.sqlite3"))
        let salvaged = try captureRows(path("new.sqlite3"))

        XCTAssertTrue(report.readPages)
        XCTAssertFalse(report.problems.isEmpty, "SQLite could not read the captures through")
        XCTAssertEqual(report.newFileCheck, "ok")
        XCTAssertEqual(Set(salvaged.keys), readable, "exactly the captures on readable pages")
        for (id, row) in salvaged { XCTAssertEqual(row, pristine[id], "capture \(id) as recorded") }
        XCTAssertEqual(report.captures, salvaged.count)
        XCTAssertGreaterThan(readable.count, 1500)
        XCTAssertEqual(try digest(path()), damaged, "the source is not written")
        print("salvaged \(salvaged.count) of \(readable.count) readable captures (\(pristine.count) recorded)")
    }

    func testPagesOverwrittenAtRandomLoseOnlyTheirOwnCaptures() throws {
        try recorded(3000, at: path())
        let pristine = try captureRows(path())
        let pages = Int(DatabaseFile.size(path()) / 4096)
        var generator = SeededGenerator(seed: 2026)
        var hit: Set<Int> = []
        while hit.count < pages / 10 { hit.insert(Int.random(in: 1...pages, using: &generator)) }
        let readable = try capturesOnPages(path(), sparing: { !hit.contains($0) })
        try overwrite(path(), pages: { hit.contains($0) })

        let report = try Salvage.run(from: path(), to: path("new.sqlite3"))
        let salvaged = try captureRows(path("new.sqlite3"))
        XCTAssertEqual(Set(salvaged.keys), readable, "exactly the captures on readable pages (\(hit.count) of \(pages) pages hit)")
        for (id, row) in salvaged { XCTAssertEqual(row, pristine[id], "capture \(id) as recorded") }
        XCTAssertEqual(report.newFileCheck, "ok")
        print("random pages: salvaged \(salvaged.count) of \(readable.count) readable captures (\(hit.count) of \(pages) pages overwritten)")
    }

    func testWithPageOneDamagedEveryTableIsReadFromItsPages() throws {
        // 300 overrides and 200 budgets span several pages, interior ones included (their rows live there too).
        let writer = try CaptureWriter(path: path(), durability: .normal)
        for first in stride(from: 0, to: 2000, by: 8) { _ = try writer.record((first..<first + 8).map(call)) }
        for index in 0..<300 { _ = try writer.setAlgorithm(.ttft, for: .session("oc:override-\(index)"), now: start + Int64(index)) }
        for index in 0..<200 { _ = try writer.setBudget(Double(index + 1), for: .agent("agent-budget-\(index)"), now: start) }
        try writer.applyForwarding(.start(hostId: "host:test"), now: start)
        try writer.applyForwarding(.forwarded(through: 1500), now: start + 1)
        // The newest ids retention removed stay handed out: the sequence must not go back to 1990.
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 0, maxPerSession: 0, maxRows: 1990), now: start, dryRun: false)
        try writer.checkpoint(truncate: true)
        writer.close()
        let interior = try rows(path(), "SELECT pageno FROM dbstat WHERE name = 'algorithm_overrides' AND pagetype = 'internal'")
        XCTAssertFalse(interior.isEmpty, "the overrides' b-tree has interior pages")
        let pristine = try captureRows(path())
        let overrides = try rows(path(), "SELECT scope || subject, algorithm, version FROM algorithm_overrides")
        let budgets = try rows(path(), "SELECT scope || subject, usd_per_day FROM budgets")
        try overwrite(path(), pages: { $0 == 1 })

        let report = try Salvage.run(from: path(), to: path("new.sqlite3"))
        XCTAssertTrue(report.readPages)
        XCTAssertNil(report.schemaVersion, "the header is gone")
        XCTAssertEqual(try captureRows(path("new.sqlite3")), pristine)
        XCTAssertEqual(try rows(path("new.sqlite3"), "SELECT scope || subject, algorithm, version FROM algorithm_overrides"), overrides)
        XCTAssertEqual(try rows(path("new.sqlite3"), "SELECT scope || subject, usd_per_day FROM budgets"), budgets)
        XCTAssertEqual(report.forwardedThrough, 1500)
        let writerAfter = try CaptureWriter(path: path("new.sqlite3"), durability: .normal)
        defer { writerAfter.close() }
        XCTAssertEqual(try writerAfter.record([call(5000)]).first?.id, 2001, "ids past every one handed out")
    }

    func testCapturesRetentionDeletedStayDeleted() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        for first in stride(from: 0, to: 3000, by: 8) { _ = try writer.record((first..<min(3000, first + 8)).map(call)) }
        // The oldest 2000 go; their pages go to the freelist with their old rows still on them.
        _ = try writer.prune(RetentionPolicy(maxAgeMs: 0, maxPerSession: 0, maxRows: 1000), now: start, dryRun: false)
        try writer.checkpoint(truncate: true)
        writer.close()
        let kept = try captureRows(path())
        XCTAssertEqual(kept.count, 1000)
        let leaves = try rows(path(), "SELECT pageno FROM dbstat WHERE name = 'captures' AND pagetype = 'leaf'").keys.compactMap { Int($0) }
        let damaged = try XCTUnwrap(leaves.min())
        let readable = try capturesOnPages(path(), sparing: { $0 != damaged })
        try overwrite(path(), pages: { $0 == damaged })

        let report = try Salvage.run(from: path(), to: path("new.sqlite3"))
        let salvaged = try captureRows(path("new.sqlite3"))
        XCTAssertTrue(report.readPages)
        XCTAssertGreaterThan(report.freePages, 0)
        XCTAssertEqual(Set(salvaged.keys), readable, "no pruned capture comes back from a free page")
        for (id, row) in salvaged { XCTAssertEqual(row, kept[id]) }
    }

    func testAWALIsReadForItsNewestCommittedPages() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        defer { writer.close() }
        for first in stride(from: 0, to: 800, by: 8) { _ = try writer.record((first..<first + 8).map(call)) }
        // A copy while the writer holds the captures in its WAL (nothing checkpointed yet), the main file's page 1
        // then damaged.
        XCTAssertGreaterThan(DatabaseFile.size(path() + "-wal"), 0)
        let copy = path("copy.sqlite3")
        try FileManager.default.copyItem(atPath: path(), toPath: copy)
        try FileManager.default.copyItem(atPath: path() + "-wal", toPath: copy + "-wal")
        let recorded = try captureRows(path())
        try overwrite(copy, pages: { $0 == 1 })

        // Read as pages with the WAL laid over the file (what salvage does when SQLite cannot fold the WAL in):
        // every capture is on a page the WAL holds or the file's.
        let pages = try PageFile(path: copy, wal: copy + "-wal")
        var found: Set<String> = []
        for number in 1...pages.pageCount {
            guard case .tableLeaf(let cells) = pages.content(of: number) else { continue }
            for cell in cells where RowShape.isCapture(cell.values, columns: 30) { found.insert(String(cell.rowid!)) }
        }
        XCTAssertEqual(found, Set(recorded.keys))
        let withoutWAL = try PageFile(path: copy)
        XCTAssertLessThan(withoutWAL.pageCount, pages.pageCount, "the file alone lacks the pages only the WAL holds")

        // And salvage brings every capture back (SQLite reads page 1 from the WAL, so here it folds it in).
        _ = try Salvage.run(from: copy, to: path("new.sqlite3"))
        XCTAssertEqual(try captureRows(path("new.sqlite3")), recorded)
    }

    func testItRefusesAnExistingDestinationAndAMissingSource() throws {
        try recorded(10, at: path())
        _ = FileManager.default.createFile(atPath: path("taken.sqlite3"), contents: Data("keep".utf8))
        XCTAssertThrowsError(try Salvage.run(from: path(), to: path("taken.sqlite3"))) {
            XCTAssertEqual(($0 as? StoreError)?.code, .invalidArgument)
        }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path("taken.sqlite3"))), Data("keep".utf8))
        XCTAssertThrowsError(try Salvage.run(from: path("missing.sqlite3"), to: path("new.sqlite3"))) {
            XCTAssertEqual(($0 as? StoreError)?.code, .invalidArgument)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("new.sqlite3")))
    }

    func testARecordDecodesOnlyWhenEveryByteIsAccountedFor() {
        // Header: size 4, types 1 (int8), 0x17 (text of 5 bytes), 7 (float); body: -2, "hello", 1.5.
        let body: [UInt8] = [0xFE] + Array("hello".utf8) + withUnsafeBytes(of: (1.5).bitPattern.bigEndian, Array.init)
        let payload: [UInt8] = [4, 1, 0x17, 7] + body
        XCTAssertEqual(PageBytes.record(payload), [.integer(-2), .text("hello"), .real(1.5)])
        XCTAssertNil(PageBytes.record(Array(payload.dropLast())), "a torn record")
        XCTAssertNil(PageBytes.record(payload + [0]), "a byte too many")
        XCTAssertNil(PageBytes.record([4, 1, 0x17, 7, 0xFE, 0xFF, 0xFE, 0x41, 0x41, 0x41] + body.suffix(8)), "text that is not UTF-8")
        XCTAssertEqual(PageBytes.varint([0x81, 0x00], at: 0, end: 2)?.value, 128)
    }

    // MARK: Helpers

    private func permissions(_ file: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int ?? 0) & 0o777
    }

    /// Overwrites the pages `damaged` picks (1-based) with seeded random bytes.
    private func overwrite(_ file: String, pages damaged: (Int) -> Bool) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
        defer { try? handle.close() }
        let count = max(1, Int(try handle.seekToEnd()) / 4096)
        var generator = SeededGenerator(seed: 21)
        for page in 1...count where damaged(page) {
            try handle.seek(toOffset: UInt64((page - 1) * 4096))
            handle.write(Data((0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }))
        }
    }

    /// The ids of the captures whose leaf page `keep` spares: SQLite's `dbstat` names the captures table's leaf pages,
    /// and each page's cell pointers lead to the rowids (read here independently of `PageBytes`).
    private func capturesOnPages(_ file: String, sparing keep: (Int) -> Bool) throws -> Set<String> {
        let leaves = try rows(file, "SELECT pageno FROM dbstat WHERE name = 'captures' AND pagetype = 'leaf'").keys.compactMap { Int($0) }
        let overflow = try rows(file, "SELECT pageno FROM dbstat WHERE name = 'captures' AND pagetype = 'overflow'")
        XCTAssertEqual(overflow.count, 0, "the captures fit their leaves (so a readable leaf is a readable capture)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
        var ids: Set<String> = []
        for page in leaves where keep(page) {
            let base = (page - 1) * 4096
            let cells = Int(bytes[base + 3]) << 8 | Int(bytes[base + 4])
            for index in 0..<cells {
                var at = base + (Int(bytes[base + 8 + 2 * index]) << 8 | Int(bytes[base + 9 + 2 * index]))
                while bytes[at] & 0x80 != 0 { at += 1 }  // the payload size
                at += 1
                var rowid: Int64 = 0
                while true {
                    rowid = rowid << 7 | Int64(bytes[at] & 0x7f)
                    if bytes[at] & 0x80 == 0 { break }
                    at += 1
                }
                ids.insert(String(rowid))
            }
        }
        return ids
    }
}
