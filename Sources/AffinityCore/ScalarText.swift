// JavaScript compares and splits strings by code unit, Swift's `String` by grapheme cluster, so
// `"/\u{301}".hasPrefix("/")` is false in Swift and true in Node. Identity code must agree with the
// plugin, so it looks at Unicode scalars through these helpers.
extension String {
    /// Whether the Unicode scalars of `self` begin with those of `prefix` (JavaScript `startsWith`).
    func scalarsHavePrefix(_ prefix: String) -> Bool {
        unicodeScalars.starts(with: prefix.unicodeScalars)
    }

    /// `self` without the Unicode scalars of `prefix`, or nil when it does not start with them.
    func scalarsDroppingPrefix(_ prefix: String) -> String? {
        guard scalarsHavePrefix(prefix) else { return nil }
        return String(unicodeScalars.dropFirst(prefix.unicodeScalars.count))
    }

    /// The non-empty pieces between occurrences of the scalar `separator` (`"a//b/"` → `["a", "b"]`).
    func scalarSegments(separatedBy separator: Unicode.Scalar) -> [String] {
        unicodeScalars.split(separator: separator, omittingEmptySubsequences: true).map { String($0) }
    }
}
