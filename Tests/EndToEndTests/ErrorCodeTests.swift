import Foundation
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Every code of the SPEC's error table, and whether the connection stays or is closed after it.
final class ErrorCodeTests: EndToEndTestCase {
    func testUnparsableLineIsParseErrorWithNullIdAndConnectionStays() throws {
        try startService()
        let client = try connect()
        for line in [#"{"jsonrpc":"2.0","method":"taas.capture.health","id":1"#, "{]", "nul", #"{"a":1}}"#] {
            try client.sendLine(line)
            assertError(try client.readJSON(), code: -32700, id: nil, line)
        }
        XCTAssertEqual(try client.call("taas.capture.health", [:], id: 9)["result"]?["status"], "ok")
    }

    func testNonRequestsAreInvalidRequest() throws {
        try startService()
        let client = try connect()
        let lines = [
            "42", #""text""#, "null", "true",
            #"{"method":"taas.capture.health","id":1}"#,
            #"{"jsonrpc":"1.0","method":"taas.capture.health","id":1}"#,
            #"{"jsonrpc":2.0,"method":"taas.capture.health","id":1}"#,
            #"{"jsonrpc":"2.0","method":7,"id":1}"#,
            #"{"jsonrpc":"2.0","method":null,"id":1}"#,
            #"{"jsonrpc":"2.0","id":1}"#,
            #"{"jsonrpc":"2.0","method":"taas.capture.health","id":{"a":1}}"#,
            #"{"jsonrpc":"2.0","method":"taas.capture.health","id":[1]}"#,
            #"{"jsonrpc":"2.0","method":"taas.capture.health","id":true}"#,
            "[]",
        ]
        for line in lines {
            try client.sendLine(line)
            let response = try client.readJSON()
            XCTAssertNil(response.array, "\(line) is answered with one object, not a batch")
            assertError(response, code: -32600, line)
        }
        for line in ["42", "[]", #"{"jsonrpc":"2.0","method":"x","id":{"a":1}}"#] {
            try client.sendLine(line)
            XCTAssertEqual(try client.readJSON()["id"], .null, "\(line): an unreadable id is answered as null")
        }
        XCTAssertEqual(try client.call("taas.capture.health", [:], id: 9)["result"]?["status"], "ok")
    }

