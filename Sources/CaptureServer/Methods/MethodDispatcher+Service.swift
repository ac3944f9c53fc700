import AffinityCore
import CaptureStore
import NIOCore

/// The methods of the service itself: prune by retention, report health, derive a session id.
extension MethodDispatcher {
    func prune(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        var policy = context.retention
        if let v = try params.integer("maxAgeMs", in: 0...Int64.max) { policy.maxAgeMs = v }
        if let v = try params.integer("maxPerSession", in: 0...Int64(Int32.max)) { policy.maxPerSession = Int(v) }
        if let v = try params.integer("maxRows", in: 0...Int64(Int32.max)) { policy.maxRows = Int(v) }
        let dryRun = try params.bool("dryRun") ?? false
        let done = deliver("prune", completion) { (buffer, report: PruneReport) in buffer.writePruneReport(report) }
        try submit(.prune(policy, dryRun: dryRun, done))
    }

    func health(_ completion: @escaping Completion) throws(RPCError) {
        let context = self.context
        let storage = context.writerStats.storage
        // Health answers whatever the file's state: a read it cannot make is a storage fault to report, not an error.
        try scan("health", completion) { (reader) throws(StoreError) -> StoreHealth? in
            do throws(StoreError) {
                return try reader.health()
            } catch {
                storage.failed(error)
                guard StorageCondition.isStorage(error) else { throw error }
                return nil
            }
        } encode: { (buffer, health: StoreHealth?) in
            buffer.writeHealth(health, storage: storage.fault, of: context)
        }
    }

    /// The service has no environment of the caller's: every tier input comes as a parameter, and a
    /// call with none of them is refused rather than answered from the service's own home directory.
    func deriveSessionId(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let keys = ["localSessionId", "workspaceDir", "openclawSessionId", "agentId", "runId", "stateDir"]
        var values: [String: String] = [:]
        for key in keys {
            if let v = try params.identity(key) { values[key] = v }
        }
        guard !values.isEmpty else { throw .invalidParams("params", "at least one of \(keys.joined(separator: ", ")) is required") }
        if let stateDir = values["stateDir"], !PosixPath.isAbsolute(stateDir) {
            throw .invalidParams("stateDir", "must be an absolute path")
        }
        let input = SessionIdentityInput(
            localSessionId: values["localSessionId"], workspaceDir: values["workspaceDir"],
            openclawSessionId: values["openclawSessionId"], agentId: values["agentId"], runId: values["runId"],
            stateDir: values["stateDir"], home: nil, cwd: "/"
        )
        let identity: SessionIdentity
        do {
            identity = try SessionIdentity.deriveRequiringAbsoluteWorkspace(from: input)
        } catch {
            throw .invalidParams("workspaceDir", "must be an absolute path")
        }
        return encode { $0.writeSessionIdentity(identity) }
    }
}
