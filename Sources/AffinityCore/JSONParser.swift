/// Why a JSON text was rejected.
public struct JSONParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem it was.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        public static let syntax = Code(name: "syntax")
        public static let invalidUTF8 = Code(name: "invalidUTF8")
        public static let invalidEscape = Code(name: "invalidEscape")
        public static let tooDeep = Code(name: "tooDeep")
        public var description: String { name }
    }

    public var code: Code
    /// Byte offset into the input where the problem was found.
    public var offset: Int
    public var message: String

    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict RFC 8259 parser over bytes: one value with optional surrounding whitespace.
///
/// Strings must be valid UTF-8 (no overlongs, no encoded surrogates); `\u` escapes must pair
/// surrogates correctly; nesting deeper than `maxDepth` is rejected, which also bounds recursion.
public struct JSONParser: ~Copyable {
    /// The nesting limit used when none is given.
    public static let defaultMaxDepth = 64

    private let bytes: UnsafeRawBufferPointer
    private var pos = 0
    private let maxDepth: Int
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Parses exactly one JSON value from `bytes`.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSON {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.pos == bytes.count else { throw parser.error(.syntax, "unexpected data after the value") }
        return value
    }


    /// Parses a byte array.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        let result: Result<JSON, JSONParseError> = bytes.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Parses the UTF-8 of a string.
    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private func error(_ code: JSONParseError.Code, _ message: String) -> JSONParseError {
        JSONParseError(code: code, offset: pos, message: message)
    }

