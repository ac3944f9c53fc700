import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Base class: a fresh temporary directory per test, services started in it and always stopped and
/// removed in tearDown, plus small helpers every end-to-end test uses.
class EndToEndTestCase: XCTestCase {
    /// A short path (socket addresses are limited to 107 bytes).
    private(set) var workDirectory = ""
    private var services: [ServiceProcess] = []
    private var launchCount = 0

    /// The default socket path for this test: in a directory the service has to create.
    var socketPath: String { workDirectory + "/run/capture.sock" }
    var dbPath: String { workDirectory + "/captures.sqlite3" }
    var homeDirectory: String { workDirectory + "/home" }

    override func setUpWithError() throws {
        try super.setUpWithError()
        var template = Array("/tmp/taas-e2e.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw ServiceError(description: "mkdtemp failed") }
        workDirectory = String(cString: created)
        try FileManager.default.createDirectory(atPath: homeDirectory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        for service in services { service.terminate(timeout: 10) }
        services.removeAll()
        if !workDirectory.isEmpty { try? FileManager.default.removeItem(atPath: workDirectory) }
        try super.tearDownWithError()
    }

    /// Starts `serve` (by default on this test's socket and database) and waits until it answers health.
    @discardableResult
    func startService(
        socket: String? = nil, db: String? = nil, arguments extraArguments: [String] = [],
        environment: [String: String] = [:], waitUntilHealthy: Bool = true
    ) throws -> ServiceProcess {
        let socket = socket ?? socketPath
        let db = db ?? dbPath
        launchCount += 1
        let service = try ServiceProcess(
            socketPath: socket, dbPath: db,
            arguments: ["serve", "--socket", socket, "--db", db] + extraArguments,
            environment: isolatedEnvironment(home: homeDirectory, overrides: environment),
            logPrefix: workDirectory + "/serve-\(launchCount)")
        services.append(service)
        if waitUntilHealthy { try service.waitUntilHealthy() }
        return service
    }

    /// Runs the binary with `arguments` to completion (at most `timeout` seconds).
    func assertSucceeded(_ result: CLIResult, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 0, "\(what): stdout \(result.stdout) stderr \(result.stderr)", file: file, line: line)
    }

    func runCLI(
        _ arguments: [String], environment: [String: String] = [:], directory: String? = nil, timeout: Double = 30
    ) throws -> CLIResult {
        launchCount += 1
        let stdout = URL(fileURLWithPath: workDirectory + "/cli-\(launchCount).out")
        let stderr = URL(fileURLWithPath: workDirectory + "/cli-\(launchCount).err")
        let process = try launchBinary(
            arguments, environment: isolatedEnvironment(home: homeDirectory, overrides: environment),
            stdout: stdout, stderr: stderr, directory: directory)
        if !waitForExit(process, timeout: timeout) {
            kill(process.processIdentifier, SIGKILL)
            _ = waitForExit(process, timeout: 5)
            throw ServiceError(description: "taas-capture \(arguments.joined(separator: " ")) ran over \(timeout)s")
        }
        let status = process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus
        return CLIResult(
            status: status,
            stdout: (try? String(contentsOf: stdout, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: stderr, encoding: .utf8)) ?? "")
    }

    /// A new connection to `service` (or this test's default socket).
    func connect(_ service: ServiceProcess? = nil, timeout: Double = 5) throws -> LineClient {
        try LineClient.connect(path: service?.socketPath ?? socketPath, timeout: timeout)
    }

    // MARK: Assertions

    /// Asserts `response` is a JSON-RPC error with `code`; for -32602 also that `error.data` names a
    /// field (one of `fields`, when given) and a reason.
    func assertError(
        _ response: JSON, code: Int64, fields: [String]? = nil, id: JSON? = nil,
        _ message: @autoclosure () -> String = "", file: StaticString = #filePath, line: UInt = #line
    ) {
        let context = message().isEmpty ? String(response.encoded.prefix(400)) : "\(message()): \(response.encoded.prefix(400))"
        guard response["error"]?["code"]?.int == code else {
            XCTFail("expected error \(code), got \(context)", file: file, line: line)
            return
        }
        XCTAssertEqual(response["jsonrpc"], "2.0", context, file: file, line: line)
        XCTAssertNil(response["result"], context, file: file, line: line)
        XCTAssertNotNil(response["error"]?["message"]?.string, context, file: file, line: line)
        if let id { XCTAssertEqual(response["id"], id, context, file: file, line: line) }
        if code == -32602 {
            let field = response["error"]?["data"]?["field"]?.string
            XCTAssertNotNil(field, "error.data.field missing: \(context)", file: file, line: line)
            XCTAssertFalse(
                response["error"]?["data"]?["reason"]?.string?.isEmpty ?? true, "error.data.reason missing: \(context)",
                file: file, line: line)
            if let fields, let field {
                XCTAssertTrue(
                    fields.contains(field), "error.data.field \(field) not in \(fields): \(context)", file: file,
                    line: line)
            }
        }
    }

    /// The result of a successful response, failing the test (and throwing) on an error response.
    func expectResult(_ response: JSON, file: StaticString = #filePath, line: UInt = #line) throws -> JSON {
        guard let result = response["result"], response["error"] == nil else {
            XCTFail("expected a result, got \(response.encoded)", file: file, line: line)
            throw ServiceError(description: "error response \(response.encoded)")
        }
        return result
    }
}

/// Milliseconds since the Unix epoch, now.
func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

/// Autorouted response headers as TaaS sends them, with `extra` added or replacing.
func autoroutedHeaders(
    model: String = "model-a", algo: String = "algo-a", requestId: String? = nil, extra: [String: JSON] = [:]
) -> JSON {
    var headers: [String: JSON] = [
        "x-taas-autorouted": "true",
        "x-taas-autorouter-model": .string(model),
        "x-taas-autorouter-mode": .string(algo),
    ]
    if let requestId { headers["x-request-id"] = .string(requestId) }
    for (key, value) in extra { headers[key] = value }
    return .object(headers)
}

extension LineClient {
    /// Records one autorouted capture and returns its id (fails on anything but a fresh store).
    @discardableResult
    func record(
        session: String, agent: String? = nil, capturedAt: Int64? = nil, model: String = "model-a",
        algo: String = "algo-a", requestId: String? = nil, idempotencyKey: String? = nil
    ) throws -> Int64 {
        var params: [String: JSON] = [
            "sessionId": .string(session),
            "headers": autoroutedHeaders(model: model, algo: algo, requestId: requestId),
        ]
        if let agent { params["agentId"] = .string(agent) }
        if let capturedAt { params["capturedAt"] = .int(capturedAt) }
        if let idempotencyKey { params["idempotencyKey"] = .string(idempotencyKey) }
        let result = try self.result("taas.autorouter.record", .object(params))
        guard result["recorded"] == true, let id = result["id"]?.int else {
            throw ClientError.protocolViolation("record answered \(result.encoded)")
        }
        return id
    }

