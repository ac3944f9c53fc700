import AffinityCore
import CaptureServer
import NIOCore
import XCTest

final class JSONParserTests: XCTestCase {
    private func parse(_ text: String) throws -> JSON { try JSONParser.parse(text) }

    private func assertRejects(_ bytes: [UInt8], _ code: JSONParseError.Code, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try JSONParser.parse(bytes), file: file, line: line) { error in
            XCTAssertEqual((error as? JSONParseError)?.code, code, "\(error)", file: file, line: line)
        }
    }

    func testParsesScalarsAndContainers() throws {
        XCTAssertEqual(try parse(" null "), .null)
        XCTAssertEqual(try parse("true"), .bool(true))
        XCTAssertEqual(try parse("[1,\"a\",{}]"), .array([.int(1), .string("a"), .object(JSONObject())]))
        let object = try parse(#"{"b":1,"a":[false]}"#)
        XCTAssertEqual(object.objectValue?.keys, ["b", "a"])
    }

    func testIntegersStayIntegersAndOthersBecomeDoubles() throws {
        XCTAssertEqual(try parse("9223372036854775807"), .int(.max))
        XCTAssertEqual(try parse("-9223372036854775808"), .int(.min))
        XCTAssertEqual(try parse("9223372036854775808"), .double(9_223_372_036_854_775_808))
        XCTAssertEqual(try parse("1.5"), .double(1.5))
        XCTAssertEqual(try parse("1e3"), .double(1000))
        XCTAssertEqual(try parse("1e3").integerValue, 1000)
        XCTAssertEqual(try parse("-0"), .int(0))
        XCTAssertNil(try parse("1.5").integerValue)
        for bad in ["01", "1.", ".5", "-", "+1", "1e", "NaN", "1e999"] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testDuplicateKeysLastValueWinsFirstPositionKept() throws {
        let object = try parse(#"{"a":1,"b":2,"a":3}"#).objectValue
        XCTAssertEqual(object?.keys, ["a", "b"])
        XCTAssertEqual(object?["a"], .int(3))
    }

    func testEscapesAndSurrogatePairs() throws {
        XCTAssertEqual(try parse(#""a\"\\\/\b\f\n\r\t""#), .string("a\"\\/\u{8}\u{c}\n\r\t"))
        XCTAssertEqual(try parse(#""\u00e9\u20AC""#), .string("é€"))
        XCTAssertEqual(try parse(#""\ud83d\ude00""#), .string("😀"))
        assertRejects(Array(#""\ud83d""#.utf8), .invalidEscape)
        assertRejects(Array(#""\ud83dx""#.utf8), .invalidEscape)
        assertRejects(Array(#""\ude00""#.utf8), .invalidEscape)
        assertRejects(Array(#""\ud83d\u0041""#.utf8), .invalidEscape)
        assertRejects(Array(#""\x""#.utf8), .invalidEscape)
        assertRejects(Array(#""\u12g4""#.utf8), .invalidEscape)
    }

    func testInvalidUTF8IsRejected() {
        let quote = UInt8(ascii: "\"")
        assertRejects([quote, 0xC3, quote], .invalidUTF8)  // truncated
        assertRejects([quote, 0xC0, 0xAF, quote], .invalidUTF8)  // overlong
        assertRejects([quote, 0xED, 0xA0, 0x80, quote], .invalidUTF8)  // encoded surrogate
        assertRejects([quote, 0xF4, 0x90, 0x80, 0x80, quote], .invalidUTF8)  // above U+10FFFF
        assertRejects([quote, 0xFF, quote], .invalidUTF8)
        assertRejects([quote, 0x5C, 0x6E, 0xE2, 0x82, quote], .invalidUTF8)  // after an escape
        XCTAssertEqual(try JSONParser.parse([quote, 0xF0, 0x9F, 0x98, 0x80, quote]), .string("😀"))
    }

    func testControlCharactersInStringsAreRejected() {
        assertRejects(Array("\"a\u{1}\"".utf8), .syntax)
        assertRejects(Array("\"a\nb\"".utf8), .syntax)
    }

    func testNestingDepthIsBounded() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        XCTAssertNoThrow(try parse(ok))
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        assertRejects(Array(deep.utf8), .tooDeep)
        let hostile = String(repeating: "{\"a\":", count: 100_000)
        assertRejects(Array(hostile.utf8), .tooDeep)
    }

    func testTrailingDataAndTruncationAreRejected() {
        for bad in ["", "1 2", "{\"a\":1", "[1,]", "{\"a\" 1}", "{,}", "tru", "\"abc"] {
            XCTAssertThrowsError(try parse(bad), bad)
        }
    }

    func testEncoderEscapesAndRoundTrips() throws {
        var buffer = ByteBuffer()
        buffer.writeJSONString("a\"b\\c\n\u{1}é😀")
        XCTAssertEqual(String(buffer: buffer), #""a\"b\\c\n\u0001é😀""#)
        let value: JSON = .object(
            JSONObject(["z": .int(-42), "a": .array([.double(1.5), .null, .bool(false)]), "s": .string("\u{7f}\t")])
        )
        XCTAssertEqual(value.jsonText, #"{"z":-42,"a":[1.5,null,false],"s":"\#u{7f}\t"}"#)
        XCTAssertEqual(try JSONParser.parse(value.jsonText), value)
        var ints = ByteBuffer()
        for i: Int64 in [0, 7, 10, -1, .max, .min] {
            ints.writeJSONInt(i)
            ints.writeStaticString(" ")
        }
        XCTAssertEqual(String(buffer: ints), "0 7 10 -1 9223372036854775807 -9223372036854775808 ")
    }

    func testKeysAreComparedByUnicodeScalarsAsJavaScriptDoes() throws {
        // "é" precomposed and decomposed are two keys in JavaScript; Swift's String == would merge them.
        let object = try XCTUnwrap(try parse(#"{"\u00e9":1,"e\u0301":2,"\u00e9":3}"#).objectValue)
        XCTAssertEqual(object.count, 2)
        XCTAssertEqual(object["\u{E9}"], .int(3), "a repeated key takes the last value")
        XCTAssertEqual(object["e\u{301}"], .int(2))
        XCTAssertNotEqual(JSON.string("\u{E9}"), JSON.string("e\u{301}"))
    }

    func testEqualObjectsHashAlikeWhateverTheirKeyOrder() throws {
        let a = try parse(#"{"a":1,"b":[true,null]}"#)
        let b = try parse(#"{"b":[true,null],"a":1}"#)
        XCTAssertEqual(a, b)
        XCTAssertEqual(Set([a, b]).count, 1)
        XCTAssertNotEqual(try parse("[1,2]"), try parse("[2,1]"))
        XCTAssertNotEqual(JSON.int(1), JSON.double(1))
    }
}
