import CaptureStore

/// What one dashboard page shows (SPEC v3 "The dashboard tab"): a view, its subject and a range. Its fields are the
/// params of `taas.capture.page` and the query-string keys of the tab's links, one to one.
public struct PageRequest: Sendable, Hashable {
    public enum View: String, Sendable, CaseIterable {
        case overview, agent, session
    }

    /// The presets a page offers; a range given as `since`/`until` wins over one.
    public enum Preset: String, Sendable, CaseIterable {
        case hour = "1h", day = "24h", week = "7d", month = "30d"

        public var milliseconds: Int64 {
            switch self {
            case .hour: 3_600_000
            case .day: 86_400_000
            case .week: 7 * 86_400_000
            case .month: 30 * 86_400_000
            }
        }
    }

    public static let defaultPreset = Preset.week
    /// Captures one session page lists.
    public static let sessionPageSize = 50

    public var view: View
    public var agentId: String?
    public var sessionId: String?
    public var preset: Preset?
    public var since: Int64?
    public var until: Int64?
    /// The session view's history cursor (opaque, from the previous page).
    public var cursor: String?

    public init(
        view: View = .overview, agentId: String? = nil, sessionId: String? = nil, preset: Preset? = nil,
        since: Int64? = nil, until: Int64? = nil, cursor: String? = nil
    ) {
        self.view = view
        self.agentId = agentId
        self.sessionId = sessionId
        self.preset = preset
        self.since = since
        self.until = until
        self.cursor = cursor
    }

    /// The unit a preset's range is widened to: whole UTC days past two days (the charts' buckets then are days, and
    /// the busiest sessions come from the daily session rollups), else whole hours (the rollups' unit). Either way a
    /// page reads no capture one by one but those not folded yet.
    public var unit: Int64 { (preset ?? Self.defaultPreset).milliseconds > 2 * 86_400_000 ? 86_400_000 : 3_600_000 }

    /// `[since, until)` at `now`. A preset covers at least its length, widened to whole units (`unit`);
    /// `since`/`until` are taken as given, with the missing end from the preset.
    public func range(now: Int64) -> (since: Int64, until: Int64) {
        let hour = unit
        let length = (preset ?? Self.defaultPreset).milliseconds
        switch (since, until) {
        case let (since?, until?): return (since, until)
        case let (since?, nil): return (since, max(since + 1, (now / hour + 1) * hour))
        case let (nil, until?): return (until - length, until)
        case (nil, nil):
            let end = (now / hour + 1) * hour
            return (((now - length) / hour) * hour, end)
        }
    }

    /// The query string (`?view=…&…`) of this request, each value percent-encoded; keys in a fixed order.
    public var query: String {
        var pairs: [(String, String)] = [("view", view.rawValue)]
        if let agentId { pairs.append(("agentId", agentId)) }
        if let sessionId { pairs.append(("sessionId", sessionId)) }
        if let preset { pairs.append(("range", preset.rawValue)) }
        if let since { pairs.append(("since", String(since))) }
        if let until { pairs.append(("until", String(until))) }
        if let cursor { pairs.append(("cursor", cursor)) }
        return "?" + pairs.map { "\($0.0)=\(HTML.queryValue($0.1))" }.joined(separator: "&")
    }

    /// The same range on another view.
    func linking(_ view: View, agentId: String? = nil, sessionId: String? = nil) -> PageRequest {
        PageRequest(view: view, agentId: agentId, sessionId: sessionId, preset: preset, since: since, until: until)
    }
}