    /// Every capture of a history selector, following cursors to the end (newest first).
    func fullHistory(_ selector: [String: JSON], pageSize: Int64 = 1000) throws -> [JSON] {
        var captures: [JSON] = []
        var cursor: JSON? = nil
        for _ in 0..<10_000 {
            var params = selector
            params["limit"] = .int(pageSize)
            if let cursor { params["cursor"] = cursor }
            let page = try result("taas.autorouter.history", .object(params))
            guard let pageCaptures = page["captures"]?.array else {
                throw ClientError.protocolViolation("history answered \(page.encoded)")
            }
            captures += pageCaptures
            guard let next = page["nextCursor"], !next.isNull else { return captures }
            cursor = next
        }
        throw ClientError.protocolViolation("history paging did not end")
    }
}

extension EndToEndTestCase {
    /// One HTTP/1.1 request to 127.0.0.1:`port` over a plain socket (`Connection: close`), and the whole response
    /// as text (empty when nothing came within 10 s).
    func httpResponse(port: Int, _ method: String, _ path: String) throws -> String {
        let fd = try rawConnect(port: port)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let request = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var text: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            text += buffer[0..<n]
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A TCP connection to 127.0.0.1:`port` (the metrics listener), as a file descriptor.
    func rawConnect(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw ServiceError(description: "connect to the metrics port failed") }
        return fd
    }
}
