import Foundation

/// Where the socket and the database live when no flag names them (SPEC "Transport"):
/// `STATE/taas-capture/{capture.sock,captures.sqlite3}`, `STATE = $OPENCLAW_STATE_DIR or $HOME/.openclaw`;
/// `TAAS_CAPTURE_SOCKET` and `TAAS_CAPTURE_DB` override them, flags override both.
struct StatePaths {
    let environment: [String: String]

    init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    var stateDirectory: String {
        if let dir = environment["OPENCLAW_STATE_DIR"], !dir.isEmpty { return dir }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return home + "/.openclaw"
    }

    var serviceDirectory: String { stateDirectory + "/taas-capture" }

    func socketPath(flag: String?) -> String {
        flag ?? nonEmpty(environment["TAAS_CAPTURE_SOCKET"]) ?? serviceDirectory + "/capture.sock"
    }

    func databasePath(flag: String?) -> String {
        flag ?? nonEmpty(environment["TAAS_CAPTURE_DB"]) ?? serviceDirectory + "/captures.sqlite3"
    }

    private func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
