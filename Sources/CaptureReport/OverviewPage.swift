import CaptureStore

/// The one renderer of `taas-capture report` and the dashboard tab (SPEC v3): self-contained HTML pages, inline CSS
/// and SVG, no script, nothing fetched, every stored string escaped.
public enum Pages {
    /// The page `request` asks for, read from `reader` in one snapshot per part. `links`: the dashboard's pages link
    /// to each other with query-relative links; a report file written to disk has none.
    public static func html(
        _ request: PageRequest, reader: CaptureReader, now: Int64, links: Bool
    ) throws(StoreError) -> String {
        let (since, until) = request.range(now: now)
        let page = Layout(request: request, since: since, until: until, now: now, links: links)
        switch request.view {
        case .overview:
            let data = try reader.report(selector: nil, since: since, until: until)
            let budgets = try reader.budgets(now: now)
            return page.render(title: "taas-capture", body: overview(data, page) + budgetSection(budgets, page))
        case .agent:
            let agent = request.agentId ?? ""
            let data = try reader.report(selector: .agent(agent), since: since, until: until, sessionLimit: 50)
            return page.render(title: "agent " + agent, body: AgentPage.body(data, agent: agent, page))
        case .session:
            let session = request.sessionId ?? ""
            return try SessionPage.html(request, session: session, reader: reader, page: page)
        }
    }

    static func overview(_ data: ReportData, _ page: Layout) -> String {
        let colors = Charts.colors(data)
        var body = page.summary(
            data.stats, extra: Figures.counted(data.stats.agents, "agent") + " · " + Figures.counted(data.stats.sessions, "session"))
        body += Layout.section("Served models over time", Charts.stackedBars(data, colors: colors) + Charts.legend(data.models, colors: colors))
        body += Layout.section("Cache hit ratio over time", Charts.cacheLine(data))
        body += Layout.section("Agents: which model serves each, since when", agentTable(data, page))
        body += "<div class=\"pair\">"
        body += Layout.section("Algorithm", Charts.mixBars(data.stats.byAlgo))
        body += Layout.section("Algorithm source", Charts.mixBars(data.stats.byAlgoSource))
        body += "</div>"
        body += Layout.section("Busiest sessions", sessionTable(data.sessions, page))
        body += Layout.section("Spend by what started the run", triggerTable(data.triggers))
        return body
    }

    /// Captures and spend by trigger (a user message, cron, heartbeat, … as the host names it).
    static func triggerTable(_ triggers: [StatsGroup]) -> String {
        guard !triggers.isEmpty else { return "<p>No captures in this range.</p>" }
        var rows = "<table><tr><th>trigger</th><th class=n>calls</th><th class=n>models</th><th class=n>route changes</th>"
            + "<th class=n>cache hit</th><th class=n>cost</th><th class=n>saved (est.)</th></tr>"
        for g in triggers {
            rows += "<tr><td class=id>\(HTML.escape(g.key))</td><td class=n>\(g.captures)</td><td class=n>\(g.models)</td>"
                + "<td class=n>\(g.routeChanges ?? 0)</td><td class=n>\(Figures.percent(g.usage.cacheHitRatio))</td>"
                + "<td class=n>\(Figures.usd(g.usage.costUsd))</td><td class=n>\(Figures.usd(g.usage.cacheSavedUsd))</td></tr>"
        }
        return rows + "</table>"
    }

    /// Budgets with today's spend (UTC), when any is set: they only warn.
    static func budgetSection(_ listing: BudgetListing, _ page: Layout) -> String {
        guard !listing.budgets.isEmpty else { return "" }
        var rows = "<table><tr><th>subject</th><th class=n>USD a day</th><th class=n>spent today</th><th></th></tr>"
        for standing in listing.budgets {
            let subject: String
            switch standing.budget.subject {
            case .agent(let id): subject = "agent " + page.agentLink(id)
            case .session(let id): subject = "session " + page.sessionLink(id)
            }
            rows += "<tr><td class=id>\(subject)</td><td class=n>\(Figures.usd(standing.budget.usdPerDay))</td>"
                + "<td class=n>\(Figures.usd(standing.spentTodayUsd))</td><td>\(standing.exceeded ? "<b>exceeded</b>" : "")</td></tr>"
        }
        let title = "Budgets, \(UTCDate(containing: listing.dayStart).text) UTC (warn only: no call is blocked)"
        return Layout.section(title, rows + "</table>")
    }

    static func agentTable(_ data: ReportData, _ page: Layout) -> String {
        guard !data.agents.isEmpty else { return "<p>No captures with an agent in this range.</p>" }
        var rows = "<table><tr><th>agent</th><th>model now</th><th>since (UTC)</th><th class=n>route changes</th>"
            + "<th class=n>calls</th><th class=n>cache hit</th><th class=n>cost</th><th class=n>saved (est.)</th></tr>"
        for g in data.agents {
            rows += "<tr><td class=id>\(page.agentLink(g.key))</td><td class=id>\(HTML.escape(g.lastModel ?? "-"))</td>"
                + "<td class=t>\(HTML.escape(g.modelSince.map(Figures.minute) ?? "-"))</td>"
                + "<td class=n>\(g.routeChanges ?? 0)</td><td class=n>\(g.captures)</td>"
                + "<td class=n>\(Figures.percent(g.usage.cacheHitRatio))</td><td class=n>\(Figures.usd(g.usage.costUsd))</td>"
                + "<td class=n>\(Figures.usd(g.usage.cacheSavedUsd))</td></tr>"
        }
        return rows + "</table>"
    }

