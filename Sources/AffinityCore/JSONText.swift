/// JSON values as text, for what is not on a hot path: the CLI's output, the client's requests. The service
/// writes its answers straight into `ByteBuffer`s (CaptureServer's `JSONBytes`) with the same escaping
/// rule, `JSONText.escape`.
public enum JSONText {
    /// Emits the escape of `b` inside a JSON string: `"`, `\` and control characters are escaped (short
    /// forms where JSON has them, else `\u00XX`); returns false, emitting nothing, for a byte copied as is.
    @inlinable
    public static func escape(_ b: UInt8, _ emit: (UInt8) -> Void) -> Bool {
        let short: UInt8
        switch b {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0D: short = UInt8(ascii: "r")
        case 0x09: short = UInt8(ascii: "t")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        case 0..<0x20:
            let hex: StaticString = "0123456789abcdef"
            for c in "\\u00".utf8 { emit(c) }
            emit(hex.utf8Start[Int(b >> 4)])
            emit(hex.utf8Start[Int(b & 0x0F)])
            return true
        default: return false
        }
        emit(UInt8(ascii: "\\"))
        emit(short)
        return true
    }

    /// Appends `value` as compact JSON, objects in their key order.
    public static func write(_ value: JSON, into out: inout [UInt8]) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        // The shortest round-trip form; JSON has no non-finite numbers.
        case .double(let d): out.append(contentsOf: (d.isFinite ? d.description : "null").utf8)
        case .string(let s): write(string: s, into: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            out.append(UInt8(ascii: "{"))
            for (i, (key, item)) in object.entries.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                write(string: key, into: &out)
                out.append(UInt8(ascii: ":"))
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func write(string s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 where !escape(b, { out.append($0) }) {
            out.append(b)
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension JSON {
    /// This value as compact JSON text, objects in their key order.
    public var jsonText: String {
        var out: [UInt8] = []
        JSONText.write(self, into: &out)
        return String(decoding: out, as: UTF8.self)
    }
}
