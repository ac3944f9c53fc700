import AffinityCore
import ArgumentParser
import CaptureServer

/// `taas-capture stats`: counts by model, algorithm, source and thinking.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count captures (all, or of an agent or session) by model, algorithm and thinking.")

    @OptionGroup var service: ServiceOptions
    @OptionGroup var selector: SelectorOptions
    @Option(help: "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).")
    var since: TimeBound?
    @Option(help: "Only captures before this time (ms since epoch, or a duration ago).") var until: TimeBound?

    func run() throws {
        var params = selector.params()
        if let since { params["since"] = .int(since.milliseconds) }
        if let until { params["until"] = .int(until.milliseconds) }
        let result = try service.call("taas.autorouter.stats", params)
        if service.json { return printJSON(result) }
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
}
