import ArgumentParser
import Foundation

/// The `taas-capture` command: the service and its clients (SPEC "The CLI").
struct TaasCapture: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "taas-capture",
        abstract: "Persistent TaaS autorouter route captures for OpenClaw gateways.",
        discussion: """
            Paths default to $OPENCLAW_STATE_DIR (or ~/.openclaw)/taas-capture/{capture.sock,captures.sqlite3}; \
            TAAS_CAPTURE_SOCKET and TAAS_CAPTURE_DB override them, --socket and --db override both.
            Exit status: 0 success, 1 failure, 2 bad usage.
            """,
        version: TaasCaptureVersion.string,
        subcommands: [
            Serve.self, Record.self, LastRoute.self, History.self, Stats.self, Prune.self, Derive.self,
            Doctor.self, Backup.self, SalvageCommand.self, SetAlgorithm.self, Algorithms.self, SetBudget.self, Budgets.self, Report.self, Fleet.self,
        ]
    )
}

/// A failure the user can act on: printed as one line on stderr, exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

@main
enum Entry {
    static func main() async {
        do {
            var command = try TaasCapture.parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("taas-capture: \(failure.description)\n".utf8))
            exit(1)
        } catch let code as ExitCode {
            exit(code.rawValue)
        } catch {
            let exitCode = TaasCapture.exitCode(for: error)
            if exitCode == .success {
                // --help and --version
                print(TaasCapture.fullMessage(for: error))
                exit(0)
            }
            let message = TaasCapture.message(for: error).split(separator: "\n").first.map(String.init) ?? "bad usage"
            FileHandle.standardError.write(
                Data("taas-capture: \(message) (see 'taas-capture help')\n".utf8))
            exit(2)
        }
    }
}
