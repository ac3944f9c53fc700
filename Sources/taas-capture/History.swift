import AffinityCore
import ArgumentParser
import CaptureServer
import CaptureStore

/// `taas-capture history`: captures of an agent or session, newest first, page by page.
struct History: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the captures of an agent or session, newest first.",
        discussion: "Pass the printed cursor to --cursor for the next page, or --all to follow every page.")

    @OptionGroup var service: ServiceOptions
    @OptionGroup var selector: SelectorOptions
    @Option(help: "Captures per page (1-1000).") var limit = HistoryQuery.defaultLimit
    @Option(help: "The nextCursor of the previous page.") var cursor: String?
    @Option(help: "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).")
    var since: TimeBound?
    @Option(help: "Only captures before this time (ms since epoch, or a duration ago).") var until: TimeBound?
    @Flag(help: "Follow nextCursor until the last page.") var all = false

    func validate() throws {
        if selector.isEmpty {
            throw ValidationError("name an --agent-id, --session-id, --workspace-dir or --local-session-id")
        }
        guard HistoryQuery.limits.contains(limit) else {
            throw ValidationError("--limit takes \(HistoryQuery.limits.lowerBound) to \(HistoryQuery.limits.upperBound)")
        }
    }

    func run() throws {
        var params = selector.params()
        params["limit"] = .int(Int64(limit))
        if let since { params["since"] = .int(since.milliseconds) }
        if let until { params["until"] = .int(until.milliseconds) }
        var next = cursor
        var rows: [[String]] = []
        repeat {
            if let next { params["cursor"] = .string(next) }
            let page = try service.call("taas.autorouter.history", params)
            if service.json { printJSON(page) }
            rows += (page["captures"]?.arrayValue ?? []).map(Table.captureRow)
            next = page["nextCursor"]?.stringValue
        } while all && next != nil
        if service.json { return }
        Table.print(header: Table.captureHeader, rows: rows)
        if let next { print("next page: --cursor \(next)") }
    }
}