    static func sessionTable(_ sessions: [StatsGroup], _ page: Layout) -> String {
        guard !sessions.isEmpty else { return "<p>No captures in this range.</p>" }
        var rows = "<table><tr><th>session</th><th>model now</th><th class=n>calls</th><th>last (UTC)</th>"
            + "<th class=n>route changes</th><th class=n>cache hit</th><th class=n>cost</th></tr>"
        for g in sessions {
            rows += "<tr><td class=id>\(page.sessionLink(g.key))</td><td class=id>\(HTML.escape(g.lastModel ?? "-"))</td>"
                + "<td class=n>\(g.captures)</td><td class=t>\(HTML.escape(Figures.minute(g.lastCapturedAt)))</td>"
                + "<td class=n>\(g.routeChanges ?? 0)</td><td class=n>\(Figures.percent(g.usage.cacheHitRatio))</td>"
                + "<td class=n>\(Figures.usd(g.usage.costUsd))</td></tr>"
        }
        return rows + "</table>"
    }
}

/// The frame every page shares: head, range and navigation, cards, footer.
struct Layout {
    let request: PageRequest
    let since: Int64
    let until: Int64
    let now: Int64
    let links: Bool

    func render(title: String, body: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(HTML.escape(title))</title>
        <style>\(Self.css)</style></head><body>
        <header><h1>\(HTML.escape(title))</h1>
        <p class="meta">\(HTML.escape(Figures.minute(since))) to \(HTML.escape(Figures.minute(until))) UTC · generated \
        \(HTML.escape(Figures.minute(now))) UTC</p>\(navigation)</header>
        \(body)<footer>taas-capture · figures marked “est.” are estimates from the model catalog's prices</footer></body></html>

        """
    }

    static let css = """
        body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:24px auto;max-width:1000px;padding:0 16px}
        h1{font-size:22px;margin:0 0 4px;overflow-wrap:anywhere}h2{font-size:16px;margin:28px 0 8px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
        .meta{color:#5b6472;margin:0 0 12px}.cards{display:flex;gap:12px;flex-wrap:wrap}
        .card{border:1px solid #dde1e7;border-radius:6px;padding:8px 12px;min-width:140px}.card b{display:block;font-size:18px}
        table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f3}
        th{color:#5b6472;font-weight:600;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        td.t{white-space:nowrap}td.id{overflow-wrap:anywhere}
        .legend span{display:inline-block;margin:4px 12px 0 0;overflow-wrap:anywhere;max-width:100%}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
        .pair{display:grid;grid-template-columns:1fr 1fr;gap:24px}svg text{font-size:11px;fill:#5b6472}
        nav{margin:0 0 12px}nav a,nav b{margin-right:10px}a{color:#3b6fd4}
        footer{color:#8a929e;font-size:12px;margin-top:32px}
        @media print{body{margin:0;max-width:none}h2{break-after:avoid}section{break-inside:avoid}nav{display:none}}
        """

    static func section(_ title: String, _ body: String) -> String {
        "<section><h2>\(HTML.escape(title))</h2>\(body)</section>\n"
    }

    /// The range presets and the way back to the overview (dashboard pages only).
    var navigation: String {
        guard links else { return "" }
        var nav = "<nav>"
        if request.view != .overview { nav += link(to: request.linking(.overview), "overview") + " " }
        for preset in PageRequest.Preset.allCases {
            var other = request
            other.preset = preset
            other.since = nil
            other.until = nil
            other.cursor = nil
            let current = request.since == nil && request.until == nil && (request.preset ?? PageRequest.defaultPreset) == preset
            nav += current ? "<b>\(preset.rawValue)</b>" : link(to: other, preset.rawValue)
        }
        return nav + "</nav>"
    }

    func link(to target: PageRequest, _ text: String) -> String {
        "<a href=\"\(HTML.escape(target.query))\">\(HTML.escape(text))</a>"
    }

    func agentLink(_ agent: String) -> String {
        links ? link(to: request.linking(.agent, agentId: agent), agent) : HTML.escape(agent)
    }

    func sessionLink(_ session: String) -> String {
        links ? link(to: request.linking(.session, sessionId: session), session) : HTML.escape(session)
    }

    /// The cards: calls, cache hit ratio, cost, savings and route changes, then `extra` counts.
    func summary(_ stats: Stats, extra: String) -> String {
        let u = stats.usage
        let cards = [
            ("calls", "\(stats.total)"), ("calls with usage", "\(u.calls)"), ("cache hit ratio", Figures.percent(u.cacheHitRatio)),
            ("cost (as reported)", Figures.usd(u.costUsd)), ("saved by cache (est.)", Figures.usd(u.cacheSavedUsd)),
            ("route changes", "\(stats.routeChanges ?? 0)"),
        ]
        return "<p class=\"meta\">\(HTML.escape(extra))</p><div class=\"cards\">"
            + cards.map { "<div class=\"card\">\(HTML.escape($0.0))<b>\(HTML.escape($0.1))</b></div>" }.joined() + "</div>"
    }
}
