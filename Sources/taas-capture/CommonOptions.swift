import AffinityCore
import ArgumentParser
import CaptureServer
import ServiceClient
import CaptureStore
import Foundation

/// `--socket` and `--json`, shared by every command that talks to the running service.
struct ServiceOptions: ParsableArguments {
    @Option(help: "The service's socket (default: $TAAS_CAPTURE_SOCKET or STATE/taas-capture/capture.sock).")
    var socket: String?

    @Flag(help: "Print the raw JSON-RPC result instead of a table.")
    var json = false

    var socketPath: String { StatePaths().socketPath(flag: socket) }

    /// Calls `method` on the running service, turning every failure into one clear line.
    func call(_ method: String, _ params: JSONObject) throws -> JSON {
        do throws(CaptureClientError) {
            let client = try CaptureClient(socketPath: socketPath)
            return try client.call(method, params: .object(params))
        } catch {
            switch error.kind {
            case .unreachable:
                throw CLIFailure("\(error.message); is 'taas-capture serve' running?")
            case .rpc(let code, let data):
                var line = "the service refused the request: \(error.message) (\(code))"
                if let field = data?["field"]?.stringValue, let reason = data?["reason"]?.stringValue {
                    line += ": \(field) \(reason)"
                }
                throw CLIFailure(line)
            case .protocolFailure:
                throw CLIFailure(error.message)
            }
        }
    }
}

/// `--db`, for commands that work on the database file itself.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "The database file (default: $TAAS_CAPTURE_DB or STATE/taas-capture/captures.sqlite3).")
    var db: String?

    var databasePath: String { StatePaths().databasePath(flag: db) }
}

/// The selectors of `lastRoute`, `history` and `stats` (SPEC "Methods").
struct SelectorOptions: ParsableArguments {
    @Option(help: "Select by OpenClaw agent id.") var agentId: String?
    @Option(help: "Select by affinity session id (oc:<16 hex>).") var sessionId: String?
    @Option(help: "Select by workspace directory (a relative one resolves against the working directory).")
    var workspaceDir: String?
    @Option(help: "Select by OpenClaw's native session id.") var localSessionId: String?

    var isEmpty: Bool { agentId == nil && sessionId == nil && workspaceDir == nil && localSessionId == nil }

    /// The selector as JSON-RPC params; a relative workspace directory is resolved here because the
    /// service has another working directory.
    func params() -> JSONObject {
        var params = JSONObject()
        if let agentId { params["agentId"] = .string(agentId) }
        if let sessionId { params["sessionId"] = .string(sessionId) }
        if let workspaceDir {
            params["workspaceDir"] = .string(PosixPath.resolve(workspaceDir, cwd: FileManager.default.currentDirectoryPath))
        }
        if let localSessionId { params["localSessionId"] = .string(localSessionId) }
        return params
    }

    /// The selector as the store selects by, for commands that read the database file (precedence and
    /// derivation as the service's: agentId > sessionId > localSessionId / workspaceDir, tiers 1–2), with
    /// a label for people; nil when none is given.
    func resolved() throws -> (CaptureSelector, String)? {
        let workspace = workspaceDir.map { PosixPath.resolve($0, cwd: FileManager.default.currentDirectoryPath) }
        let selector = CaptureSelector.resolving(
            agentId: agentId, sessionId: sessionId, localSessionId: localSessionId, workspaceDir: workspace)
        switch selector {
        case .agent(let id)?: return (.agent(id), "agent \(id)")
        case .session(let id)?: return (.session(id), "session \(id)")
        case nil: return nil
        }
    }
}

/// A point in time on the command line: milliseconds since the epoch, or a duration ago (`1d`, `12h`).
struct TimeBound: ExpressibleByArgument, Sendable {
    let milliseconds: Int64

    init?(argument: String) {
        if let ms = Int64(argument), ms >= 0 {
            milliseconds = ms
        } else if let ago = CLIDuration(argument: argument) {
            milliseconds = WallClock.unixMillis() - ago.milliseconds
        } else {
            return nil
        }
    }
}

/// Prints `value` as one line of JSON.
func printJSON(_ value: JSON) {
    print(value.jsonText)
}
