import AffinityCore
import NIOCore
import XCTest

@testable import CaptureServer

/// The connection's rules as a value (`ConnectionState`): ordering, budget, batches, backpressure,
/// lifecycle. No channel, no dispatcher: what the state says is what is checked.
final class ConnectionStateTests: XCTestCase {
    private static let record = #"{"jsonrpc":"2.0","id":1,"method":"taas.autorouter.record","params":{}}"#
    private static let lastRoute = #"{"jsonrpc":"2.0","id":2,"method":"taas.autorouter.lastRoute","params":{}}"#

    private func message(_ text: String) -> RPCMessage { RPCMessage.parse(ByteBuffer(string: text)) }

    /// Admits `text` as one line and takes the work it queued, within the budget.
    private func admitted(_ text: String, into state: inout ConnectionState) -> [ConnectionState.Work] {
        state.admit(message(text))
        var items: [ConnectionState.Work] = []
        while let item = state.nextWork(writable: true) { items.append(item) }
        return items
    }

    private func jobs(_ items: [ConnectionState.Work]) -> [ConnectionState.Job] {
        items.compactMap { if case .job(let job) = $0 { job } else { nil } }
    }

    private func history(_ n: Int, limit: Int) -> String {
        let entries = (0..<n).map {
            #"{"jsonrpc":"2.0","id":\#($0),"method":"taas.autorouter.history","params":{"sessionId":"s","limit":\#(limit)}}"#
        }
        return "[" + entries.joined(separator: ",") + "]"
    }

    func testReadsWaitForEarlierWritesAndWritesInARowDoNot() throws {
        var state = ConnectionState(maxPendingLines: 100)
        let write1 = try XCTUnwrap(jobs(admitted(Self.record, into: &state)).first)
        let write2 = try XCTUnwrap(jobs(admitted(Self.record, into: &state)).first)
        XCTAssertTrue(write1.changesData)
        XCTAssertTrue(state.start(write1))
        XCTAssertTrue(state.start(write2), "a write after a write runs at once")
        let read = try XCTUnwrap(jobs(admitted(Self.lastRoute, into: &state)).first)
        XCTAssertFalse(state.start(read), "a read waits for the connection's writes")
        let write3 = try XCTUnwrap(jobs(admitted(Self.record, into: &state)).first)
        XCTAssertFalse(state.start(write3), "everything after a waiting call waits behind it")

        state.writeFinished()
        XCTAssertNil(state.nextReleased(), "one write is still in flight")
        state.writeFinished()
        XCTAssertEqual(state.nextReleased()?.seq, read.seq)
        XCTAssertEqual(state.nextReleased()?.seq, write3.seq)
        XCTAssertNil(state.nextReleased())
        XCTAssertFalse(state.isIdle, "write3 is in flight, three answers are open")
    }

    func testTheBudgetSplitsWorkAcrossTicks() {
        var state = ConnectionState(maxPendingLines: 100, budgetPerTick: 64)
        // Each page of 1,000 captures costs 11: six fit in a tick (66 ≥ 64 stops the seventh).
        let first = jobs(admitted(history(9, limit: 1000), into: &state))
        XCTAssertEqual(first.map(\.cost.units), Array(repeating: 11, count: 6))
        XCTAssertTrue(state.schedulesWork(writable: true))
        XCTAssertFalse(state.schedulesWork(writable: true), "scheduled once")
        state.scheduledWorkRan()
        var rest: [ConnectionState.Job] = []
        while let item = state.nextWork(writable: true) { rest += jobs([item]) }
        XCTAssertEqual(rest.map(\.part), [6, 7, 8], "the batch's other entries, in order")
    }

    func testAPeerThatDoesNotReadGetsNoWorkDone() {
        var state = ConnectionState(maxPendingLines: 100)
        state.admit(message(Self.lastRoute))
        XCTAssertNil(state.nextWork(writable: false))
        XCTAssertFalse(state.schedulesWork(writable: false))
        XCTAssertNotNil(state.nextWork(writable: true))
    }

    func testABatchAsksForAtMostTenThousandHistoryCaptures() {
        var state = ConnectionState(maxPendingLines: 100, budgetPerTick: 10_000)
        let items = admitted(history(11, limit: 1000), into: &state)
        XCTAssertEqual(jobs(items).count, 10)
        guard case .answer(_, let part, let id, let error, let cost)? = items.last else { return XCTFail("\(items)") }
        XCTAssertEqual(cost, 0, "a refused entry runs nothing")
        XCTAssertEqual(part, 10)
        XCTAssertEqual(id, .int(10))
        XCTAssertEqual(error, ConnectionState.batchTooLarge)
    }

    func testLinesThatAreNotRequestsAreAnsweredInTheirTurn() {
        var state = ConnectionState(maxPendingLines: 100)
        let items = admitted("{", into: &state)
        guard case .answer(let seq, 0, .null, let error, 1)? = items.first, items.count == 1 else { return XCTFail("\(items)") }
        XCTAssertEqual(seq, 0)
        XCTAssertEqual(error.code, .parseError)
    }

