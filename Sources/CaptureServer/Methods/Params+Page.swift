import CaptureReport
import CaptureStore

extension Params {
    /// `taas.capture.page`'s params (but `links`, whether the page links to the others, default true): `view` (overview, agent or session; default overview), `agentId` for the agent
    /// view, `sessionId` for the session view, `range` (a preset) or `since`/`until` (ms), and the session view's
    /// `cursor`.
    func pageRequest() throws(RPCError) -> PageRequest {
        var request = PageRequest()
        if let name = try string("view") {
            guard let view = PageRequest.View(rawValue: name) else {
                throw .invalidParams("view", "must be one of \(PageRequest.View.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            request.view = view
        }
        if let name = try string("range") {
            guard let preset = PageRequest.Preset(rawValue: name) else {
                throw .invalidParams("range", "must be one of \(PageRequest.Preset.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            request.preset = preset
        }
        // Bounded as the rollups clamp a range, so a preset's arithmetic cannot overflow either.
        let times = -RollupRange.far...RollupRange.far
        request.since = try integer("since", in: times)
        request.until = try integer("until", in: times)
        if let since = request.since, let until = request.until, since >= until {
            throw .invalidParams("since", "must be before until")
        }
        switch request.view {
        case .overview: break
        case .agent:
            guard let agentId = try identity("agentId") else { throw .invalidParams("agentId", "is required for the agent view") }
            request.agentId = agentId
        case .session:
            guard let sessionId = try identity("sessionId") else {
                throw .invalidParams("sessionId", "is required for the session view")
            }
            request.sessionId = sessionId
            request.cursor = try string("cursor")
        }
        return request
    }
}
