import AffinityCore
import CaptureServer
import ServiceClient
import CaptureStore
import Foundation
import Logging
import ServiceLifecycle
import XCTest

/// A real service on a real socket and SQLite file in a fresh temp directory.
final class ServerHarness: Sendable {
    let directory: String
    let configuration: ServerConfiguration
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var socketPath: String { configuration.socketPath }

    static func start(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) async throws -> ServerHarness {
        let directory = NSTemporaryDirectory() + "cs-" + String(UUID().uuidString.prefix(8))
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        var configuration = ServerConfiguration(
            socketPath: directory + "/run/c.sock", dbPath: directory + "/captures.sqlite3", logger: logger
        )
        configuration.eventLoopThreads = 2
        adjust(&configuration)
        let (ready, continuation) = AsyncStream<Void>.makeStream()
        let service = CaptureService(configuration: configuration) { continuation.yield() }
        let group = ServiceGroup(configuration: .init(services: [service], logger: logger))
        let task = Task { try await group.run() }
        for await _ in ready { break }
        return ServerHarness(directory: directory, configuration: configuration, group: group, task: task)
    }

    private init(directory: String, configuration: ServerConfiguration, group: ServiceGroup, task: Task<Void, any Error>) {
        self.directory = directory
        self.configuration = configuration
        self.group = group
        self.task = task
    }

    /// Graceful shutdown; waits for the service to finish.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await task.value
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func client() throws -> CaptureClient { try CaptureClient(socketPath: socketPath, timeoutSeconds: 20) }
}

/// Builds request lines.
enum Line {
    static func request(_ id: Int, _ method: String, _ params: String = "{}") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#
    }

    static func record(_ id: Int, session: String = "oc:0123456789abcdef", agent: String = "agent-1", rid: String? = nil) -> String {
        let requestId = rid.map { #","x-request-id":"\#($0)""# } ?? ""
        return request(
            id, "taas.autorouter.record",
            #"{"sessionId":"\#(session)","agentId":"\#(agent)","headers":{"x-taas-autorouted":"true","x-taas-autorouter-model":"m1","x-taas-routed-context-window":"200000"\#(requestId)}}"#
        )
    }
}

extension XCTestCase {
    /// Parses a response line and returns it as an object.
    func response(_ line: String, file: StaticString = #filePath, line l: UInt = #line) throws -> JSON {
        let value = try JSONParser.parse(line)
        XCTAssertEqual(value["jsonrpc"], .string("2.0"), file: file, line: l)
        return value
    }
}
