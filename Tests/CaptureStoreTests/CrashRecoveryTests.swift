import Foundation
import XCTest

@testable import CaptureStore

/// A writer killed with SIGKILL mid-stream loses nothing it reported committed and leaves no partial batch.
final class CrashRecoveryTests: StoreTestCase {
    /// The `store-bench` helper, built beside this test bundle by `swift test` / `swift build`.
    private func helper() throws -> URL {
        let bundleDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let url = bundleDirectory.appendingPathComponent("store-bench")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw XCTSkip("store-bench is not built next to the test bundle (\(url.path)); run `swift build` first")
        }
        return url
    }

    func testKilledWriterLosesNoCommittedBatchAndLeavesNoPartialOne() throws {
        let database = path()
        let child = Process()
        child.executableURL = try helper()
        child.arguments = ["crash-writer", database]
        let output = Pipe()
        child.standardOutput = output
        try child.run()

        // Wait (without any clock) for enough committed batches, then kill mid-stream.
        var text = ""
        while text.split(separator: "\n").count < 40 {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        text += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(child.terminationReason, .uncaughtSignal)

        // Only whole lines count: the kill may cut the last one.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let reported: [(batch: String, lastId: Int64)] = lines.compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "committed", let id = Int64(parts[2]) else { return nil }
            return ("batch-\(parts[1])", id)
        }
        XCTAssertGreaterThanOrEqual(reported.count, 40)

        // Reopen as the service would after a restart (WAL recovery), then inspect.
        try CaptureWriter(path: database, durability: .normal).close()
        let reader = try CaptureReader(path: database)
        XCTAssertEqual(try reader.integrityCheck(), ["ok"])
        let statement = try reader.connection.prepare(
            "SELECT openclaw_turn_id, count(*), max(id) FROM captures GROUP BY openclaw_turn_id"
        )
        var stored: [String: (count: Int64, maxId: Int64)] = [:]
        while try statement.step() {
            stored[statement.string(at: 0)] = (statement.int64(at: 1), statement.int64(at: 2))
        }
        statement.reset()
        for (batch, lastId) in reported {
            XCTAssertEqual(stored[batch]?.maxId, lastId, "\(batch) was reported committed")
        }
        for (batch, row) in stored {
            XCTAssertEqual(row.count, 32, "\(batch) is partial")
        }
        // At most the batch being committed when the kill landed is stored without having been reported.
        XCTAssertLessThanOrEqual(stored.count - reported.count, 1)
    }
}
