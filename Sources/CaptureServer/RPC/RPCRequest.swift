import AffinityCore
import NIOCore

/// One JSON-RPC call taken from a line.
public struct RPCRequest: Sendable, Hashable {
    /// nil for a notification (no `id` member); `.null` for an explicit `"id": null`.
    public var id: JSON?
    public var method: String
    /// The `params` member, or nil when absent.
    public var params: JSON?

    public init(id: JSON?, method: String, params: JSON?) {
        self.id = id
        self.method = method
        self.params = params
    }

    /// A notification is executed but never answered.
    public var isNotification: Bool { id == nil }
}

/// An entry of a message: a call, or something that is not one (answered with -32600).
public enum RPCEntry: Sendable, Hashable {
    case call(RPCRequest)
    case invalid(id: JSON, error: RPCError)
}

/// What one line holds.
public enum RPCMessage: Sendable, Hashable {
    case single(RPCEntry)
    case batch([RPCEntry])
    /// A line-level failure (not JSON, empty or oversized batch): one error response, id null.
    case failure(RPCError)

    /// The most entries a batch may have.
    public static let maxBatchEntries = 1000

    /// Parses one line (without its line ending).
    public static func parse(_ line: ByteBuffer, maxDepth: Int = JSONParser.defaultMaxDepth) -> RPCMessage {
        let value: JSON
        do {
            value = try JSONParser.parse(line, maxDepth: maxDepth)
        } catch {
            return .failure(.parseError(error.description))
        }
        return interpret(value)
    }

    /// Interprets an already parsed JSON value as a request or a batch.
    public static func interpret(_ value: JSON) -> RPCMessage {
        guard case .array(let items) = value else { return .single(entry(value)) }
        if items.isEmpty { return .failure(.invalidRequest("empty batch")) }
        if items.count > maxBatchEntries {
            return .failure(.invalidRequest("batch of more than \(maxBatchEntries) entries"))
        }
        return .batch(items.map(entry))
    }

    /// One request object. An invalid entry is answered with its id when that id is usable, else null;
    /// an invalid entry without an id is answered too (it is not a valid notification).
    static func entry(_ value: JSON) -> RPCEntry {
        guard case .object(let object) = value else {
            return .invalid(id: .null, error: .invalidRequest("not a request object"))
        }
        var id: JSON?
        switch object["id"] {
        case nil:
            id = nil
        case .some(let raw):
            switch raw {
            case .int, .double, .string, .null:
                id = raw
            default:
                return .invalid(id: .null, error: .invalidRequest("id must be a number, a string or null"))
            }
        }
        guard object["jsonrpc"] == .string("2.0") else {
            return .invalid(id: id ?? .null, error: .invalidRequest("jsonrpc must be \"2.0\""))
        }
        guard case .string(let method)? = object["method"] else {
            return .invalid(id: id ?? .null, error: .invalidRequest("method must be a string"))
        }
        return .call(RPCRequest(id: id, method: method, params: object["params"]))
    }
}
