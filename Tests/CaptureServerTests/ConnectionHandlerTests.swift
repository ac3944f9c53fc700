import AffinityCore
import Logging
import NIOCore
import NIOEmbedded
import XCTest

@testable import CaptureServer

/// The handler as the shell of `ConnectionState`, through NIO's `EmbeddedChannel` (as NIO tests its own
/// `HTTPServerPipelineHandler`): lines in, answers out, reads forwarded or held. The methods are a
/// recording stand-in whose calls complete when the test says, so orderings can be forced.
final class ConnectionHandlerTests: XCTestCase {
    /// Records each dispatched call and keeps its completion for the test to call.
    private final class HeldCalls: CallDispatching {
        var calls: [(method: String, complete: MethodDispatcher.Completion)] = []
        var errors: [RPCError.Code] = []
        /// Calls refused at once, as the dispatcher does when a queue is full (by their place among all calls).
        var refuseAtOnce: Set<Int> = []

        func dispatch(_ request: RPCRequest, as method: RPCMethod?, completion: @escaping MethodDispatcher.Completion) {
            calls.append((request.method, completion))
            if refuseAtOnce.contains(calls.count - 1) { completion(.failure(.overloaded("too many queries waiting"))) }
        }
        func answeredError(code: RPCError.Code) { errors.append(code) }
        func connectionOpened() {}
        func connectionClosed() {}

        var methods: [String] { calls.map(\.method) }

        /// Completes call `index` with `{"n":index}`.
        func answer(_ index: Int) {
            calls[index].complete(.success(RPCResult { $0.writeString("{\"n\":\(index)}") }))
        }
    }

    /// Counts the reads that reach the head of the pipeline (those the handler forwarded).
    private final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    private var calls = HeldCalls()
    private var counter = ReadCounter()
    private var channel = EmbeddedChannel()

    private func openChannel(maxPendingLines: Int = 100, maxLineBytes: Int = 4096) throws {
        calls = HeldCalls()
        counter = ReadCounter()
        channel = EmbeddedChannel()
        let sync = channel.pipeline.syncOperations
        try sync.addHandler(counter)
        try sync.addHandler(ByteToMessageHandler(BoundedLineDecoder(maxLineBytes: maxLineBytes)))
        try sync.addHandler(
            ConnectionHandler(
                dispatcher: calls, maxPendingLines: maxPendingLines, maxLineBytes: maxLineBytes,
                logger: Logger(label: "test")))
        try channel.connect(to: SocketAddress(unixDomainSocketPath: "/tmp/taas-test.sock")).wait()
    }

    override func tearDown() {
        _ = try? channel.finish()
    }

