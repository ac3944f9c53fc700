import CaptureStore

/// Inline SVG charts: no script, nothing fetched; every label escaped.
enum Charts {
    static let palette = ["#3b6fd4", "#e07b39", "#2e9d6b", "#c94f7c", "#7b5bc9", "#a8962f", "#3aa3b8", "#8c6d52", "#9aa1ab"]

    /// A color per model, in the report's model order.
    static func colors(_ data: ReportData) -> [String: String] {
        Dictionary(uniqueKeysWithValues: data.models.enumerated().map { ($1, palette[$0 % palette.count]) })
    }

    /// The first bucket's start and how many buckets the range spans.
    private static func span(_ data: ReportData) -> (first: Int64, count: Int) {
        let first = data.bucketStart(of: data.since)
        return (first, max(1, Int((data.until - first + data.bucketMs - 1) / data.bucketMs)))
    }

    static func stackedBars(_ data: ReportData, colors: [String: String]) -> String {
        let width = 960.0, height = 220.0, left = 40.0, bottom = 24.0
        let (first, count) = span(data)
        let peak = max(1, data.buckets.map { $0.byModel.values.reduce(0, +) }.max() ?? 1)
        let slot = (width - left) / Double(count)
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"served models over time\">"
        svg += "<text x=\"0\" y=\"12\">\(peak)</text><text x=\"0\" y=\"\(Int(height - bottom))\">0</text>"
        for bucket in data.buckets {
            let index = Double((bucket.start - first) / data.bucketMs)
            var y = height - bottom
            for model in data.models {
                guard let n = bucket.byModel[model], n > 0 else { continue }
                let h = (height - bottom - 16) * Double(n) / Double(peak)
                y -= h
                svg += "<rect x=\"\(Figures.decimal(left + index * slot + 1))\" y=\"\(Figures.decimal(y))\" "
                    + "width=\"\(Figures.decimal(max(1, slot - 2)))\" height=\"\(Figures.decimal(h))\" fill=\"\(colors[model] ?? "#999")\">"
                    + "<title>\(HTML.escape(model)): \(n)</title></rect>"
            }
        }
        svg += axisLabels(data, first: first, left: left, slot: slot, count: count, y: height - 6)
        return svg + "</svg>"
    }

    static func cacheLine(_ data: ReportData) -> String {
        let width = 960.0, height = 160.0, left = 40.0, bottom = 24.0
        let (first, count) = span(data)
        let slot = (width - left) / Double(count)
        let points = data.buckets.compactMap { bucket -> String? in
            guard let ratio = bucket.usage.cacheHitRatio else { return nil }
            let x = left + (Double((bucket.start - first) / data.bucketMs) + 0.5) * slot
            return "\(Figures.decimal(x)),\(Figures.decimal(height - bottom - (height - bottom - 12) * ratio))"
        }
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"cache hit ratio over time\">"
        svg += "<text x=\"0\" y=\"16\">100%</text><text x=\"0\" y=\"\(Int(height - bottom))\">0%</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#dde1e7\"/>"
        if points.isEmpty {
            svg += "<text x=\"\(left + 8)\" y=\"\(height / 2)\">no calls with usage in this range</text>"
        } else {
            svg += "<polyline fill=\"none\" stroke=\"#2e9d6b\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        }
        svg += axisLabels(data, first: first, left: left, slot: slot, count: count, y: height - 6)
        return svg + "</svg>"
    }

    private static func axisLabels(_ data: ReportData, first: Int64, left: Double, slot: Double, count: Int, y: Double) -> String {
        let every = max(1, count / 8)
        return stride(from: 0, to: count, by: every).map { i in
            let start = first + Int64(i) * data.bucketMs
            let label = data.bucketMs < 86_400_000 ? String(Figures.minute(start).dropFirst(11)) : String(Figures.day(start).dropFirst(5))
            return "<text x=\"\(Figures.decimal(left + Double(i) * slot))\" y=\"\(Figures.decimal(y))\">\(HTML.escape(label))</text>"
        }.joined()
    }

    static func legend(_ models: [String], colors: [String: String]) -> String {
        "<div class=\"legend\">"
            + models.map { "<span><i style=\"background:\(colors[$0] ?? "#999")\"></i>\(HTML.escape($0))</span>" }.joined()
            + "</div>"
    }

    /// Horizontal bars of the ten largest counts.
    static func mixBars(_ counts: [String: Int]) -> String {
        let total = max(1, counts.values.reduce(0, +))
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10)
        guard !sorted.isEmpty else { return "<p>No captures in this range.</p>" }
        var svg = "<svg viewBox=\"0 0 460 \(sorted.count * 22 + 4)\" width=\"100%\" role=\"img\">"
        for (i, entry) in sorted.enumerated() {
            let w = 260.0 * Double(entry.value) / Double(total)
            let y = i * 22 + 2
            svg += "<text x=\"0\" y=\"\(y + 14)\">\(HTML.escape(String(entry.key.prefix(24))))</text>"
            svg += "<rect x=\"150\" y=\"\(y + 3)\" width=\"\(Figures.decimal(max(1, w)))\" height=\"14\" fill=\"\(palette[i % palette.count])\"/>"
            svg += "<text x=\"\(Figures.decimal(156 + w))\" y=\"\(y + 14)\">\(entry.value) (\(entry.value * 100 / total)%)</text>"
        }
        return svg + "</svg>"
    }
}
