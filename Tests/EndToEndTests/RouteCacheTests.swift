import Foundation
import XCTest

/// `lastRoute` answers from the service's route cache, and stays exact when other processes change the file.
final class RouteCacheTests: EndToEndTestCase {
    private func lastRouteModel(_ client: LineClient, _ selector: [String: JSON]) throws -> JSON? {
        try client.result("taas.autorouter.lastRoute", .object(selector))["capture"]?["autorouterModel"]
    }

    func testLastRouteSeesDeletesByTheSQLiteShellAndThePruneCommandAtOnce() throws {
        try startService(arguments: ["--max-per-session", "0"])
        let client = try connect()
        let now = nowMs()
        try client.record(session: "oc:cached", agent: "cached-agent", capturedAt: now - 3_000, model: "oldest")
        try client.record(session: "oc:cached", agent: "cached-agent", capturedAt: now - 2_000, model: "middle")
        try client.record(session: "oc:cached", agent: "cached-agent", capturedAt: now - 1_000, model: "newest")
        for _ in 0..<3 {  // the first answer fills the cache, the others come from it
            XCTAssertEqual(try lastRouteModel(client, ["sessionId": "oc:cached"]), "newest")
            XCTAssertEqual(try lastRouteModel(client, ["agentId": "cached-agent"]), "newest")
        }

        // Another process deletes the newest capture while the service is idle.
        _ = try sqliteShell(
            database: dbPath, sql: "DELETE FROM captures WHERE autorouter_model = 'newest';",
            scratch: workDirectory + "/delete.txt")
        XCTAssertEqual(try lastRouteModel(client, ["sessionId": "oc:cached"]), "middle", "the very next answer")
        XCTAssertEqual(try lastRouteModel(client, ["agentId": "cached-agent"]), "middle")

        // Past the writer's catch-up (at most a second), answers are held again and still exact.
        Thread.sleep(forTimeInterval: 1.5)
        for _ in 0..<2 { XCTAssertEqual(try lastRouteModel(client, ["sessionId": "oc:cached"]), "middle") }

        // `taas-capture prune` on the file, the service running: keep one capture per session.
        let pruned = try runCLI(["prune", "--db", dbPath, "--max-per-session", "1", "--json"])
        assertSucceeded(pruned, "prune")
        XCTAssertEqual(try pruned.json()["deleted"], 1, pruned.stdout)
        XCTAssertEqual(try lastRouteModel(client, ["sessionId": "oc:cached"]), "middle")
        _ = try sqliteShell(database: dbPath, sql: "DELETE FROM captures;", scratch: workDirectory + "/delete-all.txt")
        XCTAssertEqual(try client.result("taas.autorouter.lastRoute", ["sessionId": "oc:cached"])["capture"], .null)
        XCTAssertEqual(try client.result("taas.autorouter.lastRoute", ["agentId": "cached-agent"])["capture"], .null)

        // And the service's own records after all that are seen at once.
        try client.record(session: "oc:cached", agent: "cached-agent", capturedAt: now, model: "after")
        XCTAssertEqual(try lastRouteModel(client, ["sessionId": "oc:cached"]), "after")
        XCTAssertEqual(try lastRouteModel(client, ["agentId": "cached-agent"]), "after")
    }

    func testEveryConnectionSeesEveryAcknowledgedRecordWithTheCacheOnOrOff() throws {
        for (index, arguments) in [[], ["--route-cache", "0"]].enumerated() {
            let service = try startService(
                socket: workDirectory + "/c\(index).sock", db: workDirectory + "/c\(index).sqlite3", arguments: arguments)
            let writer = try connect(service)
            let reader = try connect(service)
            for round in 0..<50 {
                let session = "oc:r\(round % 5)"
                _ = try reader.result("taas.autorouter.lastRoute", ["sessionId": .string(session)])
                let id = try writer.record(session: session, agent: "agent-\(round % 3)", model: "m\(round)")
                // Another connection, after the acknowledgement: the record must be its answer.
                let route = try reader.result("taas.autorouter.lastRoute", ["sessionId": .string(session)])
                XCTAssertEqual(route["capture"]?["id"]?.int, id, "\(arguments) round \(round): \(route.encoded)")
                let byAgent = try reader.result("taas.autorouter.lastRoute", ["agentId": .string("agent-\(round % 3)")])
                XCTAssertEqual(byAgent["capture"]?["id"]?.int, id, "\(arguments) round \(round)")
            }
            XCTAssertEqual(service.terminate(), 0)
        }
    }

    func testTheRouteCacheFlagIsBounded() throws {
        let result = try runCLI(["serve", "--socket", socketPath, "--db", dbPath, "--route-cache", "2000000"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("--route-cache must be 0-1048576"), result.stderr)
    }
}
