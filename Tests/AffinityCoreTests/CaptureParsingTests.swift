import AffinityCore
import XCTest

final class CaptureParsingTests: XCTestCase {
    func testNothingIsCapturedUnlessAutorouted() {
        XCTAssertNil(CaptureFields.parse(headers: ["X-TaaS-Autorouter-Model": "m"]))
        XCTAssertNil(CaptureFields.parse(headers: ["x-taas-autorouted": "false", "x-taas-autorouter-model": "m"]))
        XCTAssertNil(CaptureFields.parse(headers: ["x-taas-autorouted": "yes"]))
    }

    func testAutoroutedValueAndHeaderNamesIgnoreCase() {
        let fields = CaptureFields.parse(headers: ["X-TAAS-AUTOROUTED": "TRUE", "X-TaaS-Autorouter-Mode": "fast"])
        XCTAssertEqual(fields?.autorouterAlgo, "fast")
    }

    func testAutoroutedWithNoFieldsIsAnEmptyCapture() {
        XCTAssertEqual(CaptureFields.parse(headers: ["x-taas-autorouted": "true"]), CaptureFields())
    }

    func testUnusablePrimaryRequestIdFallsBackToTheTaasHeader() {
        let fields = CaptureFields.parse(headers: [
            (name: "x-taas-autorouted", value: "true"),
            (name: "x-request-id", value: "bad\u{1}"),
            (name: "x-taas-request-id", value: "taas-1"),
            (name: "x-trace-id", value: "t-1"),
            (name: "x-taas-trace-id", value: "taas-t-1"),
        ])
        XCTAssertEqual(fields?.taasRequestId, "taas-1")
        XCTAssertEqual(fields?.taasTraceId, "t-1")
    }

    func testFirstOfRepeatedHeaderNamesWins() {
        let fields = CaptureFields.parse(headers: [
            (name: "x-taas-autorouted", value: "true"),
            (name: "X-TaaS-Autorouter-Model", value: "first"),
            (name: "x-taas-autorouter-model", value: "second"),
        ])
        XCTAssertEqual(fields?.autorouterModel, "first")
    }

    func testDictionaryInputIsIndependentOfDictionaryOrder() {
        let headers = ["x-taas-autorouted": "true", "X-TaaS-Autorouter-Model": "upper", "x-taas-autorouter-model": "lower"]
        XCTAssertEqual(CaptureFields.parse(headers: headers)?.autorouterModel, "upper")
    }

    func testRoutedContextWindowAcceptsOnlyPlainDigitsInRange() {
        func window(_ value: String) -> Int? {
            CaptureFields.parse(headers: ["x-taas-autorouted": "true", "x-taas-routed-context-window": value])?.routedContextWindow
        }
        XCTAssertEqual(window("2147483647"), 2_147_483_647)
        XCTAssertEqual(window("05"), 5)
        XCTAssertEqual(window(" 128000 "), 128_000)
        for rejected in ["0", "-1", "+5", "5.0", "1e3", "abc", "", "2147483648", "\u{665}", "1 000", String(repeating: "9", count: 40)] {
            XCTAssertNil(window(rejected), rejected)
        }
    }

    func testHeaderValuesThatAreNotBoundedIdentitiesBecomeNull() {
        let fields = CaptureFields.parse(headers: [
            "x-taas-autorouted": "true",
            "x-taas-thinking-applied": String(repeating: "x", count: 201),
            "x-openclaw-turn-id": "  turn-1  ",
        ])
        XCTAssertNil(fields?.thinkingApplied)
        XCTAssertEqual(fields?.openclawTurnId, "turn-1")
    }
}