    func testBatchOverOneThousandIsOneInvalidRequestAndNothingRuns() throws {
        try startService()
        let client = try connect()
        let batch = JSON.array(
            (0..<1001).map {
                Request.object(
                    "taas.autorouter.record", ["sessionId": "oc:big", "headers": autoroutedHeaders()],
                    id: .int(Int64($0)))
            })
        try client.sendLine(batch.encoded)
        let response = try client.readJSON(timeout: 30)
        XCTAssertNil(response.array, "answered with a single error object")
        assertError(response, code: -32600, id: nil)
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 0)
    }

    func testUnknownMethodIsMethodNotFoundWithTheRequestId() throws {
        try startService()
        let client = try connect()
        for method in ["taas.autorouter.nope", "", "TAAS.CAPTURE.HEALTH", "taas.capture.health ", "rpc.discover"] {
            assertError(try client.call(method, [:], id: "m"), code: -32601, id: "m", method)
        }
    }

    func testBadParamsNameTheFieldAndTheReason() throws {
        try startService()
        let client = try connect()
        let long = String(repeating: "x", count: 201)
        let cases: [(String, JSON, [String])] = [
            ("taas.autorouter.record", ["headers": autoroutedHeaders()], ["sessionId"]),
            ("taas.autorouter.record", ["sessionId": 1, "headers": autoroutedHeaders()], ["sessionId"]),
            ("taas.autorouter.record", ["sessionId": .string(long), "headers": autoroutedHeaders()], ["sessionId"]),
            ("taas.autorouter.record", ["sessionId": "  ", "headers": autoroutedHeaders()], ["sessionId"]),
            ("taas.autorouter.record", ["sessionId": "oc:\u{7F}", "headers": autoroutedHeaders()], ["sessionId"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "agentId": 3, "headers": autoroutedHeaders()], ["agentId"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capturedAt": "1700000000000", "headers": autoroutedHeaders()],
             ["capturedAt"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capturedAt": .double(1.7e12 + 0.25), "headers": autoroutedHeaders()],
             ["capturedAt"]),
            ("taas.autorouter.record", ["sessionId": "oc:x"], ["headers", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "headers": autoroutedHeaders(), "capture": [:]],
             ["headers", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "headers": ["x-taas-autorouted": true]],
             ["headers", "headers.x-taas-autorouted", "x-taas-autorouted"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "headers": ["x-taas-autorouted", "true"]], ["headers"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capture": ["routedContextWindow": "12"]],
             ["capture.routedContextWindow", "routedContextWindow", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capture": ["routedContextWindow": 0]],
             ["capture.routedContextWindow", "routedContextWindow", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capture": ["routedContextWindow": 2_147_483_648]],
             ["capture.routedContextWindow", "routedContextWindow", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capture": ["autorouterModel": .string(long)]],
             ["capture.autorouterModel", "autorouterModel", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capture": ["thinkingApplied": true]],
             ["capture.thinkingApplied", "thinkingApplied", "capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "capture": "model"], ["capture"]),
            ("taas.autorouter.record", ["sessionId": "oc:x", "headers": autoroutedHeaders(), "idempotencyKey": 5],
             ["idempotencyKey"]),
            ("taas.autorouter.record",
             ["sessionId": "oc:x", "headers": autoroutedHeaders(), "idempotencyKey": .string(long)], ["idempotencyKey"]),
            ("taas.autorouter.lastRoute", ["agentId": 5], ["agentId"]),
            ("taas.autorouter.lastRoute", ["sessionId": ""], ["sessionId"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "limit": 0], ["limit"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "limit": 1001], ["limit"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "limit": -1], ["limit"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "limit": 2.5], ["limit"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "limit": "10"], ["limit"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "cursor": "not-a-cursor"], ["cursor"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "cursor": 12], ["cursor"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "since": "yesterday"], ["since"]),
            ("taas.autorouter.history", ["sessionId": "oc:x", "until": [1]], ["until"]),
            ("taas.autorouter.history", ["limit": 5], []),
            ("taas.autorouter.stats", ["since": "0"], ["since"]),
            ("taas.autorouter.stats", ["agentId": ["a"]], ["agentId"]),
            ("taas.capture.prune", ["maxAgeMs": -1], ["maxAgeMs"]),
            ("taas.capture.prune", ["maxPerSession": "2"], ["maxPerSession"]),
            ("taas.capture.prune", ["maxRows": 1.5], ["maxRows"]),
            ("taas.capture.prune", ["dryRun": "yes"], ["dryRun"]),
            ("taas.affinity.deriveSessionId", ["agentId": false], ["agentId"]),
            ("taas.affinity.deriveSessionId", ["stateDir": 1], ["stateDir"]),
        ]
        for (index, item) in cases.enumerated() {
            let response = try client.call(item.0, item.1, id: .int(Int64(index)))
            assertError(
                response, code: -32602, fields: item.2.isEmpty ? nil : item.2, id: .int(Int64(index)),
                "\(item.0) \(item.1.encoded)")
        }
        XCTAssertEqual(try client.result("taas.autorouter.stats", [:])["total"], 0, "no bad record was stored")
    }

    func testParamsThatAreNotAnObjectAreRejected() throws {
        try startService()
        let client = try connect()
        for params: JSON in [["oc:x"], "oc:x", 5] {
            let response = try client.call("taas.autorouter.record", params, id: 1)
            let code = response["error"]?["code"]?.int
            XCTAssertTrue(code == -32602 || code == -32600, "\(params.encoded) answered \(response.encoded)")
        }
    }

    func testStorageBusyPastItsTimeoutIsRetryableStorageError() throws {
        let service = try startService()
        let client = try connect()
        try client.record(session: "oc:before")
        let lock = try WriteLockHolder(database: service.dbPath)
        defer { lock.release() }
        guard lock.acquire() else {
            throw XCTSkip("-32000 not provoked: the service holds the database so another writer cannot lock it")
        }
        let started = Date()
        let response = try client.call(
            "taas.autorouter.record", ["sessionId": "oc:blocked", "headers": autoroutedHeaders()], timeout: 60)
        assertError(response, code: -32000)
        XCTAssertEqual(response["error"]?["data"]?["retryable"], true, response.encoded)
        // Readers are not blocked by a writer in WAL mode.
        let other = try connect()
        let readStart = Date()
        XCTAssertEqual(try other.result("taas.autorouter.lastRoute", ["sessionId": "oc:before"])["capture"]?.isNull, false)
        XCTAssertLessThan(Date().timeIntervalSince(readStart), 5)
        lock.release()
        XCTAssertEqual(try client.call("taas.capture.health", [:], id: 2)["result"]?["status"], "ok", "connection stays")
        XCTAssertEqual(try client.record(session: "oc:after") > 0, true)
        XCTAssertEqual(try client.fullHistory(["sessionId": "oc:blocked"]).count, 0)
        print("busy record answered after \(Date().timeIntervalSince(started))s")
    }

    func testLineOverTheLimitIsAnsweredThenClosedAndOthersAreServed() throws {
        try startService()
        let bystander = try connect()
        let client = try connect()
        let huge = #"{"jsonrpc":"2.0","method":"taas.capture.health","params":{"pad":""#
            + String(repeating: "a", count: 1_048_576 + 1024) + #""},"id":1}"# + "\n"
        _ = try? client.sendSome(Array(huge.utf8), timeout: 10)
        let response = try client.readJSON(timeout: 10)
        assertError(response, code: -32001)
        XCTAssertTrue(client.waitForClose(timeout: 5), "the connection is closed after -32001")
        XCTAssertEqual(try bystander.call("taas.capture.health", [:], id: 2, timeout: 5)["result"]?["status"], "ok")

        // Just under the limit is still a line.
        let under = try connect()
        let nearly = #"{"jsonrpc":"2.0","method":"taas.autorouter.lastRoute","params":{"sessionId":""#
            + String(repeating: "b", count: 1_000_000) + #""},"id":3}"#
        try under.sendLine(nearly)
        assertError(try under.readJSON(), code: -32602, fields: ["sessionId"])
    }

    func testAnswersQueuedBeforeAnOverlongLineAreAllWrittenBeforeMinus32001() throws {
        try startService(arguments: ["--max-line-bytes", "1024"])
        let client = try connect()
        // 100 records (more than one loop tick runs at once, and each waits for a commit), then a line
        // over the limit whose bytes keep coming after the decoder gave up on it.
        var bytes = ""
        for index in 0..<100 {
            bytes += Request.line(
                "taas.autorouter.record",
                ["sessionId": "oc:before-long", "headers": autoroutedHeaders(requestId: "bl-\(index)")],
                id: .int(Int64(index))) + "\n"
        }
        bytes += String(repeating: "x", count: 200_000) + "\n"
        _ = try? client.sendSome(Array(bytes.utf8), timeout: 10)
        for index in 0..<100 {
            let response = try client.readJSON(timeout: 10)
            XCTAssertEqual(response["id"], .int(Int64(index)), "answers come in request order")
            XCTAssertEqual(response["result"]?["recorded"], true, "line \(index) answered before -32001")
        }
        assertError(try client.readJSON(timeout: 10), code: -32001)
        XCTAssertTrue(client.waitForClose(timeout: 5), "the connection is closed after -32001")
        let other = try connect()
        let stats = try other.call("taas.autorouter.stats", ["sessionId": "oc:before-long"], id: 1)
        XCTAssertEqual(stats["result"]?["total"], 100, "every answered record is stored")
    }

    func testConnectionsOverTheLimitAreRefusedWithOverloadedThenClosed() throws {
        try startService(arguments: ["--max-connections", "4"])
        var accepted: [LineClient] = []
        for index in 0..<4 {
            let client = try connect()
            XCTAssertEqual(try client.call("taas.capture.health", [:], id: .int(Int64(index)))["result"]?["status"], "ok")
            accepted.append(client)
        }
        let refused = try connect()
        try? refused.sendLine(Request.line("taas.capture.health", [:], id: 5))
        let response = try refused.readJSON(timeout: 5)
        assertError(response, code: -32002)
        XCTAssertTrue(refused.waitForClose(timeout: 5))
        XCTAssertEqual(try accepted[0].call("taas.capture.health", [:], id: 6)["result"]?["status"], "ok")

        accepted.removeLast().close()
        let deadline = Date().addingTimeInterval(5)
        var admitted = false
        while !admitted, Date() < deadline {
            let client = try connect()
            admitted = (try? client.call("taas.capture.health", [:], id: 7, timeout: 2))?["result"] != nil
            if !admitted { usleep(50_000) }
        }
        XCTAssertTrue(admitted, "a freed slot admits a new connection")
    }

    func testPeerOfAnotherUidIsRefusedAndAllowUidAdmitsIt() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run a client as uid 65534 (setpriv)") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"),
            FileManager.default.isExecutableFile(atPath: "/usr/bin/python3")
        else { throw XCTSkip("needs /usr/bin/setpriv and /usr/bin/python3") }

        let refusedService = try startService()
        XCTAssertEqual(try foreignPeerExchange(socket: refusedService.socketPath).code, -32003)
        XCTAssertEqual(try foreignPeerExchange(socket: refusedService.socketPath).closed, true)
        XCTAssertEqual(try connect().call("taas.capture.health", [:])["result"]?["status"], "ok", "own uid still served")

        let allowedSocket = workDirectory + "/run2/capture.sock"
        try startService(
            socket: allowedSocket, db: workDirectory + "/allowed.sqlite3", arguments: ["--allow-uid", "65534"])
        let allowed = try foreignPeerExchange(socket: allowedSocket)
        XCTAssertNil(allowed.code, "allowed uid gets a result: \(allowed.output)")
        XCTAssertTrue(allowed.output.contains(#""status":"ok""#) || allowed.output.contains(#""status": "ok""#), allowed.output)
    }

    /// Connects as uid/gid 65534 and sends one health request; the socket's directory and the socket are
    /// opened up for that uid first (the service creates them 0700/0600, which would stop it at the file system).
    private func foreignPeerExchange(socket: String) throws -> (code: Int64?, closed: Bool, output: String) {
        let directory = (socket as NSString).deletingLastPathComponent
        for path in [workDirectory, directory] { chmod(path, 0o711) }
        chmod(socket, 0o666)
        let script = """
            import socket, sys
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(sys.argv[1])
            try:
                s.sendall(b'{"jsonrpc":"2.0","method":"taas.capture.health","params":{},"id":1}\\n')
            except OSError:
                pass
            data = b''
            closed = False
            try:
                while b'\\n' not in data:
                    chunk = s.recv(65536)
                    if not chunk:
                        closed = True
                        break
                    data += chunk
                if not closed and b'"error"' in data:
                    while s.recv(65536):
                        pass
                    closed = True
            except ConnectionResetError:
                closed = True
            except socket.timeout:
                pass
            print(data.decode('utf-8', 'replace').split('\\n')[0])
            print('CLOSED' if closed else 'OPEN')
            """
        let result = try runProgram(
            "/usr/bin/setpriv", environment: ["PATH": "/usr/bin:/bin", "HOME": "/"],
            ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script, socket])
        let lines = result.split(separator: "\n").map(String.init)
        let response = try? JSON.parse(lines.first ?? "")
        return (response?["error"]?["code"]?.int, lines.last == "CLOSED", result)
    }

    private func runProgram(_ path: String, environment: [String: String], _ arguments: [String]) throws -> String {
        let output = URL(fileURLWithPath: workDirectory + "/program-\(UUID().uuidString).out")
        guard FileManager.default.createFile(atPath: output.path, contents: nil) else {
            throw ServiceError(description: "cannot create \(output.path)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
        if !waitForExit(process, timeout: 20) {
            process.terminate()
            throw ServiceError(description: "\(path) did not finish")
        }
        return (try? String(contentsOf: output, encoding: .utf8)) ?? ""
    }
}
