import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the `taas-capture` executable under test lives.
enum TaasCaptureBinary {
    /// `TAAS_CAPTURE_BIN` if set, else the `taas-capture` built next to this test bundle.
    static let path: String? = locate()

    private final class Marker {}

    private static func locate() -> String? {
        if let override = ProcessInfo.processInfo.environment["TAAS_CAPTURE_BIN"], !override.isEmpty {
            return override
        }
        let bundleURL = Bundle(for: Marker.self).bundleURL
        let packageRoot = URL(fileURLWithPath: #filePath)  // Tests/EndToEndTests/Support/ServiceProcess.swift
            .deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidates = [
            bundleURL.deletingLastPathComponent(),  // .build/<triple>/debug/…PackageTests.xctest → debug
            bundleURL,
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
            URL(fileURLWithPath: CommandLine.arguments.first ?? ".").deletingLastPathComponent(),
            packageRoot.appendingPathComponent(".build/debug"),
        ]
        for directory in candidates {
            let candidate = directory.appendingPathComponent("taas-capture").path
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate)
            {
                return candidate
            }
        }
        return nil
    }
}

/// A failure to start or talk to the binary, with what it printed.
struct ServiceError: Error, CustomStringConvertible {
    var description: String
}

/// The environment the binary runs with: the test's, minus anything that could point it at a real install.
func isolatedEnvironment(home: String, overrides: [String: String]) -> [String: String] {
    var environment = ProcessInfo.processInfo.environment.filter { key, _ in
        !key.hasPrefix("TAAS_CAPTURE_") && !key.hasPrefix("OPENCLAW_")
    }
    environment["HOME"] = home
    for (key, value) in overrides { environment[key] = value }
    return environment
}

/// Launches the binary with output going to files (never pipes, which a chatty child could fill).
func launchBinary(
    _ arguments: [String], environment: [String: String], stdout: URL, stderr: URL, directory: String? = nil
) throws -> Process {
    guard let binary = TaasCaptureBinary.path else {
        throw ServiceError(
            description: "taas-capture binary not found: set TAAS_CAPTURE_BIN or build the package (swift build)")
    }
    guard FileManager.default.createFile(atPath: stdout.path, contents: nil),
        FileManager.default.createFile(atPath: stderr.path, contents: nil)
    else { throw ServiceError(description: "cannot create \(stdout.path) / \(stderr.path)") }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    process.environment = environment
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = try FileHandle(forWritingTo: stdout)
    process.standardError = try FileHandle(forWritingTo: stderr)
    try process.run()
    return process
}

/// Waits for `process` to exit; false if it is still running after `timeout` seconds.
func waitForExit(_ process: Process, timeout: Double) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline { return false }
        usleep(10_000)
    }
    return true
}

/// One `taas-capture serve` process.
final class ServiceProcess {
    let socketPath: String
    let dbPath: String
    let arguments: [String]
    let stdoutURL: URL
    let stderrURL: URL
    private(set) var process: Process

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    init(socketPath: String, dbPath: String, arguments: [String], environment: [String: String], logPrefix: String)
        throws
    {
        self.socketPath = socketPath
        self.dbPath = dbPath
        self.arguments = arguments
        self.stdoutURL = URL(fileURLWithPath: logPrefix + ".out")
        self.stderrURL = URL(fileURLWithPath: logPrefix + ".err")
        self.process = try launchBinary(arguments, environment: environment, stdout: stdoutURL, stderr: stderrURL)
    }

    /// What the service wrote to stderr so far.
    var stderr: String {
        (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
    }

    /// What the service printed so far (stdout, then stderr).
    var log: String {
        ((try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "") + stderr
    }

    /// Polls until the socket answers `taas.capture.health` with status ok.
    func waitUntilHealthy(timeout: Double = 20) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var lastProblem = "no attempt"
        while Date() < deadline {
            guard process.isRunning else {
                throw ServiceError(
                    description: "serve exited with status \(process.terminationStatus) before answering health; "
                        + "output: \(log)")
            }
            do {
                let client = try LineClient.connect(path: socketPath, timeout: 1)
                let health = try client.result("taas.capture.health", [:], timeout: 3)
                if health["status"] == "ok" { return }
                lastProblem = "health answered \(health.encoded)"
            } catch {
                lastProblem = "\(error)"
            }
            usleep(30_000)
        }
        throw ServiceError(description: "serve did not become healthy within \(timeout)s (\(lastProblem)); output: \(log)")
    }

    /// Sends SIGTERM and waits; escalates to SIGKILL. Returns the exit status if it exited on its own.
    @discardableResult
    func terminate(timeout: Double = 15) -> Int32? {
        guard process.isRunning else { return exitStatus }
        kill(pid, SIGTERM)
        if waitForExit(process, timeout: timeout) { return exitStatus }
        kill(pid, SIGKILL)
        _ = waitForExit(process, timeout: 10)
        return nil
    }

    /// kill -9, and waits until the process is gone.
    func killHard() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        _ = waitForExit(process, timeout: 10)
    }

    /// The exit status when the process exited normally; nil while running or when a signal ended it.
    var exitStatus: Int32? {
        guard !process.isRunning, process.terminationReason == .exit else { return nil }
        return process.terminationStatus
    }

    /// Resident set size in KiB, from /proc (Linux).
    func residentKiB() -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        }
        return nil
    }
}

/// What a finished CLI invocation produced.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String

    /// stdout parsed as one JSON value.
    func json() throws -> JSON {
        try JSON.parse(stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