    func testReadingIsHeldWhileAnswersAreOutstandingOrWorkWaits() {
        var state = ConnectionState(maxPendingLines: 2)
        XCTAssertTrue(state.readRequested(writable: true))
        _ = admitted(Self.lastRoute, into: &state)
        _ = admitted(Self.lastRoute, into: &state)
        XCTAssertFalse(state.readRequested(writable: true), "two answers are open")
        XCTAssertFalse(state.resumesReading(writable: true))
        XCTAssertTrue(state.answered(seq: 0, part: 0, line: ByteBuffer(string: "a\n"), closes: false))
        XCTAssertEqual(state.nextAnswer(allocator: ByteBufferAllocator())?.line, ByteBuffer(string: "a\n"))
        XCTAssertFalse(state.resumesReading(writable: false), "the peer does not read")
        XCTAssertTrue(state.resumesReading(writable: true))
        XCTAssertFalse(state.resumesReading(writable: true), "resumed once")
    }

    func testAnswersLeaveInRequestOrder() {
        var state = ConnectionState(maxPendingLines: 10)
        _ = admitted(Self.lastRoute, into: &state)
        _ = admitted(Self.lastRoute, into: &state)
        XCTAssertFalse(state.burstEnded(), "nothing was written in the burst")
        XCTAssertFalse(state.answered(seq: 1, part: 0, line: ByteBuffer(string: "second\n"), closes: false))
        XCTAssertNil(state.nextAnswer(allocator: ByteBufferAllocator()), "the first is not answered yet")
        XCTAssertTrue(state.answered(seq: 0, part: 0, line: ByteBuffer(string: "first\n"), closes: false))
        XCTAssertEqual(state.nextAnswer(allocator: ByteBufferAllocator())?.line, ByteBuffer(string: "first\n"))
        XCTAssertEqual(state.nextAnswer(allocator: ByteBufferAllocator())?.line, ByteBuffer(string: "second\n"))
        XCTAssertTrue(state.schedulesFlush(), "answered outside a read burst: one flush is scheduled")
        XCTAssertFalse(state.schedulesFlush(), "once")
        XCTAssertTrue(state.scheduledFlushRan())
    }

    func testALineTooLongIsAnsweredAfterTheLinesBeforeItThenNothingRuns() {
        var state = ConnectionState(maxPendingLines: 10)
        state.lineRead(ByteBuffer(string: Self.lastRoute))
        XCTAssertTrue(state.lineTooLong())
        XCTAssertFalse(state.lineTooLong(), "the rest of the long line ends nothing new")
        XCTAssertFalse(state.takesLines)
        guard case .line? = state.nextWork(writable: true) else { return XCTFail("the earlier line runs first") }
        state.admit(message(Self.lastRoute))
        guard case .job? = state.nextWork(writable: true) else { return XCTFail("its call runs") }
        guard case .lineTooLong? = state.nextWork(writable: true) else { return XCTFail("then the -32001") }
        let seq = state.openLineTooLong()
        XCTAssertFalse(state.answered(seq: seq, part: 0, line: ByteBuffer(string: "e\n"), closes: true))
        XCTAssertEqual(state.lifecycle, .stopped)
        state.lineRead(ByteBuffer(string: Self.lastRoute))
        XCTAssertNil(state.nextWork(writable: true), "stopped: nothing more runs")
    }

    func testAClosingAnswerLetsItsOwnLineAndEarlierOnesFinishAndNothingAfter() throws {
        var state = ConnectionState(maxPendingLines: 100)
        // An earlier line waits behind a write; then a batch whose first entry is refused with a closing error.
        let write = try XCTUnwrap(jobs(admitted(Self.record, into: &state)).first)
        XCTAssertTrue(state.start(write))
        let read = try XCTUnwrap(jobs(admitted(Self.lastRoute, into: &state)).first)
        XCTAssertFalse(state.start(read))
        state.admit(message("[\(Self.lastRoute),\(Self.lastRoute),\(Self.lastRoute)]"))
        state.lineRead(ByteBuffer(string: Self.lastRoute))
        guard case .job(let first)? = state.nextWork(writable: true) else { return XCTFail("the batch's first entry") }
        _ = state.start(first)
        _ = state.answered(seq: first.seq, part: 0, line: ByteBuffer(string: "e"), closes: true)
        XCTAssertEqual(state.lifecycle, .stopped)
        var rest: [Int?] = []
        while let item = state.nextWork(writable: true) {
            guard case .job(let job) = item else { return XCTFail("only the batch's entries run: \(item)") }
            rest.append(job.part)
        }
        XCTAssertEqual(rest, [1, 2], "the rest of the closing line runs, so it can be written whole; the next line does not")
        state.writeFinished()
        XCTAssertEqual(state.nextReleased()?.seq, read.seq, "an earlier line still finishes")
    }

    func testDrainingClosesOnceEverythingReadIsAnswered() {
        var state = ConnectionState(maxPendingLines: 10)
        _ = admitted(Self.lastRoute, into: &state)
        state.inputClosed()
        XCTAssertFalse(state.takesLines)
        XCTAssertFalse(state.isDrained)
        _ = state.answered(seq: 0, part: 0, line: ByteBuffer(string: "a\n"), closes: false)
        _ = state.nextAnswer(allocator: ByteBufferAllocator())
        XCTAssertTrue(state.isDrained)
    }

    func testUnknownMethodsAndInvalidEntriesCostOneAndChangeNothing() throws {
        var state = ConnectionState(maxPendingLines: 10)
        let unknown = try XCTUnwrap(jobs(admitted(#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#, into: &state)).first)
        XCTAssertNil(unknown.method)
        XCTAssertEqual(unknown.cost, .one)
        XCTAssertFalse(unknown.changesData)
    }
}