    private func request(_ id: Int, _ method: String, _ params: String = "{}") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#
    }

    private func send(_ lines: [String]) throws {
        try channel.writeInbound(ByteBuffer(string: lines.map { $0 + "\n" }.joined()))
    }

    /// Every answer line written so far, parsed.
    private func answers() throws -> [JSON] {
        var lines: [JSON] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            for line in String(buffer: buffer).split(separator: "\n") { lines.append(try JSONParser.parse(String(line))) }
        }
        return lines
    }

    func testPipelinedAnswersComeInRequestOrder() throws {
        try openChannel()
        try send((0..<3).map { request($0, "taas.autorouter.lastRoute") })
        XCTAssertEqual(calls.methods.count, 3, "reads in a row all run at once")
        calls.answer(2)
        calls.answer(1)
        XCTAssertEqual(try answers(), [], "the first line is not answered yet")
        calls.answer(0)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(try answers().map { $0["id"] }, [.int(0), .int(1), .int(2)])
    }

    func testAReadWaitsForTheWritesBeforeIt() throws {
        try openChannel()
        try send([
            request(0, "taas.autorouter.record"), request(1, "taas.capture.prune"),
            request(2, "taas.autorouter.lastRoute"), request(3, "taas.autorouter.record"),
        ])
        XCTAssertEqual(calls.methods, ["taas.autorouter.record", "taas.capture.prune"], "writes in a row run; the read waits")
        calls.answer(0)
        XCTAssertEqual(calls.methods.count, 2, "the prune is still in flight")
        calls.answer(1)
        XCTAssertEqual(calls.methods.suffix(2), ["taas.autorouter.lastRoute", "taas.autorouter.record"])
        calls.answer(2)
        calls.answer(3)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(try answers().map { $0["id"] }, [.int(0), .int(1), .int(2), .int(3)])
    }

    func testALineOverTheLimitIsAnsweredAfterTheLinesBeforeItAndCloses() throws {
        try openChannel(maxLineBytes: 256)
        try send([request(0, "taas.autorouter.lastRoute"), String(repeating: "x", count: 600)])
        XCTAssertEqual(calls.methods.count, 1)
        calls.answer(0)
        channel.embeddedEventLoop.run()
        let lines = try answers()
        XCTAssertEqual(lines.map { $0["id"] }, [.int(0), .null])
        XCTAssertEqual(lines.last?["error"]?["code"], .int(-32001))
        XCTAssertFalse(channel.isActive, "the -32001 closes the connection")
        XCTAssertEqual(calls.errors, [.lineTooLong])
    }

    func testNotJSONAndUnknownMethodsAreAnsweredInOrder() throws {
        try openChannel()
        try send(["{", request(1, "taas.nope"), request(2, "taas.autorouter.lastRoute")])
        XCTAssertEqual(calls.methods, ["taas.nope", "taas.autorouter.lastRoute"], "the dispatcher answers unknown names")
        calls.calls[0].complete(.failure(.methodNotFound("taas.nope")))
        calls.answer(1)
        channel.embeddedEventLoop.run()
        let lines = try answers()
        XCTAssertEqual(lines.map { $0["error"]?["code"] }, [.int(-32700), .int(-32601), nil])
    }

    func testABatchWithARefusedEntryIsAnsweredWholeThenTheConnectionCloses() throws {
        try openChannel()
        calls.refuseAtOnce = [0]
        let batch = "[" + [request(0, "taas.autorouter.stats"), request(1, "taas.autorouter.stats")].joined(separator: ",") + "]"
        try send([batch, request(2, "taas.autorouter.lastRoute")])
        XCTAssertEqual(calls.methods, ["taas.autorouter.stats", "taas.autorouter.stats"], "the batch's other entry still runs")
        calls.answer(1)
        channel.embeddedEventLoop.run()
        guard let line = try channel.readOutbound(as: ByteBuffer.self).map({ String(buffer: $0) }) else {
            return XCTFail("the batch is answered")
        }
        guard case .array(let parts) = try JSONParser.parse(line) else { return XCTFail(line) }
        XCTAssertEqual(parts.map { $0["error"]?["code"] }, [.int(-32002), nil])
        XCTAssertEqual(calls.methods.count, 2, "the line after the closing one never runs")
        XCTAssertFalse(channel.isActive, "-32002 closes the connection")
    }

    func testReadingIsHeldAtTheLimitOfOpenAnswersAndResumed() throws {
        try openChannel(maxPendingLines: 2)
        channel.read()
        XCTAssertEqual(counter.reads, 1)
        try send([request(0, "taas.autorouter.lastRoute"), request(1, "taas.autorouter.lastRoute")])
        channel.read()
        XCTAssertEqual(counter.reads, 1, "two answers open: the read is held")
        calls.answer(0)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(counter.reads, 2, "one answered: the held read goes on")
        calls.answer(1)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(try answers().count, 2)
    }

    func testAHalfClosedPeerGetsItsAnswersThenTheConnectionCloses() throws {
        try openChannel()
        try send([request(0, "taas.autorouter.record")])
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        XCTAssertTrue(channel.isActive, "a write is still in flight")
        calls.answer(0)
        channel.embeddedEventLoop.run()
        XCTAssertEqual(try answers().map { $0["id"] }, [.int(0)])
        XCTAssertFalse(channel.isActive)
    }
}
