import AffinityCore
import CaptureStore
import Foundation
import NIOCore
import XCTest

@testable import FleetStore

final class PostgresTargetTests: XCTestCase {
    func testURLsParseAsLibpqDoesAndNeverShowThePassword() throws {
        let tcp = try PostgresTarget(url: "postgresql://fleet:s%3Acret@db.example:6543/captures?sslmode=require")
        XCTAssertEqual(tcp.endpoint, .tcp(host: "db.example", port: 6543))
        XCTAssertEqual(tcp.user, "fleet")
        XCTAssertEqual(tcp.password, "s:cret")
        XCTAssertEqual(tcp.database, "captures")
        XCTAssertEqual(tcp.sslMode, .require)
        XCTAssertEqual(tcp.description, "postgresql://fleet@db.example:6543/captures")
        XCTAssertFalse(tcp.description.contains("cret"))

        let socket = try PostgresTarget(url: "postgres://fleet@/captures?host=/run/pg&port=5433", pgpassPath: "/nonexistent")
        XCTAssertEqual(socket.endpoint, .socket(directory: "/run/pg", port: 5433))
        XCTAssertNil(socket.password)
        XCTAssertEqual(socket.sslMode, .prefer, "libpq's default")

        let defaults = try PostgresTarget(url: "postgresql://fleet@/", pgpassPath: "/nonexistent")
        XCTAssertEqual(defaults.endpoint, .socket(directory: "/var/run/postgresql", port: 5432))
        XCTAssertEqual(defaults.database, "fleet", "the database defaults to the user name")

        let v6 = try PostgresTarget(url: "postgresql://u:p@[::1]:7000/d")
        XCTAssertEqual(v6.endpoint, .tcp(host: "::1", port: 7000))
        XCTAssertEqual(v6.description, "postgresql://u@[::1]:7000/d")
    }

    func testBadURLsAreRefusedClearly() {
        for bad in ["mysql://u@h/d", "postgresql://u@h:0/d", "postgresql://u@h:99999/d", "postgresql://u@h/d?sslmode=maybe"] {
            XCTAssertThrowsError(try PostgresTarget(url: bad), bad) { error in
                XCTAssertEqual((error as? FleetError)?.kind, .badTarget, bad)
            }
        }
    }

    func testPgpassIsReadAsLibpqReadsItAndIgnoredWhenOthersCanReadIt() throws {
        let path = NSTemporaryDirectory() + "pgpass-\(getpid())"
        defer { unlink(path) }
        let text = """
            # comment
            other:5432:*:fleet:nope
            /run/pg:5433:captures:fleet:se\\:cr\\\\et
            *:*:*:*:fallback

            """
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let socket = try PostgresTarget(url: "postgresql://fleet@/captures?host=/run/pg&port=5433", pgpassPath: path)
        XCTAssertEqual(socket.password, "se:cr\\et")
        let other = try PostgresTarget(url: "postgresql://x@somewhere/y", pgpassPath: path)
        XCTAssertEqual(other.password, "fallback")
        let inURL = try PostgresTarget(url: "postgresql://fleet:given@/captures?host=/run/pg&port=5433", pgpassPath: path)
        XCTAssertEqual(inURL.password, "given", "the URL's password wins")
        chmod(path, 0o644)
        XCTAssertNil(try PostgresTarget(url: "postgresql://x@somewhere/y", pgpassPath: path).password)
    }
}

final class MonthPartitionTests: XCTestCase {
    func testMonthsAreUTCCalendarMonthsInMilliseconds() {
        let december = MonthPartition(containing: 1_796_169_227_499)  // 2026-12-01T23:53:47Z
        XCTAssertEqual(december, MonthPartition(year: 2026, month: 12))
        XCTAssertEqual(december.tableName, "captures_y2026m12")
        XCTAssertEqual(december.startMillis, 1_796_083_200_000)  // 2026-12-01T00:00:00Z
        XCTAssertEqual(december.next, MonthPartition(year: 2027, month: 1))
        XCTAssertEqual(december.next.startMillis, 1_798_761_600_000)  // 2027-01-01T00:00:00Z
        XCTAssertEqual(MonthPartition(containing: december.startMillis - 1), MonthPartition(year: 2026, month: 11))
        XCTAssertEqual(MonthPartition(containing: 951_782_400_000), MonthPartition(year: 2000, month: 2), "2000-02-29")
        XCTAssertEqual(MonthPartition(tableName: "captures_y2021m01"), MonthPartition(year: 2021, month: 1))
        XCTAssertNil(MonthPartition(tableName: "captures_y2021m13"))
        XCTAssertNil(MonthPartition(tableName: "captures"))
    }

    func testMigrationFilesSplitIntoStatements() {
        let statements = FleetSchema.statements(of: FleetSchema.migrations[0].sql)
        XCTAssertEqual(statements.count, 4)
        XCTAssertTrue(statements[0].hasPrefix("CREATE TABLE taas_capture.captures"))
        XCTAssertFalse(statements.joined().contains("--"))
    }
}

final class CopyTextTests: XCTestCase {
    func testFieldsAreEscapedForCOPYAndNullsAreBackslashN() {
        var capture = Capture(
            id: 7, sessionId: "oc:a\tb", agentId: nil, capturedAt: 1_700_000_000_000,
            fields: CaptureFields(autorouterModel: "m\\1\nx"), usage: CallUsage(inputTokens: 5, costUsd: 0.25))
        capture.fields.thinkingApplied = "\u{1}"
        let text = String(buffer: FleetWriter.copyText([capture], hostId: "h"))
        let fields = text.dropLast().split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(fields.count, FleetColumns.names.count)
        XCTAssertTrue(text.hasSuffix("\n"))
        XCTAssertEqual(fields[0], "h")
        XCTAssertEqual(fields[1], "7")
        XCTAssertEqual(fields[2], "oc:a\\tb")
        XCTAssertEqual(fields[3], "\\N")
        XCTAssertEqual(fields[9], "m\\\\1\\nx")
        XCTAssertEqual(fields[12], "\\001")
        XCTAssertEqual(fields[14], "t")
        XCTAssertEqual(fields[17], "5")
        XCTAssertEqual(fields[21], "0.25")
    }
}
