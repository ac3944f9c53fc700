import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// File-scope wrappers: inside `LineClient`, the names `close`, `send`, `read` and `connect` mean its methods.
private func posixClose(_ fd: Int32) -> Int32 { close(fd) }
private func posixRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int { read(fd, buffer, count) }
private func posixSend(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ flags: Int32) -> Int {
    send(fd, buffer, count, flags)
}
private func posixConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    connect(fd, address, length)
}
#if canImport(Glibc)
    private let streamSocketType = Int32(SOCK_STREAM.rawValue)
    private let noSignalFlag = Int32(MSG_NOSIGNAL)
#else
    private let streamSocketType = SOCK_STREAM
    private let noSignalFlag: Int32 = 0
#endif

/// Why a client operation did not complete.
enum ClientError: Error, CustomStringConvertible {
    case timedOut(String)
    case closed(String)
    case system(String, Int32)
    case protocolViolation(String)

    var description: String {
        switch self {
        case .timedOut(let what): return "timed out: \(what)"
        case .closed(let what): return "connection closed: \(what)"
        case .system(let call, let code): return "\(call) failed: \(String(cString: strerror(code)))"
        case .protocolViolation(let what): return "protocol violation: \(what)"
        }
    }
}

/// A blocking-with-deadlines client for the service's line protocol over a Unix stream socket.
///
/// Every operation takes a timeout, so a silent or stuck service fails the test instead of hanging it.
/// Not thread-safe: one thread uses one client.
final class LineClient {
    private(set) var fd: Int32
    private var buffer: [UInt8] = []
    private var sawEOF = false

    private init(fd: Int32) { self.fd = fd }

    deinit { close() }

    /// Connects to `path`, waiting at most `timeout` seconds (a full listen backlog makes connect wait).
    static func connect(path: String, timeout: Double = 5) throws(ClientError) -> LineClient {
        let fd = socket(AF_UNIX, streamSocketType, 0)
        guard fd >= 0 else { throw .system("socket", errno) }
        let client = LineClient(fd: fd)
        var sendTimeout = timeval()
        sendTimeout.tv_sec = .init(timeout)
        sendTimeout.tv_usec = .init((timeout - Double(Int(timeout))) * 1e6)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))

        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard pathBytes.count < capacity else { throw .system("connect (path too long)", ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                posixConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else { throw .system("connect", errno) }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        return client
    }

    /// Closes the socket (idempotent).
    func close() {
        if fd >= 0 {
            _ = posixClose(fd)
            fd = -1
        }
    }

    /// Half-closes: the service sees end of input but can still answer.
    func shutdownWrite() {
        _ = shutdown(fd, Int32(SHUT_WR))
    }

    // MARK: Writing

    /// Writes all of `bytes`, failing if the service does not take them within `timeout` seconds.
    func send(_ bytes: [UInt8], timeout: Double = 10) throws(ClientError) {
        let written = try sendSome(bytes, timeout: timeout)
        guard written == bytes.count else {
            throw .timedOut("service accepted \(written) of \(bytes.count) bytes")
        }
    }

    /// Writes as much of `bytes` as the service takes within `timeout`; returns how many were written.
    /// Throws only when the connection is gone (EPIPE, ECONNRESET).
    @discardableResult
    func sendSome(_ bytes: [UInt8], timeout: Double) throws(ClientError) -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                posixSend(fd, raw.baseAddress! + offset, bytes.count - offset, noSignalFlag)
            }
            if count > 0 {
                offset += count
                continue
            }
            let code = errno
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else {
                if code == EPIPE || code == ECONNRESET { throw .closed("send: \(String(cString: strerror(code)))") }
                throw .system("send", code)
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return offset }
            _ = waitFor(Int16(POLLOUT), timeout: min(remaining, 0.2))
        }
        return offset
    }

    func sendLine(_ text: String, timeout: Double = 10) throws(ClientError) {
        try send(Array((text + "\n").utf8), timeout: timeout)
    }

    // MARK: Reading

    /// The next line without its terminator (and without a trailing `\r`), or nil at end of stream.
    func readLine(timeout: Double = 10) throws(ClientError) -> [UInt8]? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[..<newline])
                buffer.removeSubrange(...newline)
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if sawEOF {
                guard buffer.isEmpty else {
                    let partial = String(decoding: buffer.prefix(200), as: UTF8.self)
                    throw .protocolViolation("stream ended inside a line: \(partial)")
                }
                return nil
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { throw .timedOut("no complete line within \(timeout)s") }
            try fill(timeout: remaining)
        }
    }

    /// The next line parsed as JSON; end of stream is an error here.
    func readJSON(timeout: Double = 10) throws -> JSON {
        guard let line = try readLine(timeout: timeout) else { throw ClientError.closed("expected a response line") }
        return try JSON.parse(line)
    }

    /// True when the service closes the connection within `timeout` (any further lines are discarded).
    func waitForClose(timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !sawEOF {
            buffer.removeAll(keepingCapacity: true)
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return false }
            do { try fill(timeout: remaining) } catch { return sawEOF }
        }
        return true
    }

    /// True when nothing at all arrives within `timeout` (the connection stays open and silent).
    func isSilent(for timeout: Double) -> Bool {
        guard buffer.isEmpty, !sawEOF else { return false }
        return !waitFor(Int16(POLLIN), timeout: timeout)
    }

    private func fill(timeout: Double) throws(ClientError) {
        guard waitFor(Int16(POLLIN), timeout: timeout) else { return }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { posixRead(fd, $0.baseAddress, $0.count) }
        if count > 0 {
            buffer.append(contentsOf: chunk[..<count])
        } else if count == 0 {
            sawEOF = true
        } else {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return }
            // A reset after the service closed with our bytes still unread is an end of stream to us.
            if code == ECONNRESET || code == EPIPE { sawEOF = true; return }
            throw .system("read", code)
        }
    }

    /// Polls for `events`; true when ready (or hung up / in error, which the next call will report).
    private func waitFor(_ events: Int16, timeout: Double) -> Bool {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let milliseconds = Int32(max(0, min(timeout, 3600)) * 1000)
        while true {
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0, errno == EINTR { continue }
            return ready > 0
        }
    }

    // MARK: JSON-RPC

    /// Sends one request and returns its response (which must carry the same id).
    func call(_ method: String, _ params: JSON? = nil, id: JSON = 1, timeout: Double = 10) throws -> JSON {
        try sendLine(Request.line(method, params, id: id), timeout: timeout)
        let response = try readJSON(timeout: timeout)
        guard response["id"] == id else {
            throw ClientError.protocolViolation("response id \(response["id"]?.encoded ?? "-") for request id \(id.encoded)")
        }
        return response
    }

    /// Sends one request and returns its `result`, failing if the service answered with an error.
    func result(_ method: String, _ params: JSON? = nil, timeout: Double = 10) throws -> JSON {
        let response = try call(method, params, timeout: timeout)
        guard let result = response["result"] else {
            throw ClientError.protocolViolation("\(method) \(params?.encoded ?? "") answered \(response.encoded)")
        }
        return result
    }
}

/// Builders for JSON-RPC request text.
enum Request {
    static func object(_ method: String, _ params: JSON? = nil, id: JSON?) -> JSON {
        var members: [String: JSON] = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { members["params"] = params }
        if let id { members["id"] = id }
        return .object(members)
    }

    static func line(_ method: String, _ params: JSON? = nil, id: JSON?) -> String {
        object(method, params, id: id).encoded
    }
}
