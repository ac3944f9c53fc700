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
        Table.print(pairs: [
            ("agent", Table.text(capture["agentId"])), ("session", Table.text(capture["sessionId"])),
            ("model", Table.text(capture["autorouterModel"])), ("algorithm", Table.text(capture["autorouterAlgo"])),
            ("algorithm source", Table.text(capture["autorouterAlgoSource"])),
            ("thinking", Table.text(capture["thinkingApplied"])),
            ("context window", Table.text(capture["routedContextWindow"])),
            ("captured at (UTC)", Table.timestamp(capture["capturedAt"])),
            ("request id", Table.text(capture["taasRequestId"])), ("trace id", Table.text(capture["taasTraceId"])),
            ("turn / attempt", "\(Table.text(capture["openclawTurnId"])) / \(Table.text(capture["openclawAttempt"]))"),
            ("capture id", Table.text(capture["id"])),
        ])
    }
}
