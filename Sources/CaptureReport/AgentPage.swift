import AffinityCore
import CaptureStore

/// One agent: its calls, models over time, cache ratio, spend and sessions.
enum AgentPage {
    static func body(_ data: ReportData, agent: String, _ page: Layout) -> String {
        let colors = Charts.colors(data)
        var body = page.summary(data.stats, extra: Figures.counted(data.stats.sessions, "session"))
        if let group = data.agents.first {
            body += "<p>Model now: <b>\(HTML.escape(group.lastModel ?? "-"))</b>"
                + (group.modelSince.map { " since \(HTML.escape(Figures.minute($0))) UTC" } ?? "") + "</p>"
        }
        body += Layout.section("Served models over time", Charts.stackedBars(data, colors: colors) + Charts.legend(data.models, colors: colors))
        body += Layout.section("Cache hit ratio over time", Charts.cacheLine(data))
        body += "<div class=\"pair\">"
        body += Layout.section("Served model", Charts.mixBars(data.stats.byModel))
        body += Layout.section("Algorithm", Charts.mixBars(data.stats.byAlgo))
        body += "</div>"
        body += Layout.section("Sessions", Pages.sessionTable(data.sessions, page))
        return body
    }
}
