import CSQLite
import AffinityCore
import Foundation
import XCTest

@testable import CaptureStore

/// A fresh temporary directory per test, removed afterwards.
class StoreTestCase: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("capture-store-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String = "captures.sqlite3") -> String {
        directory.appendingPathComponent(name).path
    }

    func capture(
        session: String = "oc:session-a", agent: String? = "main", at capturedAt: Int64 = 1_700_000_000_000,
        requestId: String? = nil, idempotencyKey: String? = nil, model: String? = "model-x", turn: String? = nil
    ) -> NewCapture {
        NewCapture(
            sessionId: session, agentId: agent, capturedAt: capturedAt,
            fields: CaptureFields(
                taasRequestId: requestId, taasTraceId: "trace", openclawTurnId: turn, openclawAttempt: "1",
                autorouterModel: model, autorouterAlgo: "algo", autorouterAlgoSource: "source",
                thinkingApplied: "false", routedContextWindow: 128_000
            ),
            idempotencyKey: idempotencyKey
        )
    }

    /// Ids of every stored capture, ascending, read through a fresh reader.
    func storedIds(_ path: String) throws -> [Int64] {
        let connection = try Connection(path: path, flags: SQLITE_OPEN_READONLY, busyTimeoutMs: 1000)
        defer { connection.close() }
        let statement = try connection.prepare("SELECT id FROM captures ORDER BY id")
        var ids: [Int64] = []
        while try statement.step() { ids.append(statement.int64(at: 0)) }
        statement.reset()
        return ids
    }
}

/// SplitMix64, a small deterministic generator: the same values on every run, so a failure repeats.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
