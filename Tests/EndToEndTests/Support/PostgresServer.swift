import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A real PostgreSQL server (Debian's `postgresql`) in a temporary directory, through `scripts/pg-server`:
/// initdb, a Unix socket there and 127.0.0.1 with TLS only, password authentication, run as the unprivileged
/// `postgres` user when the tests run as root. Each test takes a database of its own.
final class PostgresServer: @unchecked Sendable {
    let directory: String
    let port: Int
    private var databases = 0

    static let script = URL(fileURLWithPath: #filePath)  // Tests/EndToEndTests/Support/PostgresServer.swift
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/pg-server").path

    /// initdb and start; fails the test run with the script's words when PostgreSQL is not installed.
    init() throws {
        var template = Array("/tmp/taas-pg.XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw ServiceError(description: "mkdtemp failed") }
        directory = String(cString: created)
        port = try Self.freePort()
        try Self.run([Self.script, "init", directory, String(port)])
        try start()
    }

    var password: String {
        (try? String(contentsOfFile: directory + "/password", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// A URL over the Unix socket with the server's password, or `password` instead (empty: none at all, for
    /// ~/.pgpass).
    func url(database: String, password: String? = nil) -> String {
        let secret = password ?? self.password
        let credentials = secret.isEmpty ? "postgres" : "postgres:\(secret)"
        return "postgresql://\(credentials)@/\(database)?host=\(directory)/sock&port=\(port)"
    }

    /// A URL over TCP on 127.0.0.1 (which the server takes only with TLS).
    func tcpURL(database: String, sslmode: String) -> String {
        "postgresql://postgres:\(password)@127.0.0.1:\(port)/\(database)?sslmode=\(sslmode)"
    }

    /// A new, empty database for one test.
    func createDatabase(_ prefix: String = "fleet") throws -> String {
        databases += 1
        let name = "\(prefix)_\(getpid())_\(databases)"
        _ = try psql("postgres", "CREATE DATABASE \(name)")
        return name
    }

    func start() throws { try Self.run([Self.script, "start", directory]) }

    /// `fast` (clients told, then stopped) or `immediate` (as if it crashed: no shutdown checkpoint).
    func stop(_ mode: String = "fast") throws { try Self.run([Self.script, "stop", directory, mode]) }

    var postmasterPID: pid_t? {
        guard let text = try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { pid_t($0) }
    }

    /// SIGSTOP to the postmaster and every backend: the server accepts connections and answers nothing.
    func pause() { signalAll(SIGSTOP) }
    func resume() { signalAll(SIGCONT) }

    private func signalAll(_ signal: Int32) {
        guard let parent = postmasterPID else { return }
        kill(parent, signal)
        _ = try? Self.run(["pkill", "-\(signal == SIGSTOP ? "STOP" : "CONT")", "-P", String(parent)])
    }

    /// Runs `sql` with psql in `database` and returns its unaligned, tuples-only output.
    @discardableResult
    func psql(_ database: String, _ sql: String) throws -> String {
        let output = try Self.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", url(database: database), "-c", sql])
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// An integer from `sql`.
    func count(_ database: String, _ sql: String) throws -> Int {
        let text = try psql(database, sql)
        guard let value = Int(text) else { throw ServiceError(description: "psql answered \(text) to \(sql)") }
        return value
    }

    func shutdown() {
        resume()
        try? stop("immediate")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Runs a command to completion with posix_spawn and waitpid. Output goes to files, not pipes: `pg-server
    /// start` leaves a server behind that would hold a pipe open. (Foundation's Process was seen to miss the
    /// exit of a child that leaves a daemon behind.)
    @discardableResult
    private static func run(_ arguments: [String]) throws -> String {
        let base = NSTemporaryDirectory() + "taas-pg-run-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        defer {
            unlink(base + ".out")
            unlink(base + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, arguments[0], &actions, nil, &argv, environ)
        guard spawned == 0 else { throw ServiceError(description: "cannot run \(arguments[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let output = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let exited = (status & 0x7f) == 0 && ((status >> 8) & 0xff) == 0
        guard exited else {
            let error = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            throw ServiceError(description: "\(arguments.prefix(2).joined(separator: " ")) failed: \(error)")
        }
        return output
    }

    /// A TCP port nobody listens on now (bound to 0, read back, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw ServiceError(description: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
