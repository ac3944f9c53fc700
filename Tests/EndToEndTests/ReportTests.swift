import Foundation
import XCTest

/// `taas-capture report`: one self-contained HTML file, checked in a real browser (headless Chromium):
/// it renders, is not blank, and shows the agents and models of the data it was made from.
final class ReportTests: EndToEndTestCase {
    private static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts")

    private func chromium() throws -> String {
        for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        if ProcessInfo.processInfo.environment["CI"] != nil {
            XCTFail("CI must have Chromium for the report test (.ci/run installs the Debian package chromium)")
        }
        throw XCTSkip("no Chromium on this machine (apt-get install chromium)")
    }

    /// Runs `executable` with `arguments` to completion; its stdout.
    private func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> (status: Int32, stdout: String) {
        let output = URL(fileURLWithPath: workDirectory + "/run-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ["PATH": "/usr/bin:/bin", "HOME": homeDirectory]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        try process.run()
        guard waitForExit(process, timeout: timeout) else {
            process.terminate()
            throw XCTSkip("\(executable) did not finish in \(timeout) s")
        }
        return (process.terminationStatus, (try? String(contentsOf: output, encoding: .utf8)) ?? "")
    }

    private func fill() throws {
        try startService()
        let client = try connect()
        let now = nowMs()
        let models = ["qwen3-coder", "anthropic/claude-sonnet-4", "gpt-5-mini"]
        for i in 0..<90 {
            let agent = ["report-main", "report-ops", "report-triage"][i % 3]
            let params: JSON = [
                "sessionId": .string("oc:report-\(i % 9)"), "agentId": .string(agent), "capturedAt": .int(now - Int64(90 - i) * 3_600_000),
                "headers": autoroutedHeaders(model: models[(i / 3) % 3 == 0 && agent == "report-ops" ? 2 : i % 3], algo: i % 2 == 0 ? "best_fit" : "cost"),
                "usage": ["input": 100, "output": 20, "cacheRead": .int(Int64(i % 4) * 300), "cacheWrite": 0],
                "cacheSavedUsd": .double(0.001),
            ]
            XCTAssertEqual(try client.result("taas.autorouter.record", params)["recorded"], true)
        }
    }

    func testTheReportIsSelfContainedAndRendersInAHeadlessBrowser() throws {
        let browser = try chromium()
        try fill()
        let out = workDirectory + "/report.html"
        let written = try runCLI(["report", "--db", dbPath, "--out", out, "--since", "7d"])
        XCTAssertEqual(written.status, 0, written.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertFalse(html.contains("<script"), "no script")
        XCTAssertFalse(html.contains("http://") || html.contains("https://") || html.contains("@import") || html.contains("url("), "nothing fetched")
        XCTAssertTrue(html.contains("<svg"), "inline SVG")

        let dom = try run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", "file://" + out])
        XCTAssertEqual(dom.status, 0)
        for text in ["report-main", "report-ops", "report-triage", "qwen3-coder", "anthropic/claude-sonnet-4", "gpt-5-mini",
                     "Served models over time", "Cache hit ratio over time", "Busiest sessions", "best_fit"] {
            XCTAssertTrue(dom.stdout.contains(text), "the rendered page shows \(text)")
        }

        let png = workDirectory + "/report.png"
        let shot = try run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1400", "--screenshot=" + png, "file://" + out])
        XCTAssertEqual(shot.status, 0)
        let coverage = try run("/usr/bin/python3", [Self.scripts.appendingPathComponent("png-coverage.py").path, png])
        XCTAssertEqual(coverage.status, 0)
        let drawn = try XCTUnwrap(Double(coverage.stdout.trimmingCharacters(in: .whitespacesAndNewlines)), coverage.stdout)
        XCTAssertGreaterThan(drawn, 0.02, "the screenshot is not blank (\(drawn) of its pixels are drawn)")
    }

    func testAnAgentReportAndBadArguments() throws {
        try fill()
        let out = workDirectory + "/ops.html"
        let agent = try runCLI(["report", "--db", dbPath, "--out", out, "--agent-id", "report-ops"])
        XCTAssertEqual(agent.status, 0, agent.stderr)
        let html = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(html.contains("agent report-ops"))
        XCTAssertFalse(html.contains("report-main"), "only the selected agent")
        XCTAssertEqual(try runCLI(["report", "--db", dbPath]).status, 2, "--out is required")
        XCTAssertEqual(try runCLI(["report", "--db", workDirectory + "/none.sqlite3", "--out", out]).status, 1)
    }
}
