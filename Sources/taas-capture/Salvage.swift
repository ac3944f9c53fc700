import AffinityCore
import ArgumentParser
import CaptureStore
import Foundation

/// `taas-capture salvage`: every readable capture, override, budget and forwarding mark of a damaged database into
/// a new file (SPEC v3 "When storage fails"; README "A damaged database").
struct SalvageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "salvage",
        abstract: "Copy what can be read of a damaged database into a new file (never writes to the old one).",
        discussion: """
            Stop the service first. Reads each table through SQLite, then, where that stops at a damaged page, the \
            file's pages one by one. The new file has the current schema, 0600, with the stats rollups rebuilt; serve \
            on it with --db NEW (or move it into place). Exit status 0 when the new file was written, 1 otherwise.
            """)

    @Option(help: "The damaged database (only read).") var from: String
    @Option(help: "The new file to write (refused if it exists).") var to: String
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        let progress = TerminalProgress(json: json)
        let report: SalvageReport
        do throws(StoreError) {
            report = try Salvage.run(from: from, to: to) { step in
                switch step {
                case .copying: progress.update("salvage: copying the database aside")
                case .readingCaptures(let copied): progress.update("salvage: \(copied) captures read through SQLite")
                case .readingPages(let done, let total):
                    progress.update("salvage: reading pages, \(done) of \(total) (\(total > 0 ? done * 100 / total : 100)%)")
                case .rebuildingRollups(let folded): progress.update("salvage: rebuilding the stats rollups, \(folded) folded")
                }
            }
        } catch {
            progress.finish()
            throw CLIFailure("salvage failed: \(error.message)")
        }
        progress.finish()
        if json { return printJSON(Self.json(report)) }
        print(Self.text(report, to: to))
    }

    static func text(_ report: SalvageReport, to: String) -> String {
        var lines = ["salvaged \(report.captures) captures into \(to) (schema \(CaptureWriter.latestSchemaVersion), rollups rebuilt, check: \(report.newFileCheck))"]
        var captures = "  captures: \(report.capturesBySQL) read through SQLite"
        if report.readPages {
            captures += ", \(report.capturesFromPages) more found page by page"
            if report.capturesRefused > 0 { captures += ", \(report.capturesRefused) damaged ones left out" }
        }
        lines.append(captures)
        let mark = report.forwardedThrough.map { "forwarded through id \($0)" } ?? "no forwarding mark"
        lines.append("  overrides: \(report.overrides), budgets: \(report.budgets), \(mark)")
        if report.readPages {
            lines.append("  pages: \(report.pages) read, \(report.freePages) free (skipped), \(report.unreadablePages) unreadable or overflow")
        }
        if report.problems.isEmpty {
            lines.append("  SQLite read every table whole")
        } else {
            lines.append("  could not read through SQLite:")
            lines += report.problems.map { "    \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ report: SalvageReport) -> JSON {
        .object(JSONObject([
            "captures": .int(Int64(report.captures)),
            "capturesBySQL": .int(Int64(report.capturesBySQL)),
            "capturesFromPages": .int(Int64(report.capturesFromPages)),
            "capturesRefused": .int(Int64(report.capturesRefused)),
            "overrides": .int(Int64(report.overrides)),
            "budgets": .int(Int64(report.budgets)),
            "forwardedThrough": report.forwardedThrough.map(JSON.int) ?? .null,
            "sourceSchemaVersion": report.schemaVersion.map { JSON.int(Int64($0)) } ?? .null,
            "readPages": .bool(report.readPages),
            "pages": .int(Int64(report.pages)),
            "freePages": .int(Int64(report.freePages)),
            "unreadablePages": .int(Int64(report.unreadablePages)),
            "problems": .array(report.problems.map(JSON.string)),
            "newFileCheck": .string(report.newFileCheck),
        ]))
    }
}
