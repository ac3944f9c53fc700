/// A string fit to be an identifier or a captured header value (SPEC "Bounded identity").
///
/// Rules, in order:
/// 1. Trim leading and trailing whitespace exactly as JavaScript's `String.prototype.trim` does
///    (U+0009–U+000D, U+0020, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F,
///    U+3000, U+FEFF; notably *not* U+0085 or U+180E), so the plugin and the service agree.
/// 2. The trimmed value must be 1–200 UTF-16 code units long — what JavaScript's `.length` counts,
///    so a character outside the Basic Multilingual Plane (an emoji) counts as 2.
/// 3. It must contain no C0 control character (U+0000–U+001F) and no U+007F anywhere. Other
///    characters, C1 controls (U+0080–U+009F) included, are allowed.
///
/// Anything else — including a JSON value that is not a string — is not a bounded identity.
public struct BoundedIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The longest allowed value, in UTF-16 code units.
    public static let maxLength = 200

    /// The trimmed, validated value.
    public let value: String

    /// Validates `raw`; nil when it is not a bounded identity.
    public init?(_ raw: String) {
        let trimmed = Self.trimJavaScriptWhitespace(raw)
        let length = trimmed.utf16.count
        guard length >= 1, length <= Self.maxLength else { return nil }
        guard !trimmed.unicodeScalars.contains(where: { $0.value <= 0x1F || $0.value == 0x7F }) else { return nil }
        value = trimmed
    }

    /// The trimmed value of `raw` when it is a bounded identity, else nil (nil in, nil out).
    public static func normalize(_ raw: String?) -> String? {
        raw.flatMap { BoundedIdentity($0)?.value }
    }

    /// The trimmed value when `json` is a string that is a bounded identity; nil for any other JSON value.
    public static func normalize(_ json: JSON) -> String? {
        if case .string(let string) = json { return normalize(string) }
        return nil
    }

    public var description: String { value }

    /// `String.prototype.trim` of JavaScript (ECMAScript WhiteSpace and LineTerminator code points).
    static func trimJavaScriptWhitespace(_ string: String) -> String {
        let scalars = string.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isJavaScriptWhitespace($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !isJavaScriptWhitespace($0) })!
        return String(scalars[first...last])
    }

    static func isJavaScriptWhitespace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
            return true
        default:
            return false
        }
    }
}
