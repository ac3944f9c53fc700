import AffinityCore
import CaptureStore
import NIOCore

/// A JSON-RPC error as the SPEC's error table defines it.
public struct RPCError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The optional `error.data` member.
    public enum Detail: Hashable, Sendable {
        /// -32602: which parameter and why (`{"field", "reason"}`).
        case param(field: String, reason: String)
        /// -32000 / -32002: whether the same request may succeed later (`{"retryable"}`).
        case retryable(Bool)
    }

    public var code: Int
    public var message: String
    public var detail: Detail?

    public init(code: Int, message: String, detail: Detail? = nil) {
        self.code = code
        self.message = message
        self.detail = detail
    }

    /// -32001, -32002 and -32003 are followed by closing the connection.
    public var closesConnection: Bool { code == -32001 || code == -32002 || code == -32003 }

    public var description: String { "\(code) \(message)" }

    /// -32700: the line is not JSON.
    public static func parseError(_ reason: String) -> RPCError {
        RPCError(code: -32700, message: "Parse error: \(reason)")
    }

    /// -32600: JSON, but not a request.
    public static func invalidRequest(_ reason: String) -> RPCError {
        RPCError(code: -32600, message: "Invalid Request: \(reason)")
    }

    /// -32601.
    public static func methodNotFound(_ method: String) -> RPCError {
        RPCError(code: -32601, message: "Method not found")
    }

    /// -32602 with `{"field", "reason"}`.
    public static func invalidParams(_ field: String, _ reason: String) -> RPCError {
        RPCError(code: -32602, message: "Invalid params", detail: .param(field: field, reason: reason))
    }

    /// -32603: a bug; the detail goes to the log, not to the client.
    public static let internalError = RPCError(code: -32603, message: "Internal error")

    /// -32000: storage unavailable.
    public static func storageUnavailable(_ message: String, retryable: Bool) -> RPCError {
        RPCError(code: -32000, message: "Storage unavailable: \(message)", detail: .retryable(retryable))
    }

    /// -32001.
    public static func lineTooLong(limit: Int) -> RPCError {
        RPCError(code: -32001, message: "Line too long (limit \(limit) bytes)")
    }

    /// -32002: connection limit reached or write queue full.
    public static func overloaded(_ reason: String) -> RPCError {
        RPCError(code: -32002, message: "Overloaded: \(reason)", detail: .retryable(true))
    }

    /// -32003.
    public static let peerNotAllowed = RPCError(code: -32003, message: "Peer not allowed")

    /// The one place where storage errors become JSON-RPC errors.
    ///
    /// A bad cursor is the caller's mistake (-32602 on `cursor`); an invalid argument that slipped past
    /// validation and `internal` are bugs (-32603); everything else means the storage is unusable
    /// right now (-32000), retryable for a full disk, an I/O error or a lock held past the timeout.
    public init(_ error: StoreError) {
        switch error.code {
        case .invalidCursor:
            self = .invalidParams("cursor", "not a cursor issued for this selector")
        case .limitReached:
            self = .invalidParams("params", error.message)
        case .internal, .invalidArgument:
            self = .internalError
        default:
            self = .storageUnavailable(error.message, retryable: error.isRetryable)
        }
    }

    /// Whether a store error is a bug worth logging at error level with its detail.
    static func isBug(_ error: StoreError) -> Bool {
        error.code == .internal || error.code == .invalidArgument
    }
}

extension ByteBuffer {
    /// Writes the `error` member's value: `{"code","message","data"?}`.
    mutating func writeRPCErrorObject(_ error: RPCError) {
        writeStaticString("{\"code\":")
        writeJSONInt(Int64(error.code))
        writeStaticString(",\"message\":")
        writeJSONString(error.message)
        switch error.detail {
        case .param(let field, let reason)?:
            writeStaticString(",\"data\":{\"field\":")
            writeJSONString(field)
            writeStaticString(",\"reason\":")
            writeJSONString(reason)
            writeStaticString("}")
        case .retryable(let retryable)?:
            writeStaticString(",\"data\":{\"retryable\":")
            writeJSONBool(retryable)
            writeStaticString("}")
        case nil:
            break
        }
        writeStaticString("}")
    }
}
