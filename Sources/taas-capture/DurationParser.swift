import ArgumentParser

/// A duration given on the command line: `30d`, `12h`, `10m`, `45s`, `250ms`, or `0` (off).
struct CLIDuration: ExpressibleByArgument, Sendable, Hashable, CustomStringConvertible {
    let milliseconds: Int64

    init(milliseconds: Int64) { self.milliseconds = milliseconds }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        if text == "0" {
            self.milliseconds = 0
            return
        }
        let units: [(suffix: String, factor: Int64)] = [
            ("ms", 1), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let value = Int64(digits)
            else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: factor)
            guard !overflow else { return nil }
            self.milliseconds = product
            return
        }
        return nil
    }

    var description: String {
        if milliseconds == 0 { return "0" }
        for (suffix, factor) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)]
        where milliseconds % factor == 0 {
            return "\(milliseconds / factor)\(suffix)"
        }
        return "\(milliseconds)ms"
    }

    static var defaultCompletionKind: CompletionKind { .default }
}
