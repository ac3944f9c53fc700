extension CaptureFields {
    /// The routed context window's upper bound, 2^31−1.
    public static let maxRoutedContextWindow = Int(Int32.max)

    /// Reads a capture from TaaS response headers (SPEC "The capture"); nil unless the response was autorouted.
    ///
    /// - Header names are matched ASCII case-insensitively; when a name occurs more than once, the
    ///   first occurrence wins.
    /// - The response counts as autorouted when `x-taas-autorouted`, trimmed, is `true` in any ASCII
    ///   case (`true`, `TRUE`, `True`); anything else (absent, `false`, `1`, `yes`) yields nil.
    /// - Every other value must be a bounded identity (`BoundedIdentity`, trimmed) or the field is nil.
    /// - `taasRequestId` is the first *usable* of `x-request-id`, `x-taas-request-id`: a present but
    ///   unusable `x-request-id` (blank, too long, control characters) falls back to the second;
    ///   likewise `taasTraceId` from `x-trace-id`, `x-taas-trace-id`.
    /// - `routedContextWindow` is the trimmed value when it consists only of ASCII digits and denotes
    ///   1…2^31−1. Leading zeros are allowed (`"05"` → 5); a sign, a decimal point, an exponent,
    ///   inner spaces or non-ASCII digits make it nil (`"+5"`, `"5.0"`, `"1e3"`, `"0"`, `"-1"`).
    public static func parse(headers: [(name: String, value: String)]) -> CaptureFields? {
        // One slot per header the capture reads, filled by a case-insensitive byte comparison: no
        // lowercased copies and no Dictionary per capture (this runs for every `record`).
        var slots = [String?](repeating: nil, count: CaptureHeader.allCases.count)
        for (name, value) in headers {
            if let header = CaptureHeader(matching: name), slots[header.rawValue] == nil {
                slots[header.rawValue] = value
            }
        }
        guard let autorouted = slots[CaptureHeader.autorouted.rawValue],
            asciiLowercased(BoundedIdentity.trimJavaScriptWhitespace(autorouted)) == "true"
        else { return nil }

        func field(_ header: CaptureHeader) -> String? { BoundedIdentity.normalize(slots[header.rawValue]) }
        return CaptureFields(
            taasRequestId: field(.requestId) ?? field(.taasRequestId),
            taasTraceId: field(.traceId) ?? field(.taasTraceId),
            openclawTurnId: field(.turnId),
            openclawAttempt: field(.attempt),
            autorouterModel: field(.model),
            autorouterAlgo: field(.mode),
            autorouterAlgoSource: field(.algorithmSource),
            thinkingApplied: field(.thinking),
            routedContextWindow: field(.contextWindow).flatMap(parseContextWindow)
        )
    }

    /// `parse(headers:)` over a dictionary. Should two keys differ only in case, the one that sorts
    /// first (by Unicode scalar values) wins, so the result does not depend on dictionary order.
    public static func parse(headers: [String: String]) -> CaptureFields? {
        let ordered = headers.sorted { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) }
        return parse(headers: ordered.map { (name: $0.key, value: $0.value) })
    }

    /// Plain ASCII decimal digits denoting 1…2^31−1, else nil.
    static func parseContextWindow(_ text: String) -> Int? {
        let digits = text.utf8
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        let significant = digits.drop(while: { $0 == UInt8(ascii: "0") })
        guard significant.count <= 10 else { return nil }
        let value = significant.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        return (1...maxRoutedContextWindow).contains(value) ? value : nil
    }
}

/// Lowercases A–Z only, as HTTP header names are compared; other characters are left alone.
private func asciiLowercased(_ string: String) -> String {
    String(
        decoding: string.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 },
        as: UTF8.self
    )
}

/// The response headers a capture is read from (SPEC "The capture"), by lowercase name.
private enum CaptureHeader: Int, CaseIterable {
    case autorouted, requestId, taasRequestId, traceId, taasTraceId, turnId, attempt, model, mode
    case algorithmSource, thinking, contextWindow

    private static let names: [[UInt8]] = allCases.map { Array($0.name.utf8) }

    var name: String {
        switch self {
        case .autorouted: "x-taas-autorouted"
        case .requestId: "x-request-id"
        case .taasRequestId: "x-taas-request-id"
        case .traceId: "x-trace-id"
        case .taasTraceId: "x-taas-trace-id"
        case .turnId: "x-openclaw-turn-id"
        case .attempt: "x-openclaw-attempt"
        case .model: "x-taas-autorouter-model"
        case .mode: "x-taas-autorouter-mode"
        case .algorithmSource: "x-taas-autorouter-algorithm-source"
        case .thinking: "x-taas-thinking-applied"
        case .contextWindow: "x-taas-routed-context-window"
        }
    }

    /// The header `name` denotes, compared ASCII case-insensitively; nil for any other header.
    init?(matching name: String) {
        let utf8 = name.utf8
        let count = utf8.count
        for (i, candidate) in Self.names.enumerated() where candidate.count == count {
            let equal = zip(utf8, candidate).allSatisfy { byte, lower in
                (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte) == lower
            }
            if equal {
                self.init(rawValue: i)
                return
            }
        }
        return nil
    }
}
