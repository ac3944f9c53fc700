import AffinityCore
import ArgumentParser
import CaptureServer
import Foundation

/// `taas-capture derive`: prints the affinity session id the plugin would use.
struct Derive: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the affinity session id for the given inputs (or, with none, this environment).",
        discussion: """
            Tiers, first that applies: --local-session-id, --workspace-dir, --openclaw-session-id, \
            --agent-id (else --run-id), --state-dir (else $HOME/.openclaw). With none of these flags it reads \
            OPENCLAW_SESSION_ID, OPENCLAW_AGENT_ID, OPENCLAW_RUN_ID, OPENCLAW_STATE_DIR and HOME as the plugin does.
            """)

    @Option(help: "OpenClaw's native session id (tier 1).") var localSessionId: String?
    @Option(help: "The agent's workspace directory (tier 2; relative resolves against the working directory).")
    var workspaceDir: String?
    @Option(help: "As OPENCLAW_SESSION_ID (tier 3).") var openclawSessionId: String?
    @Option(help: "As OPENCLAW_AGENT_ID (tier 4).") var agentId: String?
    @Option(help: "As OPENCLAW_RUN_ID (tier 4, when no agent id).") var runId: String?
    @Option(help: "As OPENCLAW_STATE_DIR (tier 5).") var stateDir: String?
    @Flag(help: "Print {\"sessionId\",\"source\"} as JSON.") var json = false

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let flags = [localSessionId, workspaceDir, openclawSessionId, agentId, runId, stateDir]
        let fromEnvironment = flags.allSatisfy { $0 == nil }
        let input = SessionIdentityInput(
            localSessionId: localSessionId, workspaceDir: workspaceDir,
            openclawSessionId: fromEnvironment ? environment["OPENCLAW_SESSION_ID"] : openclawSessionId,
            agentId: fromEnvironment ? environment["OPENCLAW_AGENT_ID"] : agentId,
            runId: fromEnvironment ? environment["OPENCLAW_RUN_ID"] : runId,
            stateDir: fromEnvironment ? environment["OPENCLAW_STATE_DIR"] : stateDir,
            home: environment["HOME"], cwd: FileManager.default.currentDirectoryPath)
        let identity = SessionIdentity.derive(from: input)
        if json {
            printJSON(.object(JSONObject(["sessionId": .string(identity.sessionId), "source": .string(identity.source.rawValue)])))
        } else {
            print("\(identity.sessionId)  (source: \(identity.source.rawValue))")
        }
    }
}
