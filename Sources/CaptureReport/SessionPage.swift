import AffinityCore
import CaptureStore

/// One session: its captures newest first, a page at a time through the history cursor.
enum SessionPage {
    static func html(
        _ request: PageRequest, session: String, reader: CaptureReader, page: Layout
    ) throws(StoreError) -> String {
        let stats = try reader.stats(.session(session), since: page.since, until: page.until, groupBy: .agent, limit: 10)
        let history = try reader.history(
            HistoryQuery(
                selector: .session(session), limit: PageRequest.sessionPageSize, cursor: request.cursor,
                since: page.since, until: page.until))
        var body = page.summary(stats, extra: Figures.counted(stats.agents, "agent"))
        let agents = (stats.groups ?? []).map { page.agentLink($0.key) }
        if !agents.isEmpty { body += "<p>Agent: \(agents.joined(separator: ", "))</p>" }
        body += Layout.section(request.cursor == nil ? "Calls, newest first" : "Older calls", captureTable(history.captures))
        if page.links {
            var more: [String] = []
            if request.cursor != nil { more.append(page.link(to: request.linking(.session, sessionId: session), "newest")) }
            if let next = history.nextCursor {
                var older = request.linking(.session, sessionId: session)
                older.cursor = next
                more.append(page.link(to: older, "older calls"))
            }
            if !more.isEmpty { body += "<nav>" + more.joined(separator: " · ") + "</nav>" }
        }
        return page.render(title: "session " + session, body: body)
    }

    static func captureTable(_ captures: [Capture]) -> String {
        guard !captures.isEmpty else { return "<p>No captures in this range.</p>" }
        var rows = "<table><tr><th>captured at (UTC)</th><th>model</th><th>algorithm</th><th>source</th>"
            + "<th class=n>tokens in / out</th><th class=n>cache read / write</th><th class=n>cost</th><th>outcome</th></tr>"
        for c in captures {
            let model = c.usage.autorouted ? c.fields.autorouterModel : c.usage.requestedModel
            let cells: [String] = [
                HTML.escape(Figures.instant(c.capturedAt)), HTML.escape(model ?? "-"), HTML.escape(c.fields.autorouterAlgo ?? "-"),
                HTML.escape(c.fields.autorouterAlgoSource ?? "-"),
                count(c.usage.inputTokens) + " / " + count(c.usage.outputTokens),
                count(c.usage.cacheReadTokens) + " / " + count(c.usage.cacheWriteTokens),
                Figures.usd(c.usage.costUsd), HTML.escape(c.usage.outcome?.rawValue ?? "-"),
            ]
            let classes = ["t", "id", "", "", "n", "n", "n", ""]
            rows += "<tr>" + zip(classes, cells).map { $0.isEmpty ? "<td>\($1)</td>" : "<td class=\($0)>\($1)</td>" }.joined() + "</tr>"
        }
        return rows + "</table>"
    }

    private static func count(_ value: Int64?) -> String { value.map(String.init) ?? "-" }
}
