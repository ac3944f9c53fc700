import AffinityCore
import CSQLite
import Foundation
import XCTest

@testable import CaptureStore

final class DatabaseFileTests: StoreTestCase {
    private func bytes(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    private func mode(_ path: String) throws -> Int {
        try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    /// A database with schema version 99; with `keepWAL`, the version lives only in an uncheckpointed WAL.
    private func makeNewerDatabase(at path: String, keepWAL: Bool) throws {
        let connection = try Connection(path: path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, busyTimeoutMs: 1000)
        if keepWAL {
            try connection.execute("PRAGMA journal_mode = WAL")
            try connection.configure(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
        }
        try connection.execute("CREATE TABLE future (x INTEGER) STRICT; INSERT INTO future VALUES (1); PRAGMA user_version = 99")
        connection.close()
    }

    func testNewerSchemaIsRefusedAndTheFilesAreLeftUnchanged() throws {
        for keepWAL in [false, true] {
            let file = path("newer-\(keepWAL).sqlite3")
            try makeNewerDatabase(at: file, keepWAL: keepWAL)
            let before = try bytes(file)
            let walBefore = try? bytes(file + "-wal")
            XCTAssertEqual(walBefore != nil, keepWAL)
            XCTAssertThrowsError(try CaptureWriter(path: file, durability: .normal)) {
                XCTAssertEqual(($0 as? StoreError)?.code, .schemaTooNew)
            }
            XCTAssertThrowsError(try CaptureReader(path: file)) {
                XCTAssertEqual(($0 as? StoreError)?.code, .schemaTooNew)
            }
            XCTAssertEqual(try bytes(file), before)
            XCTAssertEqual(try? bytes(file + "-wal"), walBefore)
        }
    }

    func testFileThatIsNotSQLiteIsRefusedAndLeftUnchanged() throws {
        let contents = [
            Data("hello, this is a text file\n".utf8),
            Data(repeating: 0x5a, count: 8192),
            Data("SQLite format 3\0".utf8) + Data(repeating: 0xff, count: 20),
        ]
        for (index, content) in contents.enumerated() {
            let file = path("not-a-db-\(index)")
            try content.write(to: URL(fileURLWithPath: file))
            XCTAssertThrowsError(try CaptureWriter(path: file, durability: .full)) {
                XCTAssertEqual(($0 as? StoreError)?.code, .notADatabase, "\(index)")
            }
            XCTAssertThrowsError(try CaptureReader(path: file))
            XCTAssertEqual(try bytes(file), content)
            XCTAssertFalse(FileManager.default.fileExists(atPath: file + "-wal"))
        }
    }

    func testDatabaseFilesAre0600WhateverTheUmask() throws {
        let previous = umask(0)
        defer { umask(previous) }
        let file = path()
        let writer = try CaptureWriter(path: file, durability: .normal)
        _ = try writer.record([capture()])
        let reader = try CaptureReader(path: file)
        XCTAssertNotNil(try reader.lastRoute(.session("oc:session-a")))
        for name in [file, file + "-wal", file + "-shm"] {
            XCTAssertEqual(try mode(name), 0o600, name)
        }
        let backup = path("backup.sqlite3")
        try writer.backup(to: backup)
        XCTAssertEqual(try mode(backup), 0o600)
    }

    func testReopeningAMigratedDatabaseKeepsItsCaptures() throws {
        let first = try CaptureWriter(path: path(), durability: .normal)
        _ = try first.record([capture(requestId: "r")])
        first.close()
        let second = try CaptureWriter(path: path(), durability: .full)
        XCTAssertEqual(try second.record([capture(requestId: "r")]), [RecordOutcome(id: 1, duplicate: true)])
        XCTAssertEqual(try CaptureReader(path: path()).health().schemaVersion, Migrator.latestVersion)
    }

    func testReaderRefusesMissingAndUnmigratedDatabases() throws {
        XCTAssertThrowsError(try CaptureReader(path: path("missing"))) {
            XCTAssertEqual(($0 as? StoreError)?.code, .cantOpen)
        }
        _ = FileManager.default.createFile(atPath: path("empty"), contents: nil)
        XCTAssertThrowsError(try CaptureReader(path: path("empty"))) {
            XCTAssertEqual(($0 as? StoreError)?.code, .schemaTooOld)
        }
    }

    func testBackupRestoresEveryCaptureAndRefusesAnExistingDestination() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record((0..<50).map { capture(session: "oc:s\($0 % 3)", at: Int64($0), requestId: "r\($0)") })
        let backup = path("backup.sqlite3")
        try writer.backup(to: backup)
        XCTAssertThrowsError(try writer.backup(to: backup)) {
            XCTAssertEqual(($0 as? StoreError)?.code, .invalidArgument)
        }
        let restored = try CaptureReader(path: backup)
        XCTAssertEqual(try restored.integrityCheck(), ["ok"])
        let original = try CaptureReader(path: path())
        for session in ["oc:s0", "oc:s1", "oc:s2"] {
            let query = HistoryQuery(selector: .session(session), limit: 1000)
            XCTAssertEqual(try restored.history(query), try original.history(query))
        }
        // The restored file is a working database: a writer continues its ids and its dedupe keys.
        restored.close()
        let continued = try CaptureWriter(path: backup, durability: .normal)
        XCTAssertEqual(try continued.record([capture(session: "oc:s0", requestId: "r0")])[0].duplicate, true)
        XCTAssertGreaterThan(try continued.record([capture()])[0].id, 50)
    }

    func testIntegrityCheckOfAHealthyDatabaseIsOk() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        _ = try writer.record([capture()])
        XCTAssertEqual(try CaptureReader(path: path()).integrityCheck(), ["ok"])
    }

    func testStoreErrorsFromSQLiteMapToRetryableCodes() {
        // Extended codes are C macro expressions Swift does not import: https://www.sqlite.org/rescode.html
        let SQLITE_IOERR_WRITE: Int32 = 778, SQLITE_BUSY_SNAPSHOT: Int32 = 517, SQLITE_READONLY_DBMOVED: Int32 = 1032
        XCTAssertEqual(StoreError.sqlite(SQLITE_FULL, nil, "x").code, .full)
        XCTAssertEqual(StoreError.sqlite(SQLITE_IOERR_WRITE, nil, "x").code, .ioError)
        XCTAssertEqual(StoreError.sqlite(SQLITE_BUSY_SNAPSHOT, nil, "x").code, .busy)
        XCTAssertEqual(StoreError.sqlite(SQLITE_LOCKED, nil, "x").code, .busy)
        XCTAssertEqual(StoreError.sqlite(SQLITE_CORRUPT, nil, "x").code, .corrupt)
        XCTAssertEqual(StoreError.sqlite(SQLITE_NOTADB, nil, "x").code, .notADatabase)
        XCTAssertEqual(StoreError.sqlite(SQLITE_CANTOPEN, nil, "x").code, .cantOpen)
        XCTAssertEqual(StoreError.sqlite(SQLITE_READONLY_DBMOVED, nil, "x").code, .readOnly)
        XCTAssertEqual(StoreError.sqlite(SQLITE_MISUSE, nil, "x").code, .internal)
        XCTAssertTrue(StoreError.sqlite(SQLITE_BUSY, nil, "x").isRetryable)
        XCTAssertTrue(StoreError.sqlite(SQLITE_FULL, nil, "x").isRetryable)
        // A damaged file is kept by the client (retryable) until the service runs on a salvaged one, but it is
        // not transient: the writer tries a failed group's records one by one.
        XCTAssertTrue(StoreError.sqlite(SQLITE_CORRUPT, nil, "x").isRetryable)
        XCTAssertFalse(StoreError.sqlite(SQLITE_CORRUPT, nil, "x").isTransient)
        XCTAssertTrue(StoreError.sqlite(SQLITE_IOERR_WRITE, nil, "x").isTransient)
        XCTAssertTrue(StoreError.sqlite(SQLITE_CANTOPEN, nil, "x").isRetryable)
        XCTAssertFalse(StoreError(code: .invalidCursor, message: "x").isRetryable)
        XCTAssertEqual(StoreError.sqlite(SQLITE_IOERR_WRITE, nil, "x").sqliteCode, SQLITE_IOERR_WRITE)
    }
}
