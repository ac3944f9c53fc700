import CSQLite

/// Applies the numbered migrations from `Migrations/` (embedded in the binary) in order.
///
/// Each migration runs in its own `BEGIN IMMEDIATE` transaction together with its `PRAGMA user_version`
/// (https://www.sqlite.org/pragma.html#pragma_user_version), so a crash leaves the schema at a whole version.
enum Migrator {
    /// The migrations this binary knows, by version (the number in the file name).
    static let migrations: [(version: Int, sql: String)] = [
        (1, String(decoding: PackageResources._001_init_sql, as: UTF8.self)),
        (2, String(decoding: PackageResources._002_usage_and_overrides_sql, as: UTF8.self)),
        (3, String(decoding: PackageResources._003_forward_progress_sql, as: UTF8.self)),
        (4, String(decoding: PackageResources._004_rollups_sql, as: UTF8.self)),
        (5, String(decoding: PackageResources._005_dashboard_rollups_sql, as: UTF8.self)),
        (6, String(decoding: PackageResources._006_attribution_budgets_sql, as: UTF8.self)),
    ]

    /// The schema version this binary writes and reads.
    static let latestVersion = migrations.map(\.version).max() ?? 0

    /// Reads `user_version` through a read-only connection that will not checkpoint on close, so the file
    /// is not written; refuses a schema newer than this binary's.
    static func probeVersion(path: String, busyTimeoutMs: Int32) throws(StoreError) -> Int {
        let probe = try Connection(path: path, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: busyTimeoutMs)
        defer { probe.close() }
        // https://www.sqlite.org/c3ref/c_dbconfig_defensive.html#sqlitedbconfignockptonclose
        try probe.configure(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
        let version = try Int(probe.scalarInt("PRAGMA user_version") ?? 0)
        try refuseNewer(version)
        return version
    }

    /// Brings the schema to `latestVersion`; safe against another process migrating at the same time.
    static func migrate(_ connection: Connection) throws(StoreError) {
        for migration in migrations {
            try connection.transaction(.immediate) { () throws(StoreError) in
                let current = try Int(connection.scalarInt("PRAGMA user_version") ?? 0)
                try refuseNewer(current)
                guard current < migration.version else { return }
                try connection.execute(migration.sql)
                try connection.execute("PRAGMA user_version = \(migration.version)")
            }
        }
    }

    static func refuseNewer(_ version: Int) throws(StoreError) {
        guard version <= latestVersion else {
            throw StoreError(
                code: .schemaTooNew,
                message: "the database has schema version \(version), newer than this program's \(latestVersion); "
                    + "upgrade taas-capture (the file was left untouched)"
            )
        }
    }
}
