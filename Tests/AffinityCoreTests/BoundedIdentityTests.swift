import AffinityCore
import XCTest

final class BoundedIdentityTests: XCTestCase {
    func testValueIsTrimmedLikeJavaScript() {
        XCTAssertEqual(BoundedIdentity(" \u{A0}\u{FEFF}id\u{3000}\n")?.value, "id")
        XCTAssertEqual(BoundedIdentity("\u{85}id")?.value, "\u{85}id")
    }

    func testLengthIsCountedInUTF16CodeUnits() {
        XCTAssertNotNil(BoundedIdentity(String(repeating: "🚀", count: 100)))
        XCTAssertNil(BoundedIdentity(String(repeating: "🚀", count: 100) + "a"))
        XCTAssertNotNil(BoundedIdentity(String(repeating: "a", count: BoundedIdentity.maxLength)))
        XCTAssertNil(BoundedIdentity(String(repeating: "a", count: BoundedIdentity.maxLength + 1)))
    }

    func testControlCharactersAnywhereAreRejected() {
        for scalar in [0x00, 0x01, 0x09, 0x1B, 0x1F, 0x7F] {
            let text = "a" + String(Character(Unicode.Scalar(UInt8(scalar)))) + "b"
            XCTAssertNil(BoundedIdentity(text), "U+\(String(scalar, radix: 16))")
        }
        XCTAssertNotNil(BoundedIdentity("a\u{80}b"))
    }

    func testEmptyAndWhitespaceOnlyAreRejected() {
        XCTAssertNil(BoundedIdentity(""))
        XCTAssertNil(BoundedIdentity(" \t\r\n\u{2028}"))
        XCTAssertNil(BoundedIdentity.normalize(nil as String?))
    }

    func testNonStringJSONIsNeverAnIdentity() {
        for value: JSON in [.null, .bool(true), .int(7), .array([.string("a")]), obj([("a", .string("b"))])] {
            XCTAssertNil(BoundedIdentity.normalize(value))
        }
        XCTAssertEqual(BoundedIdentity.normalize(JSON.string(" a ")), "a")
    }
}

/// An object value from pairs in order.
private func obj(_ pairs: [(key: String, value: JSON)]) -> JSON { .object(JSONObject(pairs)) }
