import Foundation

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
