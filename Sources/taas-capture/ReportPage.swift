import AffinityCore
import CaptureStore
import Foundation

/// The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.
enum ReportPage {
    static let palette = ["#3b6fd4", "#e07b39", "#2e9d6b", "#c94f7c", "#7b5bc9", "#a8962f", "#3aa3b8", "#8c6d52", "#9aa1ab"]

    static func html(_ data: ReportData, title: String, generatedAt: Int64) -> String {
        let colors = Dictionary(uniqueKeysWithValues: data.models.enumerated().map { ($1, palette[$0 % palette.count]) })
        var page = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title))</title>
            <style>\(css)</style></head><body>
            <header><h1>\(escape(title))</h1>
            <p class="meta">\(escape(day(data.since))) to \(escape(day(data.until))) · \(data.stats.total) calls · \
            \(data.stats.agents) agents · \(data.stats.sessions) sessions · generated \(escape(time(generatedAt))) UTC</p>
            \(summary(data))</header>
            """
        page += section("Served models over time", stackedBars(data, colors: colors) + legend(data.models, colors: colors))
        page += section("Cache hit ratio over time", cacheLine(data))
        page += section("Agents: which model serves each, since when", agentTable(data))
        page += "<div class=\"pair\">"
        page += section("Algorithm", mixBars(data.stats.byAlgo))
        page += section("Algorithm source", mixBars(data.stats.byAlgoSource))
        page += "</div>"
        page += section("Busiest sessions", sessionTable(data))
        page += "<footer>taas-capture report · figures marked “est.” are estimates from the model catalog's prices</footer></body></html>\n"
        return page
    }

    static let css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:24px auto;max-width:1000px;padding:0 16px}
        h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
        .meta{color:#5b6472;margin:0 0 12px}.cards{display:flex;gap:12px;flex-wrap:wrap}
        .card{border:1px solid #dde1e7;border-radius:6px;padding:8px 12px;min-width:140px}.card b{display:block;font-size:18px}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3}
        th{color:#5b6472;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
        .legend span{display:inline-block;margin:4px 12px 0 0}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
        .pair{display:grid;grid-template-columns:1fr 1fr;gap:24px}svg text{font-size:11px;fill:#5b6472}
        footer{color:#8a929e;font-size:12px;margin-top:32px}
        @media print{body{margin:0;max-width:none}h2{break-after:avoid}section{break-inside:avoid}}
        """

    static func section(_ title: String, _ body: String) -> String {
        "<section><h2>\(escape(title))</h2>\(body)</section>\n"
    }

    static func summary(_ data: ReportData) -> String {
        let u = data.stats.usage
        let cards = [
            ("calls with usage", "\(u.calls)"), ("cache hit ratio", percent(u.cacheHitRatio)),
            ("cost (as reported)", usd(u.costUsd)), ("saved by cache (est.)", usd(u.cacheSavedUsd)),
        ]
        return "<div class=\"cards\">" + cards.map { "<div class=\"card\">\(escape($0.0))<b>\(escape($0.1))</b></div>" }.joined() + "</div>"
    }

    static func stackedBars(_ data: ReportData, colors: [String: String]) -> String {
        let width = 960.0, height = 220.0, left = 40.0, bottom = 24.0
        let count = max(1, Int((data.until - data.since + data.bucketMs - 1) / data.bucketMs))
        let peak = max(1, data.buckets.map { $0.byModel.values.reduce(0, +) }.max() ?? 1)
        let slot = (width - left) / Double(count)
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"served models over time\">"
        svg += "<text x=\"0\" y=\"12\">\(peak)</text><text x=\"0\" y=\"\(Int(height - bottom))\">0</text>"
        for bucket in data.buckets {
            let index = Double((bucket.start - data.since) / data.bucketMs)
            var y = height - bottom
            for model in data.models {
                guard let n = bucket.byModel[model], n > 0 else { continue }
                let h = (height - bottom - 16) * Double(n) / Double(peak)
                y -= h
                svg += "<rect x=\"\(f(left + index * slot + 1))\" y=\"\(f(y))\" width=\"\(f(max(1, slot - 2)))\" height=\"\(f(h))\" fill=\"\(colors[model] ?? "#999")\"><title>\(escape(model)): \(n)</title></rect>"
            }
        }
        svg += axisLabels(data, left: left, slot: slot, count: count, y: height - 6)
        return svg + "</svg>"
    }

    static func cacheLine(_ data: ReportData) -> String {
        let width = 960.0, height = 160.0, left = 40.0, bottom = 24.0
        let count = max(1, Int((data.until - data.since + data.bucketMs - 1) / data.bucketMs))
        let slot = (width - left) / Double(count)
        let points = data.buckets.compactMap { bucket -> String? in
            guard let ratio = bucket.usage.cacheHitRatio else { return nil }
            let x = left + (Double((bucket.start - data.since) / data.bucketMs) + 0.5) * slot
            return "\(f(x)),\(f(height - bottom - (height - bottom - 12) * ratio))"
        }
        var svg = "<svg viewBox=\"0 0 \(Int(width)) \(Int(height))\" width=\"100%\" role=\"img\" aria-label=\"cache hit ratio over time\">"
        svg += "<text x=\"0\" y=\"16\">100%</text><text x=\"0\" y=\"\(Int(height - bottom))\">0%</text>"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width)\" y2=\"\(height - bottom)\" stroke=\"#dde1e7\"/>"
        if points.isEmpty {
            svg += "<text x=\"\(left + 8)\" y=\"\(height / 2)\">no calls with usage in this range</text>"
        } else {
            svg += "<polyline fill=\"none\" stroke=\"#2e9d6b\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        }
        svg += axisLabels(data, left: left, slot: slot, count: count, y: height - 6)
        return svg + "</svg>"
    }

    static func axisLabels(_ data: ReportData, left: Double, slot: Double, count: Int, y: Double) -> String {
        let every = max(1, count / 8)
        return stride(from: 0, to: count, by: every).map { i in
            let start = data.since + Int64(i) * data.bucketMs
            let label = data.bucketMs < 86_400_000 ? String(time(start).dropFirst(11).prefix(5)) : String(day(start).dropFirst(5))
            return "<text x=\"\(f(left + Double(i) * slot))\" y=\"\(f(y))\">\(escape(label))</text>"
        }.joined()
    }

    static func legend(_ models: [String], colors: [String: String]) -> String {
        "<div class=\"legend\">" + models.map { "<span><i style=\"background:\(colors[$0] ?? "#999")\"></i>\(escape($0))</span>" }.joined() + "</div>"
    }

    static func agentTable(_ data: ReportData) -> String {
        guard !data.agents.isEmpty else { return "<p>No captures with an agent in this range.</p>" }
        var rows = "<table><tr><th>agent</th><th>model now</th><th>since (UTC)</th><th class=n>route changes</th><th class=n>calls</th><th class=n>cache hit</th><th class=n>saved (est.)</th></tr>"
        for g in data.agents {
            rows += "<tr><td>\(escape(g.key))</td><td>\(escape(g.lastModel ?? "-"))</td><td>\(escape(g.modelSince.map(time) ?? "-"))</td>"
                + "<td class=n>\(data.routeChanges[g.key] ?? 0)</td><td class=n>\(g.captures)</td>"
                + "<td class=n>\(escape(percent(g.usage.cacheHitRatio)))</td><td class=n>\(escape(usd(g.usage.cacheSavedUsd)))</td></tr>"
        }
        return rows + "</table>"
    }

    static func sessionTable(_ data: ReportData) -> String {
        guard !data.sessions.isEmpty else { return "<p>No captures in this range.</p>" }
        var rows = "<table><tr><th>session</th><th>model now</th><th class=n>calls</th><th>last (UTC)</th><th class=n>cache hit</th></tr>"
        for g in data.sessions {
            rows += "<tr><td>\(escape(g.key))</td><td>\(escape(g.lastModel ?? "-"))</td><td class=n>\(g.captures)</td>"
                + "<td>\(escape(time(g.lastCapturedAt)))</td><td class=n>\(escape(percent(g.usage.cacheHitRatio)))</td></tr>"
        }
        return rows + "</table>"
    }

    static func mixBars(_ counts: [String: Int]) -> String {
        let total = max(1, counts.values.reduce(0, +))
        let sorted = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(10)
        guard !sorted.isEmpty else { return "<p>No captures in this range.</p>" }
        var svg = "<svg viewBox=\"0 0 460 \(sorted.count * 22 + 4)\" width=\"100%\" role=\"img\">"
        for (i, entry) in sorted.enumerated() {
            let w = 260.0 * Double(entry.value) / Double(total)
            let y = i * 22 + 2
            svg += "<text x=\"0\" y=\"\(y + 14)\">\(escape(String(entry.key.prefix(24))))</text>"
            svg += "<rect x=\"150\" y=\"\(y + 3)\" width=\"\(f(max(1, w)))\" height=\"14\" fill=\"\(palette[i % palette.count])\"/>"
            svg += "<text x=\"\(f(156 + w))\" y=\"\(y + 14)\">\(entry.value) (\(entry.value * 100 / total)%)</text>"
        }
        return svg + "</svg>"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func f(_ d: Double) -> String { String(format: "%.1f", d) }
    static func percent(_ r: Double?) -> String { Table.percent(r) }
    static func usd(_ v: Double?) -> String { Table.usd(v) }

    static func time(_ ms: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return String(formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)).prefix(16)).replacingOccurrences(of: "T", with: " ")
    }

    static func day(_ ms: Int64) -> String { String(time(ms).prefix(10)) }
}
