import AffinityCore
import CaptureReport
import CaptureServer
import Foundation

/// Plain-text tables for people; scripts use `--json`.
enum Table {
    /// Prints rows under a header, each column as wide as its widest cell.
    static func print(header: [String], rows: [[String]]) {
        var widths = header.map(\.count)
        for row in rows {
            for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) }
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        Swift.print(line(header))
        for row in rows { Swift.print(line(row)) }
    }

    /// Prints `label: value` pairs, labels aligned.
    static func print(pairs: [(String, String)]) {
        let width = pairs.map(\.0.count).max() ?? 0
        for (label, value) in pairs {
            Swift.print((label + ":").padding(toLength: width + 1, withPad: " ", startingAt: 0) + " " + value)
        }
    }

    static let captureHeader = [
        "id", "captured at (UTC)", "session", "agent", "model", "algo", "source", "thinking", "ctx",
        "tokens in/out/cache read/write", "request id",
    ]

    /// One capture (the SPEC's wire shape) as a table row.
    static func captureRow(_ capture: JSON) -> [String] {
        [
            text(capture["id"]), timestamp(capture["capturedAt"]), text(capture["sessionId"]), text(capture["agentId"]),
            text(capture["autorouterModel"]), text(capture["autorouterAlgo"]), text(capture["autorouterAlgoSource"]),
            text(capture["thinkingApplied"]), text(capture["routedContextWindow"]), tokens(capture),
            text(capture["taasRequestId"]),
        ]
    }

    /// A capture's token counts as `in/out/read/write`, "-" when it has none.
    static func tokens(_ capture: JSON) -> String {
        let keys = ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"]
        guard keys.contains(where: { capture[$0]?.integerValue != nil }) else { return "-" }
        return keys.map { text(capture[$0]) }.joined(separator: "/")
    }

    /// The `usage` block of a stats result as label/value pairs; money sums are labelled estimates.
    static func usagePairs(_ usage: JSON?) -> [(String, String)] {
        guard let usage, usage["calls"]?.integerValue ?? 0 > 0 else { return [("calls with usage", "0")] }
        return [
            ("calls with usage", text(usage["calls"])),
            ("tokens in / out", "\(text(usage["inputTokens"])) / \(text(usage["outputTokens"]))"),
            ("cache read / write", "\(text(usage["cacheReadTokens"])) / \(text(usage["cacheWriteTokens"]))"),
            ("cache hit ratio", percent(usage["cacheHitRatio"])),
            ("cost (as reported)", usd(usage["costUsd"])),
            ("saved by cache (estimate)", usd(usage["cacheSavedUsd"])),
        ]
    }

    /// A ratio 0…1 as a percentage with one decimal, "-" when null.
    static func percent(_ value: JSON?) -> String { percent(number(value)) }
    static func percent(_ ratio: Double?) -> String { Figures.percent(ratio) }

    /// An amount in USD with four decimals, "-" when null.
    static func usd(_ value: JSON?) -> String { usd(number(value)) }
    static func usd(_ amount: Double?) -> String { Figures.usd(amount) }

    private static func number(_ value: JSON?) -> Double? {
        switch value {
        case .int(let i)?: Double(i)
        case .double(let d)?: d
        default: nil
        }
    }

    /// A JSON scalar as text; null and absent as "-".
    static func text(_ value: JSON?) -> String {
        switch value {
        case .none, .null?: return "-"
        case .string(let s)?: return s
        case .int(let i)?: return String(i)
        case .double(let d)?: return String(d)
        case .bool(let b)?: return String(b)
        case let other?: return other.jsonText
        }
    }

    /// Milliseconds since the epoch as an ISO 8601 UTC time.
    static func timestamp(_ value: JSON?) -> String {
        guard let ms = value?.integerValue else { return "-" }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
