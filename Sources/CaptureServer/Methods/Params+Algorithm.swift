import AffinityCore
import CaptureStore
import NIOCore

extension Params {
    /// `taas.autorouter.setAlgorithm` params: exactly one selector (an agent, or a session given as
    /// `sessionId` or derived from `workspaceDir`/`localSessionId`) and `algorithm`, one of the values or
    /// null to clear; it must be present, so a forgotten value never clears a pin by accident.
    func algorithmOverride() throws(RPCError) -> (CaptureSelector, AutorouterAlgorithm?) {
        let selector = try subject()
        guard let value = object["algorithm"] else {
            throw .invalidParams("algorithm", "is required: one of \(Self.algorithmNames), or null to clear")
        }
        if value.isNull { return (selector, nil) }
        guard case .string(let name) = value, let algorithm = AutorouterAlgorithm(rawValue: name) else {
            throw .invalidParams("algorithm", "must be one of \(Self.algorithmNames), or null to clear")
        }
        return (selector, algorithm)
    }

    /// The one agent or session a setting is for (an override, a budget): exactly one selector, never both kinds.
    func subject() throws(RPCError) -> CaptureSelector {
        let namesAgent = object["agentId"].map { !$0.isNull } ?? false
        let namesSession = ["sessionId", "workspaceDir", "localSessionId"].contains { object[$0].map { !$0.isNull } ?? false }
        if namesAgent, namesSession {
            throw .invalidParams("params", "give either agentId or a session (sessionId, workspaceDir, localSessionId), not both")
        }
        return try requiredSelector().selector
    }

    static let algorithmNames = AutorouterAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
}

extension ByteBuffer {
    /// `"sessionId": …` or `"agentId": …`, without braces.
    mutating func writeOverrideSubject(_ selector: CaptureSelector) {
        switch selector {
        case .session(let id):
            writeStaticString("\"sessionId\":")
            writeJSONString(id)
        case .agent(let id):
            writeStaticString("\"agentId\":")
            writeJSONString(id)
        }
    }

    /// setAlgorithm: `{"sessionId"|"agentId", "algorithm", "previous", "updatedAt", "version"}`.
    mutating func writeOverrideChange(_ change: OverrideChange) {
        writeStaticString("{")
        writeOverrideSubject(change.current.selector)
        writeStaticString(",\"algorithm\":")
        writeJSONString(change.current.algorithm?.rawValue)
        writeStaticString(",\"previous\":")
        writeJSONString(change.previous?.rawValue)
        writeStaticString(",\"updatedAt\":")
        writeJSONInt(change.current.updatedAt)
        writeStaticString(",\"version\":")
        writeJSONInt(change.current.version)
        writeStaticString("}")
    }

    /// algorithms: `{"overrides": [{"sessionId"|"agentId", "algorithm", "updatedAt"}], "version"}`.
    mutating func writeOverrideListing(_ listing: OverrideListing) {
        writeStaticString("{\"overrides\":[")
        for (i, item) in listing.overrides.enumerated() {
            if i > 0 { writeStaticString(",") }
            writeStaticString("{")
            writeOverrideSubject(item.selector)
            writeStaticString(",\"algorithm\":")
            writeJSONString(item.algorithm?.rawValue)
            writeStaticString(",\"updatedAt\":")
            writeJSONInt(item.updatedAt)
            writeStaticString("}")
        }
        writeStaticString("],\"version\":")
        writeJSONInt(listing.version)
        writeStaticString("}")
    }
}
