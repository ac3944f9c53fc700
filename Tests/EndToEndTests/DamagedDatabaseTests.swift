import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 21 as an operator meets it: 3,000 captures recorded, every third page of the file overwritten, the service
/// started again. It serves degraded (health says what is wrong, records are refused as retryable), `doctor`
/// summarises and names the next step, `salvage` copies what can be read into a new file, and the service runs on it.
final class DamagedDatabaseTests: EndToEndTestCase {
    private let count = 3000

    private func recordAll(_ client: LineClient) throws -> [Int64: (session: String, model: String, requestId: String, input: Int64)] {
        var recorded: [Int64: (session: String, model: String, requestId: String, input: Int64)] = [:]
        for index in 0..<count {
            let session = "oc:" + String(format: "%016x", index % 40)
            let (model, requestId, input) = ("model-\(index % 7)", "req-\(index)", Int64(index))
            let result = try client.result(
                "taas.autorouter.record",
                ["sessionId": .string(session), "agentId": .string("agent-\(index % 5)"),
                 "headers": autoroutedHeaders(model: model, requestId: requestId),
                 "usage": ["input": .int(input), "output": 7], "costUsd": 0.001])
            let id = try XCTUnwrap(result["id"]?.int, "record \(index): \(result.encoded)")
            recorded[id] = (session, model, requestId, input)
        }
        return recorded
    }

    /// Overwrites pages 3, 6, 9, … (1-based, 4096 bytes) with seeded noise.
    private func overwriteEveryThirdPage(_ path: String) throws -> Int {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let pages = Int(try handle.seekToEnd()) / 4096
        var state: UInt64 = 21
        for page in stride(from: 3, through: pages, by: 3) {
            try handle.seek(toOffset: UInt64((page - 1) * 4096))
            var noise = Data(count: 4096)
            for index in 0..<4096 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                noise[index] = UInt8(truncatingIfNeeded: state >> 33)
            }
            handle.write(noise)
        }
        return pages
    }

    func testADamagedDatabaseServesDegradedAndSalvageBringsBackWhatIsReadable() throws {
        let first = try startService()
        let recorded = try recordAll(try connect())
        XCTAssertEqual(recorded.count, count)
        XCTAssertEqual(first.terminate(), 0)  // checkpoints: every capture is in the main file
        let pages = try overwriteEveryThirdPage(dbPath)

        // Served degraded: health answers and says what is wrong; records are refused, retryable.
        // quick_check confirms the damage 200 ms after it is first met (the default waits 10 s).
        let damaged = try startService(arguments: ["--damage-recheck", "200ms"], waitUntilHealthy: false)
        var health = JSON.null
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let client = try? connect(), let answer = try? client.result("taas.capture.health") {
                health = answer
                if answer["storage"]?["error"]?.string?.contains("quick_check found") == true { break }
            }
            usleep(50_000)
        }
        XCTAssertEqual(health["status"], "degraded", health.encoded)
        XCTAssertEqual(health["storage"]?["ok"], false)
        XCTAssertEqual(health["storage"]?["kind"], "corrupt")
        XCTAssertTrue(
            health["storage"]?["error"]?.string?.hasPrefix("the database is damaged: quick_check found") ?? false,
            "the damage is confirmed and stays: \(health.encoded)")
        XCTAssertNotNil(health["storage"]?["since"]?.int)
        let refused = try connect().call(
            "taas.autorouter.record",
            ["sessionId": "oc:00000000000000aa", "headers": autoroutedHeaders(requestId: "after-damage")])
        assertError(refused, code: -32000)
        XCTAssertEqual(refused["error"]?["data"]?["retryable"], true, "kept by the client until a sound file is served")
        XCTAssertEqual(refused["error"]?["data"]?["kind"], "corrupt")
        let after = try connect().result("taas.capture.health")
        XCTAssertEqual(after["storage"]?["failedWrites"], 1)
        XCTAssertTrue(damaged.log.contains("taas-capture salvage"), "the log names the next step: \(damaged.log)")

        // doctor: a few lines, the count of what failed, and what to do.
        let doctor = try runCLI(["doctor", "--offline", "--db", dbPath])
        XCTAssertEqual(doctor.status, 1)
        XCTAssertLessThan(doctor.stdout.split(separator: "\n").count, 15, doctor.stdout)
        XCTAssertTrue(doctor.stdout.contains("checks failed"), doctor.stdout)
        XCTAssertTrue(doctor.stdout.contains("next: stop the service, run 'taas-capture salvage"), doctor.stdout)
        XCTAssertEqual(damaged.terminate(), 0)

        // salvage: a new 0600 file, the source untouched.
        let source = try Data(contentsOf: URL(fileURLWithPath: dbPath))
        let salvagedPath = workDirectory + "/salvaged.sqlite3"
        let salvage = try runCLI(["salvage", "--from", dbPath, "--to", salvagedPath, "--json"], timeout: 120)
        assertSucceeded(salvage, "salvage")
        let report = try JSON.parse(salvage.stdout)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: dbPath)), source, "salvage never writes to the source")
        let mode = (try FileManager.default.attributesOfItem(atPath: salvagedPath)[.posixPermissions] as? Int ?? 0) & 0o777
        XCTAssertEqual(mode, 0o600)
        XCTAssertEqual(report["readPages"], true)
        XCTAssertEqual(report["newFileCheck"], "ok")

        // Served on the new file: healthy, every salvaged capture as recorded, and records go on past the old ids.
        let healed = try startService(db: salvagedPath)
        let client = try connect(healed)
        var salvaged = 0
        for session in Set(recorded.values.map(\.session)) {
            for capture in try client.fullHistory(["sessionId": .string(session)]) {
                let id = try XCTUnwrap(capture["id"]?.int)
                let original = try XCTUnwrap(recorded[id], "capture \(id) was recorded")
                XCTAssertEqual(capture["sessionId"]?.string, original.session)
                XCTAssertEqual(capture["autorouterModel"]?.string, original.model, capture.encoded)
                XCTAssertEqual(capture["taasRequestId"]?.string, original.requestId, capture.encoded)
                XCTAssertEqual(capture["inputTokens"]?.int, original.input, capture.encoded)
                salvaged += 1
            }
        }
        XCTAssertEqual(Int64(salvaged), report["captures"]?.int)
        // Two pages in three survive; the captures table's share of them comes back (the store test checks the exact
        // set against the pages).
        XCTAssertGreaterThan(salvaged, count / 2)
        print("salvage e2e: \(salvaged) of \(count) captures back from a file of \(pages) pages with every third overwritten")
        let next = try client.record(session: "oc:00000000000000aa", requestId: "after-salvage")
        XCTAssertGreaterThan(next, Int64(count))
        XCTAssertEqual(try client.result("taas.capture.health")["status"], "ok")
    }
}
