import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// A full disk answers -32000 with `retryable`, never loses what was acknowledged, keeps reads working,
/// and the service records again by itself once space is back (SPEC "Errors", issue "Writes").
final class StorageFailureTests: EndToEndTestCase {
    private var mountPoint: String?

    override func tearDownWithError() throws {
        try super.tearDownWithError()  // stops the service first
        if let mountPoint { _ = runTool("/bin/umount", ["-l", mountPoint]) }
    }

    /// Runs a system tool, returning its exit status (-1 when it cannot start).
    private func runTool(_ path: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Writes `path` until the file system is full.
    private func fill(_ path: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let chunk = [UInt8](repeating: 0x55, count: 4096)
        while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
    }

    /// The value of `taas_capture_storage_healthy` in the service's /metrics text.
    private func storageHealthy(port: Int) throws -> String? {
        try httpResponse(port: port, "GET", "/metrics").split(separator: "\n")
            .first { $0.hasPrefix("taas_capture_storage_healthy ") }.map { String($0.split(separator: " ")[1]) }
    }

    func testDiskFullIsRetryableAndTheServiceRecoversWhenSpaceReturns() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to mount a small tmpfs") }
        let small = workDirectory + "/small"
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        guard runTool("/bin/mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", small]) == 0 else {
            if ProcessInfo.processInfo.environment["CI"] != nil {
                XCTFail("CI runs as root but could not mount a tmpfs")
            }
            throw XCTSkip("cannot mount a tmpfs here")
        }
        mountPoint = small
        let port = Int.random(in: 20_000...60_000)
        try startService(db: small + "/captures.sqlite3", arguments: ["--metrics-listen", "127.0.0.1:\(port)"])
        XCTAssertEqual(try storageHealthy(port: port), "1.0")
        let client = try connect()
        let model = String(repeating: "m", count: 190)

        var acknowledged: [Int64] = []
        for index in 0..<20 {
            let response = try client.call(
                "taas.autorouter.record",
                ["sessionId": "oc:full", "headers": autoroutedHeaders(model: model, requestId: "before-\(index)")],
                id: .int(Int64(index)))
            if let id = response["result"]?["id"]?.int { acknowledged.append(id) }
        }
        XCTAssertEqual(acknowledged.count, 20, "records succeed while there is space")

        fill(small + "/filler")
        var refusal: JSON?
        for index in 0..<2000 where refusal == nil {
            let response = try client.call(
                "taas.autorouter.record",
                ["sessionId": "oc:full", "headers": autoroutedHeaders(model: model, requestId: "full-\(index)")],
                id: .int(Int64(1000 + index)))
            if let error = response["error"] {
                refusal = error
            } else if let id = response["result"]?["id"]?.int {
                acknowledged.append(id)
            }
        }
        let error = try XCTUnwrap(refusal, "a full disk must refuse a record")
        XCTAssertEqual(error["code"], -32000)
        XCTAssertEqual(error["data"]?["retryable"], true)
        XCTAssertEqual(error["data"]?["kind"], "full")
        XCTAssertEqual(try storageHealthy(port: port), "0.0", "a write failed with a storage error")
        let degraded = try client.result("taas.capture.health")
        XCTAssertEqual(degraded["status"], "degraded", degraded.encoded)
        XCTAssertEqual(degraded["storage"]?["ok"], false)
        XCTAssertEqual(degraded["storage"]?["kind"], "full")
        XCTAssertGreaterThanOrEqual(degraded["storage"]?["failedWrites"]?.int ?? 0, 1)
        XCTAssertNotNil(degraded["captures"]?.int, "the file's figures are still read while the disk is full")

        let last = try client.call("taas.autorouter.lastRoute", ["sessionId": "oc:full"], id: 5000)
        XCTAssertNotNil(last["result"]?["capture"]?["id"]?.int, "reads keep working while the disk is full")

        try FileManager.default.removeItem(atPath: small + "/filler")
        var recovered = false
        let deadline = Date().addingTimeInterval(10)
        var attempt: Int64 = 0
        while !recovered, Date() < deadline {
            attempt += 1
            let response = try client.call(
                "taas.autorouter.record",
                ["sessionId": "oc:full", "headers": autoroutedHeaders(model: model, requestId: "after-\(attempt)")],
                id: .int(6000 + attempt))
            if let id = response["result"]?["id"]?.int {
                acknowledged.append(id)
                recovered = true
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        XCTAssertTrue(recovered, "records succeed again once space is back, without a restart")
        XCTAssertEqual(try storageHealthy(port: port), "1.0", "healthy again at the next commit")
        let healed = try client.result("taas.capture.health")
        XCTAssertEqual(healed["status"], "ok", healed.encoded)
        XCTAssertEqual(healed["storage"]?["ok"], true)
        XCTAssertEqual(healed["storage"]?["failedWrites"], 0)

        let history = try client.call(
            "taas.autorouter.history", ["sessionId": "oc:full", "limit": 1000], id: 9000)
        let stored = Set((history["result"]?["captures"]?.array ?? []).compactMap { $0["id"]?.int })
        XCTAssertTrue(Set(acknowledged).isSubset(of: stored), "every acknowledged capture is stored")
    }
}
