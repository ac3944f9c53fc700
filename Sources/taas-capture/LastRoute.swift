import AffinityCore
import ArgumentParser
import CaptureServer

/// `taas-capture last-route`: which model served this agent or session last, and since when.
struct LastRoute: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "last-route", abstract: "Show the latest capture of an agent or session.")

    @OptionGroup var service: ServiceOptions
    @OptionGroup var selector: SelectorOptions

    func validate() throws {
        if selector.isEmpty {
            throw ValidationError("name an --agent-id, --session-id, --workspace-dir or --local-session-id")
        }
    }

    func run() throws {
        let result = try service.call("taas.autorouter.lastRoute", selector.params())
        if service.json { return printJSON(result) }
        guard let capture = result["capture"], !capture.isNull else {
            print("no capture yet for \(selector.agentId.map { "agent \($0)" } ?? "session \(Table.text(result["sessionId"]))")")
            return
        }
        let usage = try usagePairs()
        Table.print(pairs: [
            ("agent", Table.text(capture["agentId"])), ("session", Table.text(capture["sessionId"])),
            ("model", Table.text(capture["autorouterModel"])), ("algorithm", Table.text(capture["autorouterAlgo"])),
            ("algorithm source", Table.text(capture["autorouterAlgoSource"])),
            ("thinking", Table.text(capture["thinkingApplied"])),
            ("context window", Table.text(capture["routedContextWindow"])),
            ("captured at (UTC)", Table.timestamp(capture["capturedAt"])),
            ("model since (UTC)", try modelSince(capture)),
            ("request id", Table.text(capture["taasRequestId"])), ("trace id", Table.text(capture["taasTraceId"])),
            ("turn / attempt", "\(Table.text(capture["openclawTurnId"])) / \(Table.text(capture["openclawAttempt"]))"),
            ("capture id", Table.text(capture["id"])),
        ] + usage)
    }

    /// The cache hit ratio and savings of this agent or session over its stored captures.
    private func usagePairs() throws -> [(String, String)] {
        let stats = try service.call("taas.autorouter.stats", selector.params())
        return Table.usagePairs(stats["usage"]).filter { ["cache hit ratio", "saved by cache (estimate)", "calls with usage"].contains($0.0) }
    }

    /// Since when the latest capture's model has served this agent or session: the oldest capture of the
    /// unbroken run of that model, newest first, looked up in one history page of up to 1000 captures.
    private func modelSince(_ latest: JSON) throws -> String {
        var params = selector.params()
        params["limit"] = .int(1000)
        let page = try service.call("taas.autorouter.history", params)
        // Calls TaaS did not route have no model of the autorouter's: they neither extend nor break a run.
        let captures = (page["captures"]?.arrayValue ?? []).filter { $0["autorouted"] != .bool(false) }
        let model = latest["autorouterModel"]
        var run = captures.prefix { $0["autorouterModel"] == model }
        if run.isEmpty { run = [latest][...] }
        let oldest = Table.timestamp(run.last?["capturedAt"])
        if run.count == captures.count, page["nextCursor"]?.stringValue != nil {
            return "before \(oldest) (more than \(run.count) captures)"
        }
        return "\(oldest) (\(run.count) capture\(run.count == 1 ? "" : "s"))"
    }
}
