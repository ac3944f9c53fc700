import AffinityCore
import NIOCore

/// Writing JSON straight into a `ByteBuffer`, without an intermediate tree.
extension ByteBuffer {
    /// Writes `s` as a JSON string: `"`, `\` and control characters are escaped, all else is copied.
    public mutating func writeJSONString(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            self.writeInteger(UInt8(ascii: "\""))
            var runStart = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                guard b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") else { continue }
                if runStart < i { self.writeBytes(UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                self.writeJSONEscape(b)
                runStart = i + 1
            }
            if runStart < utf8.count {
                self.writeBytes(UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            }
            self.writeInteger(UInt8(ascii: "\""))
        }
    }

    private mutating func writeJSONEscape(_ b: UInt8) {
        switch b {
        case UInt8(ascii: "\""): self.writeStaticString("\\\"")
        case UInt8(ascii: "\\"): self.writeStaticString("\\\\")
        case 0x0A: self.writeStaticString("\\n")
        case 0x0D: self.writeStaticString("\\r")
        case 0x09: self.writeStaticString("\\t")
        case 0x08: self.writeStaticString("\\b")
        case 0x0C: self.writeStaticString("\\f")
        default:
            let hex: StaticString = "0123456789abcdef"
            self.writeStaticString("\\u00")
            self.writeInteger(hex.utf8Start[Int(b >> 4)])
            self.writeInteger(hex.utf8Start[Int(b & 0x0F)])
        }
    }

    /// Writes `s` as a JSON string, or `null`.
    public mutating func writeJSONString(_ s: String?) {
        if let s { writeJSONString(s) } else { writeStaticString("null") }
    }

    /// Writes a decimal integer.
    public mutating func writeJSONInt(_ v: Int64) {
        if v >= 0, v < 10 {
            writeInteger(UInt8(ascii: "0") + UInt8(v))
            return
        }
        // 20 bytes hold any Int64 including the sign.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
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
            self.writeBytes(UnsafeRawBufferPointer(rebasing: raw[i...]))
        }
    }

    /// Writes an integer, or `null`.
    public mutating func writeJSONInt(_ v: Int64?) {
        if let v { writeJSONInt(v) } else { writeStaticString("null") }
    }

    /// Writes a double in its shortest round-trip form; non-finite values become `null`.
    public mutating func writeJSONDouble(_ d: Double) {
        guard d.isFinite else {
            writeStaticString("null")
            return
        }
        writeString(d.description)
    }

    /// Writes a double, or `null`.
    public mutating func writeJSONDouble(_ d: Double?) {
        if let d { writeJSONDouble(d) } else { writeStaticString("null") }
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

extension JSON {
    /// This value as compact JSON text.
    public var jsonText: String {
        var buffer = ByteBuffer()
        buffer.writeJSONValue(self)
        return String(buffer: buffer)
    }
}
