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
        var byName: [String: String] = [:]
        for (name, value) in headers {
            let key = asciiLowercased(name)
            if byName[key] == nil { byName[key] = value }
        }
        guard let autorouted = byName["x-taas-autorouted"],
            asciiLowercased(BoundedIdentity.trimJavaScriptWhitespace(autorouted)) == "true"
        else { return nil }

        func field(_ name: String) -> String? { BoundedIdentity.normalize(byName[name]) }
        return CaptureFields(
            taasRequestId: field("x-request-id") ?? field("x-taas-request-id"),
            taasTraceId: field("x-trace-id") ?? field("x-taas-trace-id"),
            openclawTurnId: field("x-openclaw-turn-id"),
            openclawAttempt: field("x-openclaw-attempt"),
            autorouterModel: field("x-taas-autorouter-model"),
            autorouterAlgo: field("x-taas-autorouter-mode"),
            autorouterAlgoSource: field("x-taas-autorouter-algorithm-source"),
            thinkingApplied: field("x-taas-thinking-applied"),
            routedContextWindow: field("x-taas-routed-context-window").flatMap(parseContextWindow)
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
