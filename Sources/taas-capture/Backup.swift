import AffinityCore
import ArgumentParser
import CaptureStore
import Foundation

/// `taas-capture backup`: a consistent copy of the database, safe while the service runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database, as of one moment, to a new file (SQLite online backup; safe while serving).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The new file to write (refused if it exists).") var to: String
    @Flag(help: "No progress line (it shows only on a terminal anyway).") var json = false

    func run() throws {
        let path = database.databasePath
        guard FileManager.default.fileExists(atPath: path) else { throw CLIFailure("no database at \(path)") }
        let progress = TerminalProgress(json: json)
        do throws(StoreError) {
            let writer = try CaptureWriter(path: path, durability: .normal)
            defer { writer.close() }
            try writer.backup(to: to) { copied, total in
                progress.update("backing up: \(copied) of \(total) pages (\(total > 0 ? copied * 100 / total : 100)%)")
            }
        } catch {
            progress.finish()
            throw CLIFailure("backup failed: \(error.message)")
        }
        progress.finish()
        if json { return print("{\"backedUp\":true,\"to\":\(JSON.string(to).jsonText)}") }
        print("backed up \(path) to \(to)")
    }
}
