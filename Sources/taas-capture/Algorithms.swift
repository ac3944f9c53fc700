import AffinityCore
import ArgumentParser
import CaptureServer
import CaptureStore

/// `taas-capture set-algorithm`: pin (or clear) the autorouter algorithm of a session or an agent.
struct SetAlgorithm: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-algorithm",
        abstract: "Pin the autorouter algorithm of a session or agent (or --clear it).",
        discussion: "Values: \(AutorouterAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")). A session's pin "
            + "wins over its agent's; the plugin sends it as X-TaaS-Autorouter-Algorithm within 2 seconds.")

    @OptionGroup var service: ServiceOptions
    @OptionGroup var selector: SelectorOptions
    @Flag(help: "Remove the pin.") var clear = false
    @Argument(help: "The algorithm to pin.") var algorithm: String?

    func validate() throws {
        if selector.isEmpty {
            throw ValidationError("name an --agent-id, --session-id, --workspace-dir or --local-session-id")
        }
        if clear == (algorithm != nil) { throw ValidationError("give an algorithm or --clear, not both or neither") }
        // Bad usage (exit 2) before anything is sent, as every other argument.
        if let algorithm, AutorouterAlgorithm(rawValue: algorithm) == nil {
            let values = AutorouterAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            throw ValidationError("unknown algorithm '\(algorithm)': one of \(values)")
        }
    }

    func run() throws {
        var params = selector.params()
        params["algorithm"] = algorithm.map { .string($0) } ?? .null
        let result = try service.call("taas.autorouter.setAlgorithm", params)
        if service.json { return printJSON(result) }
        let subject = result["agentId"].map { "agent \(Table.text($0))" } ?? "session \(Table.text(result["sessionId"]))"
        let now = result["algorithm"].map(Table.text) ?? "-"
        Swift.print("\(subject): \(now == "-" ? "no pin" : now) (was \(Table.text(result["previous"])), version \(Table.text(result["version"])))")
    }
}

/// `taas-capture algorithms`: the pinned algorithms.
struct Algorithms: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the pinned autorouter algorithms (or the changes after --since-version).")

    @OptionGroup var service: ServiceOptions
    @Option(help: "Only changes after this version, cleared pins included.") var sinceVersion: Int64?

    func run() throws {
        var params = JSONObject()
        if let sinceVersion { params["sinceVersion"] = .int(sinceVersion) }
        let result = try service.call("taas.autorouter.algorithms", params)
        if service.json { return printJSON(result) }
        let rows = (result["overrides"]?.arrayValue ?? []).map { item -> [String] in
            let kind = item["agentId"] == nil ? "session" : "agent"
            return [kind, Table.text(item["agentId"] ?? item["sessionId"]), Table.text(item["algorithm"]), Table.timestamp(item["updatedAt"])]
        }
        Table.print(header: ["scope", "id", "algorithm", "updated (UTC)"], rows: rows)
        Swift.print("version \(Table.text(result["version"]))")
    }
}
