import Foundation
import XCTest

/// kill -9 under concurrent load never loses an acknowledged capture and never corrupts the database.
final class CrashRecoveryTests: EndToEndTestCase {
    private struct Ack: Sendable, Hashable {
        var key: String
        var id: Int64
    }

    func testEveryAcknowledgedCaptureSurvivesKillDashNineUnderLoad() throws {
        let rounds = 20
        let writers = 8
        var generator = SystemRandomNumberGenerator()
        var totalAcked = 0
        for round in 0..<rounds {
            let service = try startService()
            let acks = Locked([Int: [Ack]]())
            let socket = socketPath
            let finished = (0..<writers).map { writer in
                spawnThread {
                    guard let client = try? LineClient.connect(path: socket) else { return }
                    for sequence in 0..<100_000 {
                        let key = "r\(round)-w\(writer)-\(sequence)"
                        let params: JSON = [
                            "sessionId": "oc:crash-\(round)-\(writer)", "agentId": "crash-agent",
                            "headers": autoroutedHeaders(requestId: key), "idempotencyKey": .string(key),
                        ]
                        guard let result = try? client.result("taas.autorouter.record", params, timeout: 10),
                            result["recorded"] == true, let id = result["id"]?.int
                        else { return }
                        acks.withLock { $0[writer, default: []].append(Ack(key: key, id: id)) }
                    }
                }
            }
            usleep(UInt32.random(in: 100_000...600_000, using: &generator))
            service.killHard()
            for done in finished {
                XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "writer threads end when the service dies")
            }

            let restarted = try startService()
            let client = try connect()
            let acknowledged = acks.current
            for writer in 0..<writers {
                let expected = acknowledged[writer] ?? []
                totalAcked += expected.count
                let stored = try client.fullHistory(["sessionId": .string("oc:crash-\(round)-\(writer)")])
                var storedKeys: [Int64: String] = [:]
                for capture in stored {
                    if let id = capture["id"]?.int { storedKeys[id] = capture["taasRequestId"]?.string }
                }
                let missing = expected.filter { storedKeys[$0.id] != $0.key }
                XCTAssertEqual(missing.count, 0, "round \(round) writer \(writer): lost \(missing.prefix(5))")
                XCTAssertLessThanOrEqual(stored.count, expected.count + 1, "at most one unacknowledged in flight")
                for ack in [expected.first, expected.last].compactMap({ $0 }) {
                    let again = try client.result(
                        "taas.autorouter.record",
                        ["sessionId": "oc:crash-\(round)-\(writer)", "headers": autoroutedHeaders(requestId: ack.key),
                         "idempotencyKey": .string(ack.key)])
                    XCTAssertEqual(again["duplicate"], true, "round \(round): \(ack.key) is known after the crash")
                    XCTAssertEqual(again["id"], .int(ack.id))
                }
            }
            XCTAssertEqual(restarted.terminate(), 0, restarted.log)
            XCTAssertEqual(
                try sqliteIntegrityCheck(database: dbPath, scratch: workDirectory + "/integrity-\(round).txt"), "ok",
                "round \(round)")
        }
        print("crash test: \(totalAcked) acknowledged captures over \(rounds) kill -9 rounds, none lost")
        XCTAssertGreaterThan(totalAcked, 0, "the writers got acknowledgements before the kills")
    }
}
