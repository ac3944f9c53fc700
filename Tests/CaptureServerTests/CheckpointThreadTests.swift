import CaptureServer
import Foundation
import XCTest

/// The service's checkpoints beside the writer (`CheckpointThread`), under a real load over the socket.
final class CheckpointThreadTests: XCTestCase {
    /// The WAL's `journal_size_limit`: a WAL that reached SQLite's own checkpoint size (16,384 frames of 24 + 4,096
    /// bytes, 67.5 MB) is cut back to exactly this when it starts over, and the writer alone lets it reach that size.
    private static let journalSizeLimit = 64 << 20

    func testTheWALStartsOverBeforeSQLitesOwnSizeAndShutdownEmptiesIt() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        let walPath = server.configuration.dbPath + "-wal"
        let first = try server.client()
        _ = try first.sendLine(Line.record(0, session: "oc:first"))
        let firstSalts = try Self.salts(walPath)

        // Four connections, each pipelining records of random sessions (every commit dirties pages all over the
        // indexes), 200 lines at a time.
        try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in 0..<4 {
                group.addTask {
                    let client = try server.client()
                    var recorded = 0
                    for chunk in 0..<20 {
                        for n in 0..<200 {
                            try client.writeLine(Line.record(n, session: "oc:c\(connection)-\(UInt32.random(in: 0..<1_000_000))"))
                        }
                        for _ in 0..<200 where try client.readLine().contains(#""recorded":true"#) { recorded += 1 }
                        _ = chunk
                    }
                    return recorded
                }
            }
            var recorded = 0
            for try await count in group { recorded += count }
            XCTAssertEqual(recorded, 16_000)
        }
        let health = try first.call("taas.capture.health")
        XCTAssertEqual(health["status"], .string("ok"))
        XCTAssertEqual(health["captures"]?.integerValue, 16_001)
        XCTAssertNotEqual(try Self.salts(walPath), firstSalts, "the WAL started over")
        let walBytes = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int)
        XCTAssertLessThan(walBytes, Self.journalSizeLimit, "the background copied the WAL before SQLite's own size")

        try await server.stop()
        let after = (try? FileManager.default.attributesOfItem(atPath: walPath)[.size] as? Int) ?? 0
        XCTAssertEqual(after, 0, "shutdown stopped the checkpoint thread, then truncated the WAL")
    }

    /// The WAL header's two salts (bytes 16–23), which change each time the WAL starts over.
    private static func salts(_ walPath: String) throws -> Data {
        let handle = try XCTUnwrap(FileHandle(forReadingAtPath: walPath))
        defer { try? handle.close() }
        let header = try XCTUnwrap(try handle.read(upToCount: 32))
        XCTAssertEqual(header.count, 32)
        return header.subdata(in: 16..<24)
    }
}
