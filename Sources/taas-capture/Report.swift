import AffinityCore
import ArgumentParser
import CaptureReport
import CaptureStore
import Foundation

/// `taas-capture report`: one self-contained HTML file of what served each agent, the cache, and the mix.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a self-contained HTML report (inline SVG and CSS; opens offline in any browser).",
        discussion: "Reads the database file directly (read-only, safe while serving); aggregates in SQL.")

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var selector: SelectorOptions
    @Option(help: "The HTML file to write.") var out: String
    @Option(help: "The range: captures from this long ago (default 7d), or ms since epoch.") var since: TimeBound?
    @Option(help: "Up to this time (ms since epoch, or a duration ago; default now).") var until: TimeBound?

    func run() throws {
        let path = database.databasePath
        guard FileManager.default.fileExists(atPath: path) else { throw CLIFailure("no database at \(path)") }
        let now = WallClock.unixMillis()
        let end = until?.milliseconds ?? now
        let start = since?.milliseconds ?? (end - PageRequest.defaultPreset.milliseconds)
        guard start < end else { throw CLIFailure("--since must be before --until") }
        // The dashboard's page of the selection (the overview, an agent's or a session's), without links.
        var request = PageRequest(since: start, until: end)
        switch try selector.resolved()?.0 {
        case .agent(let id)?: (request.view, request.agentId) = (.agent, id)
        case .session(let id)?: (request.view, request.sessionId) = (.session, id)
        case nil: break
        }
        let html: String
        do throws(StoreError) {
            let reader = try CaptureReader(path: path)
            defer { reader.close() }
            html = try Pages.html(request, reader: reader, now: now, links: false)
        } catch {
            throw CLIFailure("cannot read \(path): \(error.message)")
        }
        guard !FileManager.default.fileExists(atPath: out) || FileManager.default.isWritableFile(atPath: out) else {
            throw CLIFailure("cannot write \(out)")
        }
        do {
            try Data(html.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw CLIFailure("cannot write \(out): \(error.localizedDescription)")
        }
        print("wrote \(out) (\(html.utf8.count) bytes)")
    }
}
