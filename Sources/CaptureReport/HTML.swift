import Foundation

/// Escaping for pages: ids, model names and header values come from the network.
public enum HTML {
    /// `text` safe in element content and in double- or single-quoted attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// A query-string value: every byte but RFC 3986's unreserved characters percent-encoded, so no value can end the
    /// query, start a scheme or break out of the attribute it is written into.
    public static func queryValue(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }
}

/// The one place for how figures read, in pages and in the CLI's tables: numbers, money, ratios and times (UTC).
public enum Figures {
    /// "1 agent", "3 agents".
    public static func counted(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    /// One decimal place.
    public static func decimal(_ value: Double) -> String { String(format: "%.1f", value) }

    /// A ratio 0…1 as a percentage with one decimal, "-" when unknown.
    public static func percent(_ ratio: Double?) -> String { ratio.map { String(format: "%.1f%%", $0 * 100) } ?? "-" }

    /// An amount in USD with four decimals, "-" when unknown.
    public static func usd(_ amount: Double?) -> String { amount.map { String(format: "$%.4f", $0) } ?? "-" }

    /// Milliseconds since the epoch as `YYYY-MM-DD HH:MM` (UTC).
    public static func minute(_ ms: Int64) -> String {
        String(iso(ms).prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    /// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS.mmm` (UTC).
    public static func instant(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let text = formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
        return String(text.dropLast()).replacingOccurrences(of: "T", with: " ")
    }

    /// Milliseconds since the epoch as `YYYY-MM-DD` (UTC).
    public static func day(_ ms: Int64) -> String { String(iso(ms).prefix(10)) }

    private static func iso(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
