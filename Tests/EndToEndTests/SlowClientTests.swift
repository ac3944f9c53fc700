import Foundation
import XCTest

/// Clients that do not read, send one byte at a time, half-close, or arrive in a storm.
final class SlowClientTests: EndToEndTestCase {
    /// Asserts a fresh connection gets `health` answered within `bound` seconds.
    private func assertServedPromptly(
        _ client: LineClient, id: Int64, bound: Double = 5, _ context: String, file: StaticString = #filePath,
        line: UInt = #line
    ) {
        let started = Date()
        do {
            let response = try client.call("taas.capture.health", [:], id: .int(id), timeout: bound)
            XCTAssertEqual(response["result"]?["status"], "ok", context, file: file, line: line)
            XCTAssertLessThan(Date().timeIntervalSince(started), bound, context, file: file, line: line)
        } catch {
            XCTFail("\(context): not served within \(bound)s: \(error)", file: file, line: line)
        }
    }

    func testClientThatNeverReadsStallsNobodyAndMemoryStaysBounded() throws {
        let service = try startService()
        let seeder = try connect()
        let seed = JSON.array(
            (0..<200).map { index in
                Request.object(
                    "taas.autorouter.record",
                    ["sessionId": "oc:hog", "headers": autoroutedHeaders(
                        model: String(repeating: "m", count: 150), algo: String(repeating: "a", count: 150),
                        requestId: "hog-\(index)")],
                    id: .int(Int64(index)))
            })
        try seeder.sendLine(seed.encoded)
        XCTAssertEqual(try seeder.readJSON(timeout: 30).array?.count, 200)
        let baseline = service.residentKiB() ?? 0

        // 10k requests whose answers are ~100 KB each: ~1 GB if the service buffered them all.
        let request = Request.line("taas.autorouter.history", ["sessionId": "oc:hog", "limit": 200], id: 1) + "\n"
        let flood = Array(String(repeating: request, count: 10_000).utf8)
        let socket = socketPath
        let written = Locked(0)
        let release = DispatchSemaphore(value: 0)
        let hogDone = spawnThread {
            guard let hog = try? LineClient.connect(path: socket) else { return }
            let count = (try? hog.sendSome(flood, timeout: 6)) ?? 0
            written.withLock { $0 = count }
            _ = release.wait(timeout: .now() + 60)
            hog.close()
        }

        let other = try connect()
        var peakKiB = baseline
        for round in 0..<8 {
            usleep(500_000)
            assertServedPromptly(other, id: Int64(round), "round \(round) while a client never reads")
            XCTAssertEqual(
                try? other.record(session: "oc:other", requestId: "other-\(round)").signum(), 1,
                "records are committed while a client never reads")
            peakKiB = max(peakKiB, service.residentKiB() ?? 0)
        }
        XCTAssertLessThan(peakKiB, 200 * 1024, "RSS \(peakKiB) KiB (baseline \(baseline) KiB) while a client never reads")
        release.signal()
        XCTAssertEqual(hogDone.wait(timeout: .now() + 30), .success)
        print("non-reading client wrote \(written.current) of \(flood.count) bytes; peak RSS \(peakKiB) KiB")
        XCTAssertTrue(service.isRunning)
        assertServedPromptly(try connect(), id: 99, "after the non-reading client left")
        XCTAssertEqual(try other.fullHistory(["sessionId": "oc:hog"]).count, 200)
    }

    func testIdleConnectionIsClosedAfterTheIdleTimeoutWhileABusyOneStaysOpen() throws {
        try startService(arguments: ["--idle-timeout", "1s"])
        let idle = try connect()
        let busy = try connect()
        for round in 0..<6 {
            Thread.sleep(forTimeInterval: 0.4)
            assertServedPromptly(busy, id: Int64(round), "busy connection, round \(round)")
        }
        XCTAssertTrue(idle.waitForClose(timeout: 5), "an idle connection is closed after --idle-timeout")
        assertServedPromptly(busy, id: 100, "the busy connection outlives the idle timeout")
    }

    func testZeroTurnsTheIdleTimeoutAndThePruneTimerOff() throws {
        try startService(arguments: ["--idle-timeout", "0", "--prune-interval", "0", "--max-age", "1s"])
        let client = try connect()
        let old = Int64(Date().timeIntervalSince1970 * 1000) - 60_000
        let recorded = try client.call(
            "taas.autorouter.record",
            ["sessionId": "oc:timer-off", "capturedAt": .int(old), "headers": autoroutedHeaders(requestId: "t-1")])
        XCTAssertEqual(recorded["result"]?["recorded"], true)
        Thread.sleep(forTimeInterval: 1.5)
        XCTAssertFalse(client.waitForClose(timeout: 0.1), "no idle timeout with --idle-timeout 0")
        let stats = try client.call("taas.autorouter.stats", ["sessionId": "oc:timer-off"], id: 2)
        XCTAssertEqual(stats["result"]?["total"], 1, "no timed prune with --prune-interval 0")
        let pruned = try client.call("taas.capture.prune", [:], id: 3)
        XCTAssertEqual(pruned["result"]?["deleted"], 1, "on-demand prune still applies --max-age")
    }

