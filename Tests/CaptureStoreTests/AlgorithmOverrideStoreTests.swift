import AffinityCore
import XCTest

@testable import CaptureStore

final class AlgorithmOverrideStoreTests: StoreTestCase {
    func testClearingWhatWasNeverSetStoresNothing() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        let change = try writer.setAlgorithm(nil, for: .agent("nobody"), now: 5)
        XCTAssertEqual(change.current.version, 0)
        XCTAssertEqual(try CaptureReader(path: path()).algorithms(sinceVersion: 0), OverrideListing(overrides: [], version: 0))
    }

    func testANewPinPastTheActiveLimitIsRefusedButChangesAndClearsStillWork() throws {
        let writer = try CaptureWriter(path: path(), durability: .normal)
        try writer.connection.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(OverrideLimits.maxActive)) "
                + "INSERT INTO algorithm_overrides SELECT 'session', 'oc:' || i, 'cost', 1, i FROM n")
        XCTAssertThrowsError(try writer.setAlgorithm(.tps, for: .agent("one-too-many"), now: 2)) { error in
            XCTAssertEqual((error as? StoreError)?.code, .limitReached)
        }
        XCTAssertEqual(try writer.setAlgorithm(.tps, for: .session("oc:1"), now: 2).previous, .cost)
        XCTAssertEqual(try writer.setAlgorithm(nil, for: .session("oc:2"), now: 2).current.algorithm, nil)
        XCTAssertEqual(try writer.setAlgorithm(.ttft, for: .agent("now-fits"), now: 3).current.algorithm, .ttft)
        let reader = try CaptureReader(path: path())
        let page = try reader.algorithms(sinceVersion: 0)
        XCTAssertEqual(page.overrides.count, OverrideLimits.maxListed)
        XCTAssertEqual(page.version, page.overrides.last?.version, "a full page says where to go on")
        let rest = try reader.algorithms(sinceVersion: page.version)
        // Changed rows move to the end of the version order: the page ends with them, the rest follows.
        XCTAssertEqual(page.overrides.suffix(2).map(\.selector), [.session("oc:1"), .session("oc:2")])
        XCTAssertEqual(rest.overrides.map(\.selector), [.agent("now-fits")])
        XCTAssertEqual(rest.version, page.version + 1)
    }
}