    private mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0A, 0x0D: pos += 1
            default: return
            }
        }
    }

    private mutating func parseValue() throws(JSONParseError) -> JSON {
        guard pos < bytes.count else { throw error(.syntax, "unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error(.syntax, "unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let n = literal.utf8CodeUnitCount
        guard bytes.count - pos >= n else { throw error(.syntax, "invalid literal") }
        let lit = literal.utf8Start
        for i in 0..<n where bytes[pos + i] != lit[i] { throw error(.syntax, "invalid literal") }
        pos += n
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw error(.tooDeep, "nesting deeper than \(maxDepth)") }
    }

    private mutating func parseArray() throws(JSONParseError) -> JSON {
        try enter()
        pos += 1
        var items: [JSON] = []
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") {
            pos += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try parseValue())
            skipWhitespace()
            guard pos < bytes.count else { throw error(.syntax, "unterminated array") }
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "]") { break }
            pos -= 1
            throw error(.syntax, "expected ',' or ']'")
        }
        depth -= 1
        return .array(items)
    }

    private mutating func parseObject() throws(JSONParseError) -> JSON {
        try enter()
        pos += 1
        var object = JSONObject()
        skipWhitespace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") {
            pos += 1
            depth -= 1
            return .object(object)
        }
        while true {
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw error(.syntax, "expected a key") }
            let key = try parseString()
            skipWhitespace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw error(.syntax, "expected ':'") }
            pos += 1
            skipWhitespace()
            object[key] = try parseValue()
            skipWhitespace()
            guard pos < bytes.count else { throw error(.syntax, "unterminated object") }
            let b = bytes[pos]
            pos += 1
            if b == UInt8(ascii: ",") { continue }
            if b == UInt8(ascii: "}") { break }
            pos -= 1
            throw error(.syntax, "expected ',' or '}'")
        }
        depth -= 1
        return .object(object)
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSON {
        let start = pos
        var negative = false
        if bytes[pos] == UInt8(ascii: "-") {
            negative = true
            pos += 1
        }
        guard pos < bytes.count, isDigit(bytes[pos]) else { throw error(.syntax, "invalid number") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else {
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        let intEnd = pos
        var integral = true
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            integral = false
            pos += 1
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw error(.syntax, "invalid number") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            integral = false
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            guard pos < bytes.count, isDigit(bytes[pos]) else { throw error(.syntax, "invalid number") }
            while pos < bytes.count, isDigit(bytes[pos]) { pos += 1 }
        }
        if integral {
            // Accumulate negatively so Int64.min parses; overflow falls through to Double.
            var value: Int64 = 0
            var overflow = false
            for i in (negative ? start + 1 : start)..<intEnd {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.subtractingReportingOverflow(Int64(bytes[i] &- UInt8(ascii: "0")))
                if o1 || o2 {
                    overflow = true
                    break
                }
                value = s
            }
            if !overflow {
                if !negative {
                    guard value != .min else { return .double(-Double(value)) }
                    value = -value
                }
                return .int(value)
            }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw error(.syntax, "number out of range") }
        return .double(d)
    }

    private func isDigit(_ b: UInt8) -> Bool { b &- UInt8(ascii: "0") < 10 }

    private mutating func parseString() throws(JSONParseError) -> String {
        pos += 1
        let start = pos
        // Fast path: no escapes, so the validated bytes are the string.
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
                pos += 1
                return s
            }
            if b == UInt8(ascii: "\\") { break }
            if b < 0x20 { throw error(.syntax, "control character in string") }
            if b < 0x80 { pos += 1 } else { try skipMultibyte() }
        }
        var out = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
        while pos < bytes.count {
            let b = bytes[pos]
            if b == UInt8(ascii: "\"") {
                pos += 1
                return String(decoding: out, as: UTF8.self)
            }
            if b == UInt8(ascii: "\\") {
                try parseEscape(into: &out)
            } else if b < 0x20 {
                throw error(.syntax, "control character in string")
            } else if b < 0x80 {
                out.append(b)
                pos += 1
            } else {
                let s = pos
                try skipMultibyte()
                out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[s..<pos]))
            }
        }
        throw error(.syntax, "unterminated string")
    }

    /// Validates one multi-byte UTF-8 sequence at `pos` (Unicode Table 3-7) and moves past it.
    private mutating func skipMultibyte() throws(JSONParseError) {
        let b0 = bytes[pos]
        var lo: UInt8 = 0x80
        var hi: UInt8 = 0xBF
        let count: Int
        switch b0 {
        case 0xC2...0xDF: count = 1
        case 0xE0: count = 2; lo = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: count = 2
        case 0xED: count = 2; hi = 0x9F
        case 0xF0: count = 3; lo = 0x90
        case 0xF1...0xF3: count = 3
        case 0xF4: count = 3; hi = 0x8F
        default: throw error(.invalidUTF8, "invalid UTF-8")
        }
        guard bytes.count - pos > count else { throw error(.invalidUTF8, "truncated UTF-8") }
        let b1 = bytes[pos + 1]
        guard b1 >= lo, b1 <= hi else { throw error(.invalidUTF8, "invalid UTF-8") }
        for i in 2..<(count + 1) where bytes[pos + i] & 0xC0 != 0x80 {
            throw error(.invalidUTF8, "invalid UTF-8")
        }
        pos += count + 1
    }

    private mutating func parseEscape(into out: inout [UInt8]) throws(JSONParseError) {
        guard bytes.count - pos >= 2 else { throw error(.invalidEscape, "truncated escape") }
        let c = bytes[pos + 1]
        pos += 2
        switch c {
        case UInt8(ascii: "\""): out.append(0x22)
        case UInt8(ascii: "\\"): out.append(0x5C)
        case UInt8(ascii: "/"): out.append(0x2F)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if scalar >= 0xD800, scalar <= 0xDBFF {
                guard bytes.count - pos >= 6, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                    throw error(.invalidEscape, "lone high surrogate")
                }
                pos += 2
                let low = try readHex4()
                guard low >= 0xDC00, low <= 0xDFFF else { throw error(.invalidEscape, "lone high surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if scalar >= 0xDC00, scalar <= 0xDFFF {
                throw error(.invalidEscape, "lone low surrogate")
            }
            appendUTF8(scalar, to: &out)
        default:
            pos -= 2
            throw error(.invalidEscape, "invalid escape")
        }
    }

    private mutating func readHex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw error(.invalidEscape, "truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[pos]
            let d: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
            default: throw error(.invalidEscape, "invalid \\u escape")
            }
            v = v << 4 | UInt32(d)
            pos += 1
        }
        return v
    }

    private func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}
