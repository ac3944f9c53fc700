import AffinityCore
import CaptureServer
import ServiceClient
import Foundation
import XCTest

final class ServerTransportTests: XCTestCase {
    func testPipelinedResponsesComeInRequestOrder() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        let client = try server.client()
        var lines: [String] = []
        for i in 0..<300 {
            // Writes (answered after commit) interleaved with reads (answered at once).
            lines.append(i % 3 == 0 ? Line.record(i, rid: "p\(i)") : Line.request(i, "taas.autorouter.lastRoute", #"{"agentId":"agent-1"}"#))
        }
        try client.writeBytes(Array((lines.joined(separator: "\r\n") + "\r\n").utf8))
        for i in 0..<300 {
            let reply = try response(try client.readLine())
            XCTAssertEqual(reply["id"], .int(Int64(i)))
            XCTAssertNil(reply["error"])
        }
        try await server.stop()
    }

    func testBatchesAndNotifications() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        let client = try server.client()
        // A notification is executed but not answered: the record is stored.
        try client.writeLine(#"{"jsonrpc":"2.0","method":"taas.autorouter.record","params":{"sessionId":"oc:aaaaaaaaaaaaaaaa","capture":{"autorouterModel":"n"}}}"#)
        // Pipelined calls may run concurrently; an answered record queued behind it means it is committed.
        _ = try client.call("taas.autorouter.record", params: try JSONParser.parse(#"{"sessionId":"oc:bbbbbbbbbbbbbbbb","capture":{}}"#))
        // An all-notification batch produces no line; the next request's answer comes first.
        try client.writeLine(#"[{"jsonrpc":"2.0","method":"taas.capture.health"},{"jsonrpc":"2.0","method":"nope"}]"#)
        let batch = #"[{"jsonrpc":"2.0","id":1,"method":"taas.autorouter.lastRoute","params":{"sessionId":"oc:aaaaaaaaaaaaaaaa"}},{"jsonrpc":"2.0","method":"taas.capture.health"},5,{"jsonrpc":"2.0","id":null,"method":"nope"},{"jsonrpc":"2.0","id":"r","method":"taas.autorouter.record","params":{"sessionId":"oc:aaaaaaaaaaaaaaaa","capture":{}}}]"#
        let reply = try JSONParser.parse(try client.sendLine(batch))
        let items = try XCTUnwrap(reply.arrayValue)
        XCTAssertEqual(items.count, 4)
        XCTAssertEqual(items[0]["result"]?["capture"]?["autorouterModel"], .string("n"))
        XCTAssertEqual(items[1]["error"]?["code"], .int(-32600))
        XCTAssertEqual(items[1]["id"], .null)
        XCTAssertEqual(items[2]["error"]?["code"], .int(-32601))
        XCTAssertEqual(items[2]["id"], .null)
        XCTAssertEqual(items[3]["id"], .string("r"))
        XCTAssertEqual(items[3]["result"]?["recorded"], .bool(true))
        XCTAssertEqual(try response(try client.sendLine("[]"))["error"]?["code"], .int(-32600))
        XCTAssertEqual(try response(try client.sendLine("{oops"))["error"]?["code"], .int(-32700))
        XCTAssertEqual(try response(try client.sendLine("{oops"))["id"], .null)
        // The connection is still usable after bad input.
        XCTAssertEqual(try client.call("taas.capture.health")["captures"], .int(3))
        try await server.stop()
    }

    func testLineTooLongIsAnsweredThenClosed() async throws {
        let server = try await ServerHarness.start { $0.maxLineBytes = 1024 }
        defer { server.remove() }
        let client = try server.client()
        XCTAssertNotNil(try client.call("taas.capture.health")["status"])
        try client.writeBytes(Array(repeating: UInt8(ascii: "x"), count: 4096))
        let reply = try response(try client.readLine())
        XCTAssertEqual(reply["error"]?["code"], .int(-32001))
        XCTAssertThrowsError(try client.readLine())
        // Others are unaffected.
        XCTAssertNotNil(try server.client().call("taas.capture.health")["status"])
        try await server.stop()
    }

    func testConnectionLimitAnswersOverloadedAndCloses() async throws {
        let server = try await ServerHarness.start { $0.maxConnections = 2 }
        defer { server.remove() }
        let a = try server.client()
        let b = try server.client()
        _ = try a.call("taas.capture.health")
        _ = try b.call("taas.capture.health")
        let c = try server.client()
        let reply = try response(try c.readLine())
        XCTAssertEqual(reply["error"]?["code"], .int(-32002))
        XCTAssertEqual(reply["error"]?["data"]?["retryable"], .bool(true))
        XCTAssertThrowsError(try c.readLine())
        _ = try a.call("taas.capture.health")
        try await server.stop()
    }

    func testClientThatNeverReadsDoesNotStallOthers() async throws {
        let server = try await ServerHarness.start { $0.maxPendingPerConnection = 64 }
        defer { server.remove() }
        let socketPath = server.socketPath
        // Far more than the socket buffers hold; the server must stop reading this peer, not block.
        let line = Line.request(1, "taas.autorouter.lastRoute", #"{"agentId":"agent-1"}"#) + "\n"
        let chunk = Array(String(repeating: line, count: 2000).utf8)
        let writer = Thread {
            guard let stuck = try? CaptureClient(socketPath: socketPath, timeoutSeconds: 2) else { return }
            for _ in 0..<50 { if (try? stuck.writeBytes(chunk)) == nil { break } }
        }
        writer.start()
        try await Task.sleep(for: .milliseconds(300))
        let other = try server.client()
        for _ in 0..<20 { XCTAssertEqual(try other.call("taas.capture.health")["status"], .string("ok")) }
        try await server.stop()
    }

    func testGroupCommitAcknowledgesAndStoresEveryConcurrentRecord() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        let connections = 8
        let perConnection = 250
        try await withThrowingTaskGroup(of: Void.self) { group in
            for c in 0..<connections {
                let socketPath = server.socketPath
                group.addTask {
                    let client = try CaptureClient(socketPath: socketPath)
                    var lines = ""
                    for i in 0..<perConnection {
                        lines += Line.record(i, session: "oc:00000000000000\(String(format: "%02x", c))", rid: "c\(c)-\(i)") + "\n"
                    }
                    try client.writeBytes(Array(lines.utf8))
                    for i in 0..<perConnection {
                        let reply = try JSONParser.parse(try client.readLine())
                        XCTAssertEqual(reply["id"], .int(Int64(i)))
                        XCTAssertEqual(reply["result"]?["recorded"], .bool(true))
                        XCTAssertEqual(reply["result"]?["duplicate"], .bool(false))
                    }
                }
            }
            try await group.waitForAll()
        }
        let stats = try server.client().call("taas.autorouter.stats")
        XCTAssertEqual(stats["total"], .int(Int64(connections * perConnection)))
        XCTAssertEqual(stats["sessions"], .int(Int64(connections)))
        // Every connection wrote its 250 records at once, so they queue while a commit runs and the
        // writer takes them together: fewer transactions than records (about 2 in 5 here).
        let health = try server.client().call("taas.capture.health")
        XCTAssertEqual(health["recordsCommitted"], .int(Int64(connections * perConnection)))
        let commits = try XCTUnwrap(health["commits"]?.integerValue)
        XCTAssertGreaterThan(commits, 0)
        XCTAssertLessThanOrEqual(commits, Int64(connections * perConnection * 3 / 4), "records share commits")
        try await server.stop()
    }

    func testScansBeyondTheWaitingBoundAreRefusedWithOverloadedAndTheConnectionCloses() async throws {
        let server = try await ServerHarness.start { $0.maxWaitingScans = 1 }
        defer { server.remove() }
        let client = try server.client()
        // 64 stats in one write run in one loop tick, faster than the scan thread answers them.
        let lines = (0..<64).map { Line.request($0, "taas.autorouter.stats") }.joined(separator: "\n") + "\n"
        try client.writeBytes(Array(lines.utf8))
        var codes: [Int64] = []
        while let line = try? client.readLine() {
            let reply = try JSONParser.parse(line)
            if let code = reply["error"]?["code"]?.integerValue {
                codes.append(code)
                break
            }
        }
        XCTAssertEqual(codes, [-32002], "a stats past the bound is refused as overloaded")
        XCTAssertThrowsError(try client.readLine(), "and its connection is closed")
        XCTAssertEqual(try server.client().call("taas.capture.health")["status"], .string("ok"), "others are served")
        try await server.stop()
    }

    func testGracefulShutdownRemovesSocketAndASecondInstanceIsRefused() async throws {
        let server = try await ServerHarness.start()
        defer { server.remove() }
        var second = server.configuration
        second.socketPath = server.directory + "/other.sock"
        do {
            try await CaptureService(configuration: second).run()
            XCTFail("a second instance started")
        } catch let error as StartupError {
            XCTAssertEqual(error.code, .alreadyRunning)
            XCTAssertTrue(error.message.hasPrefix("another taas-capture is already serving"))
        }
        _ = try server.client().call("taas.autorouter.record", params: try JSONParser.parse(#"{"sessionId":"s","capture":{}}"#))
        try await server.stop()
        XCTAssertFalse(FileManager.default.fileExists(atPath: server.socketPath))
        let attributes = try FileManager.default.attributesOfItem(atPath: server.directory + "/run")
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o700)
    }

    func testSocketPathTooLongIsAClearStartupError() async throws {
        let config = ServerConfiguration(socketPath: "/tmp/" + String(repeating: "s", count: 200), dbPath: "/tmp/x.sqlite3")
        do {
            try await CaptureService(configuration: config).run()
            XCTFail("started")
        } catch let error as StartupError {
            XCTAssertEqual(error.code, .socketPathTooLong)
        }
    }
}
