import AffinityCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A failure talking to the service: it could not be reached, or it answered with an error.
public struct CaptureClientError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The socket could not be reached (not running, wrong path, permissions).
        case unreachable
        /// The connection broke, timed out, or the reply was not a JSON-RPC response.
        case protocolFailure
        /// The service answered with a JSON-RPC error.
        case rpc(code: Int, data: JSON?)
    }

    public var kind: Kind
    public var message: String

    public var description: String { message }
}

/// A minimal blocking client: connect to the socket, send one request line, read one response line.
///
/// Meant for the CLI (one request per process); not for use on an event loop.
public final class CaptureClient {
    private let fd: Int32
    private var buffered: [UInt8] = []
    private var nextId: Int64 = 1

    /// Connects to `socketPath`; `timeoutSeconds` bounds each send and receive.
    public init(socketPath: String, timeoutSeconds: Int = 30) throws(CaptureClientError) {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Self.failure(.unreachable, "cannot create a socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard socketPath.utf8.count < capacity else {
            close(fd)
            throw Self.failure(.unreachable, "socket path is longer than a Unix socket address allows: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(socketPath.utf8)) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Self.failure(.unreachable, "cannot connect to the taas-capture service at \(socketPath): \(reason)")
        }
    }

    deinit { close(fd) }

    private static func failure(_ kind: CaptureClientError.Kind, _ message: String) -> CaptureClientError {
        CaptureClientError(kind: kind, message: message)
    }

    /// Calls `method` and returns its `result`; a JSON-RPC error is thrown as `.rpc`.
    public func call(_ method: String, params: JSON = .object(JSONObject())) throws(CaptureClientError) -> JSON {
        let id = nextId
        nextId += 1
        var request = JSONObject()
        request["jsonrpc"] = .string("2.0")
        request["id"] = .int(id)
        request["method"] = .string(method)
        request["params"] = params
        let line = try sendLine(JSON.object(request).jsonText)
        let response: JSON
        do {
            response = try JSONParser.parse(line)
        } catch {
            throw Self.failure(.protocolFailure, "the service sent a reply that is not JSON: \(error)")
        }
        if let error = response["error"] {
            let code = error["code"]?.integerValue.map { Int($0) } ?? 0
            let message = error["message"]?.stringValue ?? "unknown error"
            throw CaptureClientError(kind: .rpc(code: code, data: error["data"]), message: message)
        }
        guard let result = response["result"] else {
            throw Self.failure(.protocolFailure, "the service sent a reply without a result")
        }
        return result
    }

    /// Sends one line (a newline is added) and returns the next line received, without its newline.
    public func sendLine(_ line: String) throws(CaptureClientError) -> String {
        try writeLine(line)
        return try readLine()
    }

    /// Sends one line (a newline is added) without waiting for a reply (pipelining).
    public func writeLine(_ line: String) throws(CaptureClientError) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        try writeBytes(bytes)
    }

    /// Sends raw bytes as they are.
    public func writeBytes(_ bytes: [UInt8]) throws(CaptureClientError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw Self.failure(.protocolFailure, "sending to the service failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
    }

    /// Reads the next line from the service, without its newline.
    public func readLine() throws(CaptureClientError) -> String {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffered[..<newline])
                buffered.removeFirst(newline + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            if n == 0 { throw Self.failure(.protocolFailure, "the service closed the connection") }
            guard n > 0 else {
                throw Self.failure(.protocolFailure, "no reply from the service: \(String(cString: strerror(errno)))")
            }
            buffered.append(contentsOf: chunk[..<n])
        }
    }
}
