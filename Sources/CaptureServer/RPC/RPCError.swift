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
        /// -32000: the same, and which storage fault (`{"retryable", "kind"}`: full, ioError, busy, readOnly,
        /// corrupt, notADatabase, cantOpen), so a client can back off longer for what only an operator mends.
        case storage(retryable: Bool, kind: String)
    }

    /// The SPEC's error table, one row per code: its number on the wire, the message it opens with, and
    /// whether answering it closes the connection. Nothing else spells a code's number.
    public enum Code: Int, Hashable, Sendable, CaseIterable {
        case parseError = -32700
        case invalidRequest = -32600
        case methodNotFound = -32601
        case invalidParams = -32602
        case internalError = -32603
        case storageUnavailable = -32000
        case lineTooLong = -32001
        case overloaded = -32002
        case peerNotAllowed = -32003

        /// The message every error of this code starts with.
        public var message: String {
            switch self {
            case .parseError: "Parse error"
            case .invalidRequest: "Invalid Request"
            case .methodNotFound: "Method not found"
            case .invalidParams: "Invalid params"
            case .internalError: "Internal error"
            case .storageUnavailable: "Storage unavailable"
            case .lineTooLong: "Line too long"
            case .overloaded: "Overloaded"
            case .peerNotAllowed: "Peer not allowed"
            }
        }

        /// The connection closes once an error of this code is written.
        public var closesConnection: Bool {
            switch self {
            case .lineTooLong, .overloaded, .peerNotAllowed: true
            default: false
            }
        }
    }

    public var code: Code
    public var message: String
    public var detail: Detail?

    /// An error of `code` whose message is the code's, followed by `reason` when given.
    public init(_ code: Code, _ reason: String? = nil, detail: Detail? = nil) {
        self.code = code
        self.message = reason.map { "\(code.message): \($0)" } ?? code.message
        self.detail = detail
    }

    public var closesConnection: Bool { code.closesConnection }

    public var description: String { "\(code.rawValue) \(message)" }

    /// -32700: the line is not JSON.
    public static func parseError(_ reason: String) -> RPCError { RPCError(.parseError, reason) }

    /// -32600: JSON, but not a request.
    public static func invalidRequest(_ reason: String) -> RPCError { RPCError(.invalidRequest, reason) }

    /// -32601 (the name is not echoed).
    public static func methodNotFound(_ method: String) -> RPCError { RPCError(.methodNotFound) }

    /// -32602 with `{"field", "reason"}`.
    public static func invalidParams(_ field: String, _ reason: String) -> RPCError {
        RPCError(.invalidParams, detail: .param(field: field, reason: reason))
    }

    /// -32603: a bug; the detail goes to the log, not to the client.
    public static let internalError = RPCError(.internalError)

    /// -32000: storage unavailable.
    public static func storageUnavailable(_ message: String, retryable: Bool, kind: String? = nil) -> RPCError {
        RPCError(.storageUnavailable, message, detail: kind.map { .storage(retryable: retryable, kind: $0) } ?? .retryable(retryable))
    }

    /// -32001.
    public static func lineTooLong(limit: Int) -> RPCError {
        RPCError(code: .lineTooLong, message: "Line too long (limit \(limit) bytes)")
    }

    /// -32002: connection limit reached or write queue full.
    public static func overloaded(_ reason: String) -> RPCError { RPCError(.overloaded, reason, detail: .retryable(true)) }

    /// -32003.
    public static let peerNotAllowed = RPCError(.peerNotAllowed)

    private init(code: Code, message: String) {
        self.code = code
        self.message = message
        self.detail = nil
    }

    /// The one place where storage errors become JSON-RPC errors.
    ///
    /// A bad cursor is the caller's mistake (-32602 on `cursor`); an invalid argument that slipped past
    /// validation and `internal` are bugs (-32603); everything else means the storage is unusable
    /// right now (-32000), retryable as `StoreError.isRetryable` says (a full disk, an I/O error, a lock held past
    /// the timeout, a read-only or damaged file the operator must mend: the client keeps the capture meanwhile).
    public init(_ error: StoreError) {
        switch error.code {
        case .invalidCursor:
            self = .invalidParams("cursor", "not a cursor issued for this selector")
        case .limitReached:
            self = .invalidParams("params", error.message)
        case .internal, .invalidArgument:
            self = .internalError
        default:
            self = .storageUnavailable(error.message, retryable: error.isRetryable, kind: "\(error.code)")
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
        writeJSONInt(Int64(error.code.rawValue))
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
        case .storage(let retryable, let kind)?:
            writeStaticString(",\"data\":{\"retryable\":")
            writeJSONBool(retryable)
            writeStaticString(",\"kind\":")
            writeJSONString(kind)
            writeStaticString("}")
        case nil:
            break
        }
        writeStaticString("}")
    }
}
