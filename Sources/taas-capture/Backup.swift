import ArgumentParser
import CaptureStore
import Foundation

/// `taas-capture backup`: a consistent copy of the database, safe while the service runs.
struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy the database, as of one moment, to a new file (SQLite online backup; safe while serving).")

    @OptionGroup var database: DatabaseOptions
    @Option(help: "The new file to write (refused if it exists).") var to: String

    func run() throws {
        let path = database.databasePath
        guard FileManager.default.fileExists(atPath: path) else { throw CLIFailure("no database at \(path)") }
        do throws(StoreError) {
            let writer = try CaptureWriter(path: path, durability: .normal)
            defer { writer.close() }
            try writer.backup(to: to)
        } catch {
            throw CLIFailure("backup failed: \(error.message)")
        }
        print("backed up \(path) to \(to)")
    }
}
