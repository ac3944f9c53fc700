/// The position after the last capture of a history page: `(capturedAt, id)` of that capture, bound to the
/// selector it was issued for.
///
/// On the wire it is base64url (no padding) of `v1.<capturedAt>.<id>.<check>`, where `check` is 16 hex digits
/// of FNV-1a 64 over `v1.<capturedAt>.<id>.<selector scope>`. The check detects a cursor that was altered or is
/// used with another selector; it is not a secret (callers are the service's own uid).
struct HistoryCursor: Hashable {
    var capturedAt: Int64
    var id: Int64

    func encoded(for selector: CaptureSelector) -> String {
        let body = "v1.\(capturedAt).\(id)"
        return Base64URL.encode(Array("\(body).\(Self.check(body, selector))".utf8))
    }

    /// Parses a cursor issued for `selector`; anything else is `invalidCursor`.
    init(decoding text: String, for selector: CaptureSelector) throws(StoreError) {
        let invalid = StoreError(code: .invalidCursor, message: "the cursor is not one this store issued for this selector")
        guard text.utf8.count <= 200, let bytes = Base64URL.decode(text), Base64URL.encode(bytes) == text else {
            throw invalid
        }
        let parts = String(decoding: bytes, as: UTF8.self).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1",
            let capturedAt = Int64(parts[1]), String(capturedAt) == parts[1],
            let id = Int64(parts[2]), String(id) == parts[2]
        else { throw invalid }
        let body = "v1.\(capturedAt).\(id)"
        guard parts[3] == Self.check(body, selector) else { throw invalid }
        self.capturedAt = capturedAt
        self.id = id
    }

    init(capturedAt: Int64, id: Int64) {
        self.capturedAt = capturedAt
        self.id = id
    }

    private static func check(_ body: String, _ selector: CaptureSelector) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in "\(body).\(selector.scope)".utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// RFC 4648 §5 base64url without padding (history cursors, here and in the fleet's queries).
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var word: UInt32 = 0
            for (offset, byte) in chunk.enumerated() { word |= UInt32(byte) << (16 - 8 * UInt32(offset)) }
            for position in 0...chunk.count { out.append(alphabet[Int((word >> (18 - 6 * UInt32(position))) & 63)]) }
            index += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// nil when `text` holds a character outside the alphabet or has an impossible length.
    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        for byte in text.utf8 {
            guard let value = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt32(value))
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var index = 0
        while index < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var word: UInt32 = 0
            for (offset, value) in chunk.enumerated() { word |= value << (18 - 6 * UInt32(offset)) }
            for position in 0..<(chunk.count - 1) { out.append(UInt8((word >> (16 - 8 * UInt32(position))) & 0xff)) }
            index += 4
        }
        return out
    }
}
