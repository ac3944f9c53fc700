import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Start-up, shutdown, restart, crash leftovers and file permissions.
final class LifecycleTests: EndToEndTestCase {
    func testSigtermExitsZeroRemovesTheSocketAndDataSurvivesRestart() throws {
        let service = try startService()
        let id = try connect().record(session: "oc:persist", agent: "agent-persist", requestId: "persist-1")
        // An open idle connection must not keep the service from stopping.
        let idle = try connect()
        withExtendedLifetime(idle) {
            XCTAssertEqual(service.terminate(timeout: 15), 0, "SIGTERM → exit 0; output: \(service.log)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath), "the socket is removed on SIGTERM")

        try startService()
        let client = try connect()
        let last = try client.result("taas.autorouter.lastRoute", ["agentId": "agent-persist"])
        XCTAssertEqual(last["capture"]?["id"], .int(id))
        XCTAssertEqual(last["capture"]?["taasRequestId"], "persist-1")
        let duplicate = try client.result(
            "taas.autorouter.record", ["sessionId": "oc:persist", "headers": autoroutedHeaders(requestId: "persist-1")])
        XCTAssertEqual(duplicate["duplicate"], true, "dedupe keys survive a restart")
        XCTAssertEqual(duplicate["id"], .int(id))
        XCTAssertGreaterThan(try client.record(session: "oc:persist"), id, "ids keep increasing after restart")
    }

    func testSigintAlsoStopsCleanly() throws {
        let service = try startService()
        kill(service.pid, SIGINT)
        XCTAssertTrue(waitForExit(service.process, timeout: 15), "SIGINT stops the service")
        XCTAssertEqual(service.exitStatus, 0, service.log)
        XCTAssertFalse(FileManager.default.fileExists(atPath: socketPath))
    }

    func testKillDashNineLeavesAStaleSocketThatTheNextStartReplaces() throws {
        let service = try startService()
        let id = try connect().record(session: "oc:crash")
        service.killHard()
        XCTAssertTrue(FileManager.default.fileExists(atPath: socketPath), "kill -9 leaves the socket file behind")
        XCTAssertThrowsError(try LineClient.connect(path: socketPath, timeout: 1), "nobody listens on the stale socket")

        try startService()
        let last = try connect().result("taas.autorouter.lastRoute", ["sessionId": "oc:crash"])
        XCTAssertEqual(last["capture"]?["id"], .int(id), "an acknowledged record survives kill -9")
    }

    func testSecondServeOnTheSameDatabaseExitsNonZeroWithAMessage() throws {
        try startService()
        let second = try startService(socket: workDirectory + "/other/capture.sock", waitUntilHealthy: false)
        XCTAssertTrue(waitForExit(second.process, timeout: 15), "the second serve must not keep running")
        XCTAssertNotEqual(second.exitStatus ?? 0, 0, "exits non-zero")
        XCTAssertFalse(second.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "says why on stderr")
        XCTAssertEqual(try connect().call("taas.capture.health", [:])["result"]?["status"], "ok", "first unaffected")
    }

    func testSecondServeOnALiveSocketDoesNotStealIt() throws {
        try startService()
        let client = try connect()
        let id = try client.record(session: "oc:owner")
        let second = try startService(db: workDirectory + "/intruder.sqlite3", waitUntilHealthy: false)
        XCTAssertTrue(waitForExit(second.process, timeout: 15), "the second serve must not keep running")
        XCTAssertNotEqual(second.exitStatus ?? 0, 0, "exits non-zero: \(second.log)")
        let fresh = try connect()
        let last = try fresh.result("taas.autorouter.lastRoute", ["sessionId": "oc:owner"])
        XCTAssertEqual(last["capture"]?["id"], .int(id), "new connections still reach the first service")
    }

    func testSocketPathTooLongIsAClearStartupError() throws {
        let longDirectory = workDirectory + "/" + String(repeating: "d", count: 120)
        let service = try startService(socket: longDirectory + "/capture.sock", waitUntilHealthy: false)
        XCTAssertTrue(waitForExit(service.process, timeout: 15), "must not keep running")
        XCTAssertNotEqual(service.exitStatus ?? 0, 0)
        let message = service.stderr.lowercased()
        XCTAssertTrue(message.contains("socket") || message.contains("path"), "stderr names the problem: \(message)")
    }

    func testCreatesTheDirectory0700TheSocket0600AndTheDatabaseFiles0600() throws {
        let directory = workDirectory + "/state/taas-capture"
        let previousMask = umask(0o022)
        defer { umask(previousMask) }
        try startService(socket: directory + "/capture.sock", db: directory + "/captures.sqlite3")
        let client = try LineClient.connect(path: directory + "/capture.sock")
        try client.record(session: "oc:perm")
        XCTAssertEqual(try mode(directory), 0o700)
        XCTAssertEqual(try mode(directory + "/capture.sock"), 0o600)
        for suffix in ["", "-wal", "-shm"] where FileManager.default.fileExists(atPath: directory + "/captures.sqlite3" + suffix) {
            XCTAssertEqual(try mode(directory + "/captures.sqlite3" + suffix), 0o600, "captures.sqlite3\(suffix)")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/captures.sqlite3"))
    }

    func testDefaultPathsFollowTheStateDirectoryAndEnvironmentOverrides() throws {
        let state = workDirectory + "/oc-state"
        let defaults = try ServiceProcess(
            socketPath: state + "/taas-capture/capture.sock", dbPath: state + "/taas-capture/captures.sqlite3",
            arguments: ["serve"],
            environment: isolatedEnvironment(home: homeDirectory, overrides: ["OPENCLAW_STATE_DIR": state]),
            logPrefix: workDirectory + "/defaults")
        defer { defaults.terminate() }
        try defaults.waitUntilHealthy()
        XCTAssertTrue(FileManager.default.fileExists(atPath: state + "/taas-capture/captures.sqlite3"))
        XCTAssertEqual(defaults.terminate(), 0)

        let socket = workDirectory + "/env-sock/s.sock"
        let db = workDirectory + "/env.sqlite3"
        let overridden = try ServiceProcess(
            socketPath: socket, dbPath: db, arguments: ["serve"],
            environment: isolatedEnvironment(
                home: homeDirectory,
                overrides: ["OPENCLAW_STATE_DIR": state, "TAAS_CAPTURE_SOCKET": socket, "TAAS_CAPTURE_DB": db]),
            logPrefix: workDirectory + "/overridden")
        defer { overridden.terminate() }
        try overridden.waitUntilHealthy()
        XCTAssertTrue(FileManager.default.fileExists(atPath: db))
        XCTAssertEqual(overridden.terminate(), 0)
    }

    private func mode(_ path: String) throws -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ServiceError(description: "stat \(path) failed") }
        return info.st_mode & 0o7777
    }
}
