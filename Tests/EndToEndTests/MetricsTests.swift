import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import XCTest

/// `serve --metrics-listen`: Prometheus text at /metrics, parsed by a real Prometheus parser (Python's
/// prometheus_client, installed by `scripts/test`), counters that move by exactly what was done,
/// bounded labels, 404 / 405, and a slow client that holds nothing.
final class MetricsTests: EndToEndTestCase {
    private static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts")

    private var port = 0

    private func startWithMetrics() throws {
        port = Int.random(in: 20_000...60_000)
        try startService(arguments: ["--metrics-listen", "127.0.0.1:\(port)"])
    }

    /// The scrape, parsed by prometheus_client: sample name with sorted labels → value.
    private func scrape() throws -> (contentType: String, samples: [String: Double]) {
        let python = ProcessInfo.processInfo.environment["PATH"].flatMap { path in
            path.split(separator: ":").map { "\($0)/python3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        } ?? "/usr/bin/python3"
        let output = URL(fileURLWithPath: workDirectory + "/scrape-\(UUID().uuidString).json")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [Self.scripts.appendingPathComponent("scrape-metrics.py").path, "http://127.0.0.1:\(port)/metrics"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        process.waitUntilExit()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        if stderr.contains("No module named 'prometheus_client'") {
            if ProcessInfo.processInfo.environment["CI"] != nil { XCTFail("CI must have prometheus_client (scripts/test installs it)") }
            throw XCTSkip("prometheus_client is not installed for \(python)")
        }
        XCTAssertEqual(process.terminationStatus, 0, stderr)
        let parsed = try JSON.parse(String(contentsOf: output, encoding: .utf8))
        var samples: [String: Double] = [:]
        for (key, value) in parsed["samples"]?.object ?? [:] {
            switch value {
            case .int(let i): samples[key] = Double(i)
            case .double(let d): samples[key] = d
            default: break
            }
        }
        return (parsed["contentType"]?.string ?? "", samples)
    }

    /// The HTTP status of one request, over a plain socket.
    private func status(_ method: String, _ path: String) throws -> Int {
        let response = try httpResponse(port: port, method, path)
        guard response.utf8.count > 12 else { return -1 }
        return Int(response.dropFirst(9).prefix(3)) ?? -1
    }

    func testCountersMoveByExactlyWhatWasRecorded() throws {
        try startWithMetrics()
        let before = try scrape()
        XCTAssertTrue(before.contentType.hasPrefix("text/plain; version=0.0.4"), before.contentType)
        XCTAssertEqual(before.samples["taas_capture_records_total{}"], 0)

        let client = try connect()
        for i in 0..<5 { try client.record(session: "oc:metrics", model: i < 3 ? "m1" : "m2", idempotencyKey: "k\(i)") }
        for i in 0..<2 { _ = try client.result("taas.autorouter.record", ["sessionId": "oc:metrics", "headers": autoroutedHeaders(), "idempotencyKey": .string("k\(i)")]) }
        assertError(try client.call("taas.autorouter.record", ["headers": autoroutedHeaders()]), code: -32602)
        assertError(try client.call("taas.nope", [:]), code: -32601)

        let after = try scrape().samples
        XCTAssertEqual(after["taas_capture_records_total{}"], 5)
        XCTAssertEqual(after["taas_capture_records_duplicate_total{}"], 2)
        XCTAssertEqual(after["taas_capture_captures_by_model_total{model=m1}"], 3)
        XCTAssertEqual(after["taas_capture_captures_by_model_total{model=m2}"], 2)
        XCTAssertEqual(after["taas_capture_errors_total{code=-32602}"], 1)
        XCTAssertEqual(after["taas_capture_errors_total{code=-32601}"], 1)
        XCTAssertEqual(after["taas_capture_record_duration_seconds_count{}"], 7)
        XCTAssertGreaterThanOrEqual(after["taas_capture_commits_total{}"] ?? 0, 1)
        XCTAssertLessThanOrEqual(after["taas_capture_commits_total{}"] ?? 0, 7)
        XCTAssertEqual(after["taas_capture_connections_open{}"], 1)
        XCTAssertGreaterThan(after["taas_capture_database_bytes{}"] ?? 0, 0)
        XCTAssertNotNil(after["taas_capture_write_queue_depth{}"])
        for key in after.keys { XCTAssertFalse(key.contains("oc:metrics"), "no session id in a label: \(key)") }

        let pruned = try client.result("taas.capture.prune", ["maxPerSession": 2, "maxAgeMs": 0, "maxRows": 0])
        XCTAssertEqual(pruned["deleted"], 3)
        XCTAssertEqual(try scrape().samples["taas_capture_pruned_total{rule=perSession}"], 3)
    }

    func testConnectionsRefusedAtTheLimitAreCountedAsErrors() throws {
        port = Int.random(in: 20_000...60_000)
        try startService(arguments: ["--metrics-listen", "127.0.0.1:\(port)", "--max-connections", "1"])
        // The start-up health check's own connection may not be released yet: retry until one is admitted.
        var admitted: LineClient?
        let deadline = Date().addingTimeInterval(5)
        while admitted == nil, Date() < deadline {
            let client = try connect()
            if (try? client.call("taas.capture.health", [:]))?["result"]?["status"] == "ok" {
                admitted = client
            } else {
                client.close()
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        XCTAssertNotNil(admitted, "one connection is admitted")
        let refusedBefore = try scrape().samples["taas_capture_errors_total{code=-32002}"] ?? 0
        for _ in 0..<2 {
            let refused = try connect()
            assertError(try refused.readJSON(timeout: 5), code: -32002)
            XCTAssertTrue(refused.waitForClose(timeout: 5))
        }
        XCTAssertEqual(try scrape().samples["taas_capture_errors_total{code=-32002}"], refusedBefore + 2)
        admitted?.close()
    }

    func testModelLabelsStopAtFiftyThenOther() throws {
        try startWithMetrics()
        let client = try connect()
        for i in 0..<60 { try client.record(session: "oc:models", model: "model-\(i)") }
        let models = try scrape().samples.filter { $0.key.hasPrefix("taas_capture_captures_by_model_total{") }
        XCTAssertEqual(models.count, 51, "50 models and other")
        XCTAssertEqual(models["taas_capture_captures_by_model_total{model=other}"], 10)
    }

    /// SPEC v3 "Metrics that alert": each stored call's tokens, cost, savings, outcome and trigger, route change and
    /// time to first byte; storage health and budgets exceeded.
    func testCallSeriesMoveByWhatWasStored() throws {
        port = Int.random(in: 20_000...60_000)
        try startService(arguments: ["--metrics-listen", "127.0.0.1:\(port)", "--budget-check-interval", "100ms"])
        let client = try connect()
        func call(_ model: String, trigger: JSON, outcome: String, ttfb: Int64?) throws {
            var params: [String: JSON] = [
                "sessionId": "oc:series", "agentId": "a", "headers": autoroutedHeaders(model: model),
                "usage": ["input": 100, "output": 20, "cacheRead": 300, "cacheWrite": 5], "costUsd": 0.5,
                "cacheSavedUsd": 0.25, "outcome": .string(outcome), "trigger": trigger,
            ]
            if let ttfb { params["timeToFirstByteMs"] = .int(ttfb) }
            _ = try client.result("taas.autorouter.record", .object(params))
        }
        try call("m1", trigger: "cron", outcome: "ok", ttfb: 300)
        try call("m2", trigger: "cron", outcome: "error", ttfb: 1500)
        try call("m2", trigger: .null, outcome: "ok", ttfb: nil)
        _ = try client.result("taas.capture.setBudget", ["agentId": "a", "usdPerDay": 1])
        Thread.sleep(forTimeInterval: 0.5)
        let samples = try scrape().samples
        XCTAssertEqual(samples["taas_capture_tokens_total{kind=input,model=m2}"], 200)
        XCTAssertEqual(samples["taas_capture_tokens_total{kind=cache_read,model=m1}"], 300)
        XCTAssertEqual(samples["taas_capture_tokens_total{kind=cache_write,model=m2}"], 10)
        XCTAssertEqual(samples["taas_capture_cost_usd_total{model=m2}"], 1.0)
        XCTAssertEqual(samples["taas_capture_cache_saved_usd_total{model=m1}"], 0.25)
        XCTAssertEqual(samples["taas_capture_calls_total{outcome=ok,trigger=cron}"], 1)
        XCTAssertEqual(samples["taas_capture_calls_total{outcome=error,trigger=cron}"], 1)
        XCTAssertEqual(samples["taas_capture_calls_total{outcome=ok,trigger=unknown}"], 1)
        XCTAssertEqual(samples["taas_capture_route_changes_total{model=m2}"], 1, "m1 then m2 then m2")
        XCTAssertNil(samples["taas_capture_route_changes_total{model=m1}"] .flatMap { $0 > 0 ? $0 : nil })
        XCTAssertEqual(samples["taas_capture_ttfb_seconds_count{model=m2}"], 1)
        XCTAssertEqual(samples["taas_capture_ttfb_seconds_bucket{le=2.0,model=m2}"], 1)
        XCTAssertEqual(samples["taas_capture_ttfb_seconds_bucket{le=1.0,model=m2}"], 0)
        XCTAssertEqual(samples["taas_capture_storage_healthy{}"], 1)
        XCTAssertEqual(samples["taas_capture_budgets_exceeded{}"], 1, "1.5 USD today against 1 a day")
        for key in samples.keys { XCTAssertFalse(key.contains("oc:series") || key.contains("agentId"), key) }
    }

    func testLabelsStayBoundedUnderAThousandModelsAndTriggers() throws {
        try startWithMetrics()
        let client = try connect()
        var lines: [String] = []
        for i in 0..<1000 {
            let params: JSON = [
                "sessionId": .string("oc:many\(i % 10)"), "headers": autoroutedHeaders(model: "model-\(i)"),
                "usage": ["input": 1], "costUsd": 0.001, "trigger": .string("trigger-\(i)"), "timeToFirstByteMs": 100,
            ]
            lines.append(Request.line("taas.autorouter.record", params, id: .int(Int64(i))))
        }
        try client.send(Array((lines.joined(separator: "\n") + "\n").utf8))
        for _ in 0..<1000 { XCTAssertEqual(try client.readJSON(timeout: 30)["result"]?["recorded"], true) }
        let samples = try scrape().samples
        func values(_ prefix: String, _ label: String) -> Set<String> {
            Set(samples.keys.filter { $0.hasPrefix(prefix + "{") }.compactMap { key in
                key.split(separator: "{")[1].dropLast().split(separator: ",").first { $0.hasPrefix(label + "=") }
                    .map { String($0.dropFirst(label.count + 1)) }
            })
        }
        XCTAssertEqual(values("taas_capture_cost_usd_total", "model").count, 51, "50 models and other")
        XCTAssertTrue(values("taas_capture_cost_usd_total", "model").contains("other"))
        XCTAssertEqual(values("taas_capture_calls_total", "trigger").count, 21, "20 triggers and other")
        XCTAssertEqual(values("taas_capture_ttfb_seconds_count", "model").count, 51)
        XCTAssertEqual(samples["taas_capture_calls_total{outcome=unknown,trigger=other}"], 980)
        XCTAssertLessThan(samples.count, 2_000, "the scrape stays small")
    }

    func testWrongPathsMethodsAndSlowClients() throws {
        try startWithMetrics()
        XCTAssertEqual(try status("GET", "/nope"), 404)
        XCTAssertEqual(try status("POST", "/metrics"), 405)
        XCTAssertEqual(try status("GET", "/metrics"), 200)
        // A client that connects and never finishes its request holds nothing: scrapes go on.
        let slow = try rawConnect(port: port)
        defer { close(slow) }
        _ = "GET /metr".withCString { send(slow, $0, 9, 0) }
        let started = Date()
        XCTAssertEqual(try scrape().samples["taas_capture_records_total{}"], 0)
        XCTAssertLessThan(Date().timeIntervalSince(started), 3)
    }

    func testOffByDefaultAndLoopbackUnlessAllowed() throws {
        let plain = try startService()
        XCTAssertFalse(plain.stderr.contains("metrics at"))
        let remote = try runCLI(["serve", "--socket", workDirectory + "/r.sock", "--db", workDirectory + "/r.sqlite3", "--metrics-listen", "0.0.0.0:9464"])
        XCTAssertEqual(remote.status, 2)
        XCTAssertTrue(remote.stderr.contains("--metrics-allow-remote"), remote.stderr)
    }
}
