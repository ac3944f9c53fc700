import AffinityCore
import ArgumentParser
import CaptureServer
import CaptureStore
import Foundation

/// `taas-capture prune`: applies the retention rules to the database file (for cron or a timer).
///
/// Safe while the service runs: SQLite's locks serialize it with the service's writer, and each
/// chunk is a short transaction of its own.
struct Prune: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove captures by the retention rules, directly in the database file (safe while serving).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "Remove captures older than this (0 = off).") var maxAge = CLIDuration(milliseconds: RetentionPolicy.default.maxAgeMs)
    @Option(help: "Keep the newest N captures of each session (0 = off).") var maxPerSession = RetentionPolicy.default.maxPerSession
    @Option(help: "Keep at most N captures in all (0 = off).") var maxRows = RetentionPolicy.default.maxRows
    @Flag(help: "Count what would be removed, remove nothing.") var dryRun = false
    @Flag(help: "Print the result as JSON (the shape of taas.capture.prune).") var json = false

    func validate() throws {
        guard maxPerSession >= 0, maxRows >= 0 else { throw ValidationError("--max-per-session and --max-rows take 0 or more") }
    }

    func run() throws {
        let path = database.databasePath
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIFailure("no database at \(path); nothing to prune")
        }
        let policy = RetentionPolicy(maxAgeMs: maxAge.milliseconds, maxPerSession: maxPerSession, maxRows: maxRows)
        let report: PruneReport
        let progress = TerminalProgress(json: json)
        do throws(StoreError) {
            let writer = try CaptureWriter(path: path, durability: .normal)
            defer { writer.close() }
            report = try writer.prune(policy, now: WallClock.unixMillis(), dryRun: dryRun) { done in
                progress.update("pruning: \(done.deleted) captures removed, \(done.sessionsVisited) sessions checked")
            }
        } catch {
            progress.finish()
            throw CLIFailure("cannot prune \(path): \(error.message)")
        }
        progress.finish()
        if json { return print(report.jsonText) }
        let verb = report.dryRun ? "would remove" : "removed"
        print("\(verb) \(report.deleted) captures (age \(report.byAge), per session \(report.byPerSession), rows \(report.byRows)); \(report.remaining) remain; \(report.durationMs) ms")
    }
}
