import CaptureStore
import Foundation
import Logging
import PostgresNIO

/// The fleet's PostgreSQL schema: numbered migrations of its own (`Migrations/postgres/`, embedded), applied
/// under an advisory lock so many hosts may start at once, and the month partitions of `captures`.
public enum FleetSchema {
    /// The migrations this binary knows, by version (the number in the file name).
    static let migrations: [(version: Int, sql: String)] = [
        (1, String(decoding: PackageResources._001_fleet_sql, as: UTF8.self))
    ]

    public static let latestVersion = migrations.map(\.version).max() ?? 0

    /// The advisory lock every host takes to migrate or create partitions: one key for this schema.
    static let lockKey: Int64 = 0x7461_6173_6361_7074  // "taascapt"

    /// Brings the schema to `latestVersion`; returns the version found (0: none). Throws `.schemaTooNew`
    /// when the database is newer than this binary, which then must not write.
    @discardableResult
    public static func migrate(_ connection: FleetConnection, timeout: Duration) async throws(FleetError) -> Int {
        try await connection.run(timeout: timeout) { pg, logger in
            try await pg.withTransaction(logger: logger) { pg in
                try await pg.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                try await pg.query("CREATE SCHEMA IF NOT EXISTS taas_capture", logger: logger)
                try await pg.query(
                    "CREATE TABLE IF NOT EXISTS taas_capture.schema_version (version INTEGER NOT NULL)", logger: logger)
                let found = try await recordedVersion(pg, logger)
                guard found <= latestVersion else {
                    throw FleetError(
                        .schemaTooNew,
                        "the fleet schema at \(connection.target) is version \(found); this binary knows up to \(latestVersion) and will not write to it (upgrade taas-capture)"
                    )
                }
                for migration in migrations where migration.version > found {
                    for statement in statements(of: migration.sql) {
                        try await pg.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await pg.query("DELETE FROM taas_capture.schema_version", logger: logger)
                    try await pg.query("INSERT INTO taas_capture.schema_version VALUES (\(migration.version))", logger: logger)
                }
                return found
            }
        }
    }

    /// A migration file's statements: the extended protocol takes one per query. Our files keep `;` for the end
    /// of a statement (never inside a literal) and `--` for whole-line comments.
    static func statements(of sql: String) -> [String] {
        let code = sql.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.trimmingPrefix(while: \.isWhitespace).hasPrefix("--") }
            .joined(separator: "\n")
        return code.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
    }

    /// The schema version in the database without changing anything (0 when there is none).
    public static func version(_ connection: FleetConnection, timeout: Duration) async throws(FleetError) -> Int {
        try await connection.run(timeout: timeout) { pg, logger in
            let exists = try await pg.query("SELECT to_regclass('taas_capture.schema_version') IS NOT NULL", logger: logger)
            var present = false
            for try await flag in exists.decode(Bool.self) { present = flag }
            return present ? try await recordedVersion(pg, logger) : 0
        }
    }

    /// The largest version in `schema_version` (0 when it is empty); the table must exist.
    private static func recordedVersion(_ pg: PostgresConnection, _ logger: Logger) async throws -> Int {
        var found = 0
        for try await version in try await pg.query("SELECT max(version) FROM taas_capture.schema_version", logger: logger)
            .decode(Int?.self)
        {
            found = version ?? 0
        }
        return found
    }

    /// Creates the month partitions holding `months` (each a `MonthPartition`), when missing.
    public static func ensurePartitions(
        _ months: Set<MonthPartition>, on connection: FleetConnection, timeout: Duration
    ) async throws(FleetError) {
        guard !months.isEmpty else { return }
        try await connection.run(timeout: timeout) { pg, logger in
            try await pg.withTransaction(logger: logger) { pg in
                // Two hosts creating the same partition at once would fail one of them: take turns.
                try await pg.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
                for month in months.sorted() {
                    try await pg.query(
                        PostgresQuery(
                            unsafeSQL: "CREATE TABLE IF NOT EXISTS taas_capture.\(month.tableName) PARTITION OF taas_capture.captures "
                                + "FOR VALUES FROM (\(month.startMillis)) TO (\(month.next.startMillis))"),
                        logger: logger)
                }
            }
        }
    }

    /// The month partitions that exist, oldest first.
    public static func partitions(_ connection: FleetConnection, timeout: Duration) async throws(FleetError) -> [MonthPartition] {
        try await connection.run(timeout: timeout) { pg, logger in
            let rows = try await pg.query(
                """
                SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'taas_capture.captures'::regclass
                """, logger: logger)
            var found: [MonthPartition] = []
            for try await name in rows.decode(String.self) {
                if let month = MonthPartition(tableName: name) { found.append(month) }
            }
            return found.sorted()
        }
    }
}

/// One month of `captures`, [first day 00:00 UTC, first day of the next month), named `captures_yYYYYmMM`.
public struct MonthPartition: Sendable, Hashable, Comparable {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) {
        self.year = year
        self.month = month
    }

    /// The month holding `millis` (ms since the epoch, UTC).
    public init(containing millis: Int64) {
        let date = UTCDate(containing: millis)
        self.init(year: date.year, month: date.month)
    }

    init?(tableName: String) {
        guard tableName.hasPrefix("captures_y"), tableName.count == 17,
            let y = Int(tableName.dropFirst(10).prefix(4)), tableName.dropFirst(14).first == "m",
            let m = Int(tableName.suffix(2)), (1...12).contains(m)
        else { return nil }
        self.init(year: y, month: m)
    }

    public var tableName: String {
        "captures_y" + String(year).leftPadded(4) + "m" + String(month).leftPadded(2)
    }

    public var next: MonthPartition { month == 12 ? .init(year: year + 1, month: 1) : .init(year: year, month: month + 1) }

    public var startMillis: Int64 { UTCDate(year: year, month: month, day: 1).startMillis }

    public static func < (a: MonthPartition, b: MonthPartition) -> Bool { (a.year, a.month) < (b.year, b.month) }
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
