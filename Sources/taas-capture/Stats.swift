import AffinityCore
import ArgumentParser
import CaptureServer
import CaptureStore

/// `taas-capture stats`: counts by model, algorithm, source and thinking.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count captures (all, or of an agent or session) by model, algorithm and thinking.")

    @OptionGroup var service: ServiceOptions
    @OptionGroup var selector: SelectorOptions
    @Option(help: "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).")
    var since: TimeBound?
    @Option(help: "Only captures before this time (ms since epoch, or a duration ago).") var until: TimeBound?
    @Option(help: "One row per agent, session, model, trigger or channel: calls, models, model since, cache hit ratio, tokens, cost.")
    var by: String?
    @Option(help: "Rows with --by (1-1000, default 50), most captures first.") var limit: Int?

    func validate() throws {
        if let by, StatsGrouping(rawValue: by) == nil {
            throw ValidationError("--by takes \(StatsGrouping.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if limit != nil, by == nil { throw ValidationError("--limit needs --by") }
    }

    func run() throws {
        var params = selector.params()
        if let since { params["since"] = .int(since.milliseconds) }
        if let until { params["until"] = .int(until.milliseconds) }
        if let by { params["groupBy"] = .string(by) }
        if let limit { params["limit"] = .int(Int64(limit)) }
        let result = try service.call("taas.autorouter.stats", params)
        if service.json { return printJSON(result) }
        if let by, let groups = result["groups"]?.arrayValue { return printGroups(by, groups) }
        Table.print(pairs: [
            ("captures", Table.text(result["total"])), ("sessions", Table.text(result["sessions"])),
            ("agents", Table.text(result["agents"])), ("first (UTC)", Table.timestamp(result["firstCapturedAt"])),
            ("last (UTC)", Table.timestamp(result["lastCapturedAt"])),
        ] + Table.usagePairs(result["usage"]))
        for (title, key) in [("model", "byModel"), ("algorithm", "byAlgo"), ("algorithm source", "byAlgoSource"), ("thinking", "byThinking")] {
            guard let counts = result[key]?.objectValue, counts.count > 0 else { continue }
            print("")
            let rows = counts.entries.sorted { ($0.value.integerValue ?? 0) > ($1.value.integerValue ?? 0) }
            Table.print(header: [title, "captures"], rows: rows.map { [$0.key, Table.text($0.value)] })
        }
    }

    /// One row per group: the table operators read to see which model serves each agent and whether the
    /// cache hits.
    private func printGroups(_ by: String, _ groups: [JSON]) {
        let rows = groups.map { g -> [String] in
            let u = g["usage"]
            let tokens = ["inputTokens", "outputTokens", "cacheReadTokens", "cacheWriteTokens"].map { Table.text(u?[$0]) }
            return [
                Table.text(g["key"]), Table.text(g["captures"]), Table.text(g["models"]), Table.text(g["lastModel"]),
                Table.timestamp(g["modelSince"]), Table.percent(u?["cacheHitRatio"]), tokens.joined(separator: "/"),
                Table.usd(u?["costUsd"]), Table.usd(u?["cacheSavedUsd"]), Table.text(g["routeChanges"]),
            ]
        }
        Table.print(
            header: [
                by, "calls", "models", "model", "model since (UTC)", "cache hit", "tokens in/out/read/write", "cost",
                "saved (est.)", "route changes",
            ],
            rows: rows)
    }
}
