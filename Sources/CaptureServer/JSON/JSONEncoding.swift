import AffinityCore
import NIOCore

/// JSON text written into raw bytes reserved beforehand: one reservation for a whole value (a capture is
/// about 40 pieces), where writing each piece into the `ByteBuffer` paid its capacity and exclusivity checks
/// every time (5 % of a history page's CPU). Callers reserve `bound(…)` bytes; every method stays within it.
struct JSONBytes {
    private let base: UnsafeMutableRawPointer
    private(set) var count = 0

    init(_ raw: UnsafeMutableRawBufferPointer) { base = raw.baseAddress! }

    /// The most bytes `string(s)` writes: quotes, and every byte escaped as `\u00XX`.
    static func bound(_ s: String) -> Int { 2 + 6 * s.utf8.count }
    static func bound(_ s: String?) -> Int { s.map(bound) ?? 4 }
    /// An Int64 with its sign, or `null`.
    static let intBound = 20
    /// A Double's shortest round-trip form (at most 24 characters, as `-1.7976931348623157e+308`), or `null`.
    static let doubleBound = 32

    mutating func byte(_ b: UInt8) {
        base.storeBytes(of: b, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    mutating func text(_ s: StaticString) {
        (base + count).copyMemory(from: s.utf8Start, byteCount: s.utf8CodeUnitCount)
        count += s.utf8CodeUnitCount
    }

    private mutating func bytes(_ run: UnsafeBufferPointer<UInt8>) {
        guard let start = run.baseAddress, !run.isEmpty else { return }
        (base + count).copyMemory(from: start, byteCount: run.count)
        count += run.count
    }

    /// `s` as a JSON string: `"`, `\` and control characters are escaped, all else is copied.
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            byte(UInt8(ascii: "\""))
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if runStart < i { bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                escape(b)
                runStart = i + 1
            }
            if runStart < utf8.count { bytes(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
            byte(UInt8(ascii: "\""))
        }
    }

    mutating func string(_ s: String?) {
        if let s { string(s) } else { text("null") }
    }

    private mutating func escape(_ b: UInt8) {
        _ = JSONText.escape(b) { byte($0) }
    }

    /// A decimal integer.
    mutating func int(_ v: Int64) {
        if v >= 0, v < 10 {
            byte(UInt8(ascii: "0") + UInt8(v))
            return
        }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes hold any Int64 with its sign
        withUnsafeMutableBytes(of: &digits) { raw in
            var n = v.magnitude
            var i = raw.count
            repeat {
                i -= 1
                raw[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            if v < 0 {
                i -= 1
                raw[i] = UInt8(ascii: "-")
            }
            let run = UnsafeRawBufferPointer(rebasing: raw[i...])
            (base + count).copyMemory(from: run.baseAddress!, byteCount: run.count)
            count += run.count
        }
    }

    mutating func int(_ v: Int64?) {
        if let v { int(v) } else { text("null") }
    }

    mutating func bool(_ b: Bool) { text(b ? "true" : "false") }

    /// A double in its shortest round-trip form (as `ByteBuffer.writeJSONDouble`); non-finite and nil are
    /// `null`. Within `doubleBound`.
    mutating func double(_ d: Double?) {
        guard let d, d.isFinite else { return text("null") }
        var description = d.description
        description.withUTF8 { bytes($0) }
    }
}

/// Writing JSON straight into a `ByteBuffer`, without an intermediate tree.
extension ByteBuffer {
    /// Writes into `bound` bytes reserved at the writer index, at most.
    mutating func writeJSON(bound: Int, _ body: (inout JSONBytes) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { raw in
            var out = JSONBytes(raw)
            body(&out)
            precondition(out.count <= bound, "JSON written past its reservation")
            return out.count
        }
    }

    /// Writes `s` as a JSON string: `"`, `\` and control characters are escaped, all else is copied.
    public mutating func writeJSONString(_ s: String) {
        writeJSON(bound: JSONBytes.bound(s)) { $0.string(s) }
    }

    /// Writes `s` as a JSON string, or `null`.
    public mutating func writeJSONString(_ s: String?) {
        if let s { writeJSONString(s) } else { writeStaticString("null") }
    }

    /// Writes a decimal integer.
    public mutating func writeJSONInt(_ v: Int64) {
        writeJSON(bound: JSONBytes.intBound) { $0.int(v) }
    }

    /// Writes an integer, or `null`.
    public mutating func writeJSONInt(_ v: Int64?) {
        if let v { writeJSONInt(v) } else { writeStaticString("null") }
    }

    /// Writes a double in its shortest round-trip form; non-finite values become `null`.
    public mutating func writeJSONDouble(_ d: Double) {
        writeJSON(bound: JSONBytes.doubleBound) { $0.double(d) }
    }

    /// Writes a double, or `null`.
    public mutating func writeJSONDouble(_ d: Double?) {
        writeJSON(bound: JSONBytes.doubleBound) { $0.double(d) }
    }

    /// Writes `true` or `false`.
    public mutating func writeJSONBool(_ b: Bool) {
        writeStaticString(b ? "true" : "false")
    }

    /// Writes any `JSON`, objects in their key order.
    public mutating func writeJSONValue(_ value: JSON) {
        switch value {
        case .null: writeStaticString("null")
        case .bool(let b): writeJSONBool(b)
        case .int(let i): writeJSONInt(i)
        case .double(let d): writeJSONDouble(d)
        case .string(let s): writeJSONString(s)
        case .array(let items):
            writeInteger(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSONValue(item)
            }
            writeInteger(UInt8(ascii: "]"))
        case .object(let object):
            writeInteger(UInt8(ascii: "{"))
            for (i, (key, item)) in object.entries.enumerated() {
                if i > 0 { writeInteger(UInt8(ascii: ",")) }
                writeJSONString(key)
                writeInteger(UInt8(ascii: ":"))
                writeJSONValue(item)
            }
            writeInteger(UInt8(ascii: "}"))
        }
    }
}