    func testBatchOfAThousandLargeHistoryPagesIsBoundedAndStallsNobody() throws {
        try startService()
        let seeder = try connect()
        let seed = JSON.array((0..<1000).map { index in
            Request.object(
                "taas.autorouter.record",
                ["sessionId": "oc:pages", "headers": autoroutedHeaders(requestId: "pg-\(index)")],
                id: .int(Int64(index)))
        })
        try seeder.sendLine(seed.encoded)
        XCTAssertEqual(try seeder.readJSON(timeout: 30).array?.count, 1000)

        let heavy = try connect()
        // Ten pages of 1000 captures are the most one batch may ask for; 990 more are refused.
        let pages = JSON.array((0..<1000).map { index in
            Request.object("taas.autorouter.history", ["sessionId": "oc:pages", "limit": 1000], id: .int(Int64(index)))
        })
        try heavy.sendLine(pages.encoded)
        // While those million rows are read and encoded, another client on either loop is answered.
        Thread.sleep(forTimeInterval: 0.05)
        for round in 0..<4 {
            assertServedPromptly(try connect(), id: Int64(round), bound: 2, "bystander \(round) during a huge batch")
        }
        let answer = try heavy.readJSON(timeout: 30)
        XCTAssertEqual(answer.array?.count, 1000, "every entry of the batch is answered")
        let served = answer.array?.filter { $0["result"]?["captures"]?.array?.count == 1000 }.count
        XCTAssertEqual(served, 10, "10 × 1000 captures fit the batch bound")
        XCTAssertEqual(answer.array?.last?["error"]?["code"], -32602)
        XCTAssertEqual(answer.array?.last?["error"]?["data"]?["field"], "limit")
    }

    func testClientSendingOneByteAtATimeIsServedCorrectly() throws {
        try startService()
        let slow = try connect()
        let bystander = try connect()
        let lines = [
            Request.line("taas.autorouter.record", ["sessionId": "oc:drip", "headers": autoroutedHeaders(requestId: "d-1")],
                         id: 1),
            Request.line("taas.autorouter.lastRoute", ["sessionId": "oc:drip"], id: 2),
        ]
        let bytes = Array(lines.map { $0 + "\n" }.joined().utf8)
        for (index, byte) in bytes.enumerated() {
            try slow.send([byte])
            usleep(2_000)
            if index == bytes.count / 3 {
                assertServedPromptly(bystander, id: 7, "while another client drips its request")
            }
        }
        let recorded = try slow.readJSON()
        XCTAssertEqual(recorded["id"], 1)
        XCTAssertEqual(recorded["result"]?["recorded"], true)
        let last = try slow.readJSON()
        XCTAssertEqual(last["id"], 2)
        XCTAssertEqual(last["result"]?["capture"]?["taasRequestId"], "d-1")
    }

    func testHalfClosedConnectionStillGetsItsAnswersThenIsClosed() throws {
        try startService()
        let client = try connect()
        try client.sendLine(Request.line("taas.capture.health", [:], id: 1))
        try client.sendLine(
            Request.line("taas.autorouter.record", ["sessionId": "oc:half", "headers": autoroutedHeaders()], id: 2))
        client.shutdownWrite()
        XCTAssertEqual(try client.readJSON()["id"], 1)
        XCTAssertEqual(try client.readJSON()["result"]?["recorded"], true)
        XCTAssertTrue(client.waitForClose(timeout: 5), "the service closes after answering a half-closed client")

        let partial = try connect()
        try partial.send(Array(#"{"jsonrpc":"2.0","method":"taas.capture.he"#.utf8))
        partial.shutdownWrite()
        XCTAssertTrue(partial.waitForClose(timeout: 5), "a half-closed partial line ends the connection")

        let abrupt = try connect()
        try abrupt.send(Array(#"{"jsonrpc":"2.0","method":"taas.autorouter.record","params":{"sessionId":"oc:cut"#.utf8))
        abrupt.close()
        assertServedPromptly(try connect(), id: 3, "after abrupt closes")
        XCTAssertEqual(try connect().fullHistory(["sessionId": "oc:half"]).count, 1)
    }

    func testConnectionStormIsRefusedBeyondTheLimitWhileAnExistingClientIsServed() throws {
        try startService(arguments: ["--max-connections", "50"])
        let existing = try connect()
        assertServedPromptly(existing, id: 0, "before the storm")

        var storm: [LineClient] = []
        var connectFailures = 0
        for _ in 0..<300 {
            if let client = try? connect(timeout: 5) { storm.append(client) } else { connectFailures += 1 }
        }
        assertServedPromptly(existing, id: 1, "during the storm")

        var served = 0
        var refusedWithCode = 0
        var other: [String] = []
        for (index, client) in storm.enumerated() {
            try? client.sendLine(Request.line("taas.capture.health", [:], id: .int(Int64(index))))
            do {
                guard let line = try client.readLine(timeout: 5) else {
                    other.append("closed without a message")
                    continue
                }
                let response = try JSON.parse(line)
                if response["result"]?["status"] == "ok" {
                    served += 1
                } else if response["error"]?["code"] == -32002 {
                    refusedWithCode += 1
                    if !client.waitForClose(timeout: 5) { other.append("-32002 but left open") }
                } else {
                    other.append(response.encoded)
                }
            } catch {
                other.append("\(error)")
            }
        }
        XCTAssertLessThanOrEqual(served, 49, "at most the limit (50, one taken by the existing client)")
        XCTAssertGreaterThanOrEqual(refusedWithCode + connectFailures, 300 - 49)
        XCTAssertEqual(other, [], "every refused connection gets -32002 and is closed")
        assertServedPromptly(existing, id: 2, "after the storm")

        storm.forEach { $0.close() }
        let deadline = Date().addingTimeInterval(5)
        var admitted = false
        while !admitted, Date() < deadline {
            admitted = (try? connect().call("taas.capture.health", [:], id: 3, timeout: 2))?["result"] != nil
            if !admitted { usleep(50_000) }
        }
        XCTAssertTrue(admitted, "slots are freed once the storm disconnects")
    }
}
