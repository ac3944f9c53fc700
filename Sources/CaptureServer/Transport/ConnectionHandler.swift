import AffinityCore
import Logging
import NIOCore
import NIOExtras

/// The per-connection protocol: one JSON-RPC message per line in, one response line out per answered
/// message, in request order, with many requests in flight (pipelining).
///
/// Why a handler and not `NIOAsyncChannel` per connection: with pipelining, a read burst carries many
/// lines whose answers are mostly ready at once; here they are written with no task hops and flushed
/// once per burst (or once per writer group), which measured clearly faster than iterating an async
/// sequence per line. The async pattern stays at the top level (`CaptureServer`), as in Hummingbird.
///
/// The rules (the per-tick budget, ordered effects, backpressure, flushing, closing) are
/// `ConnectionState`'s; this handler is the shell that does what it says: it parses lines, hands calls
/// to the dispatcher, writes and flushes answers, holds or forwards reads, and closes.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let dispatcher: any CallDispatching
    private let maxLineBytes: Int
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var state: ConnectionState

    init(dispatcher: any CallDispatching, maxPendingLines: Int, maxLineBytes: Int, logger: Logger) {
        self.dispatcher = dispatcher
        self.maxLineBytes = maxLineBytes
        self.logger = logger
        self.state = ConnectionState(maxPendingLines: maxPendingLines)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        dispatcher.connectionOpened()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        dispatcher.connectionClosed()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.channelClosed()
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After the peer is gone, the line decoder still hands over what it had buffered (decodeLast):
        // nobody can read those answers, so they are not run.
        guard state.takesLines, context.channel.isActive else { return }
        state.lineRead(Self.unwrapInboundIn(data))
        runWork()
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        state.tickBegan()
        if state.burstEnded() { context.flush() }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if state.schedulesWork(writable: context.channel.isWritable) { scheduleWork() }
        resumeReadingIfPossible()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed, is ChannelShouldQuiesceEvent:
            state.inputClosed()
            drain()
        case is IdleStateHandler.IdleStateEvent:
            // Idle means nothing in flight either: a long prune or a queued record is not idleness.
            guard state.isIdle else { return }
            logger.debug("closing idle connection")
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LineTooLongError, state.lineTooLong() {
            runWork()
            return
        }
        if state.lifecycle == .lineTooLong || state.lifecycle == .stopped, error is ByteToMessageDecoderError {
            // More bytes of the over-long line: the decoder refuses them; the -32001 closes the connection.
            return
        }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if state.readRequested(writable: context.channel.isWritable) { context.read() }
    }

    // MARK: Doing what the state says

    /// Runs the work the budget allows now; the rest is scheduled for a later tick.
    private func runWork() {
        guard let context else { return }
        while let item = state.nextWork(writable: context.channel.isWritable) {
            switch item {
            case .line(let line):
                state.admit(RPCMessage.parse(line))
            case .job(let job):
                if state.start(job) { perform(job) }
            case .answer(let seq, let part, let id, let error, _):
                complete(seq: seq, part: part, id: id, outcome: .failure(error))
            case .lineTooLong:
                complete(seq: state.openLineTooLong(), part: 0, id: .null, outcome: .failure(.lineTooLong(limit: maxLineBytes)))
            }
        }
        if state.schedulesWork(writable: context.channel.isWritable) { scheduleWork() }
        drain()
    }

    private func scheduleWork() {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.state.scheduledWorkRan()
            handler.runWork()
            if handler.state.burstEnded() { handler.context?.flush() }
        }
    }

    private func perform(_ job: ConnectionState.Job) {
        switch job.entry {
        case .invalid(let id, let error):
            complete(seq: job.seq, part: job.part ?? 0, id: id, outcome: .failure(error))
        case .call(let request):
            let isWrite = job.changesData
            guard let part = job.part, let id = request.id else {
                // A notification: run, never answered; only a bug is worth a log line.
                dispatcher.dispatch(request, as: job.method) { [self] result in
                    if case .failure(let error) = result, error.code == .internalError {
                        self.logger.error("notification failed", metadata: ["method": "\(request.method)"])
                    }
                    if isWrite { self.writeDone() }
                }
                return
            }
            let seq = job.seq
            dispatcher.dispatch(request, as: job.method) { [self] outcome in
                self.complete(seq: seq, part: part, id: id, outcome: outcome)
                if isWrite { self.writeDone() }
            }
        }
    }

    /// One write is done: the calls that waited for it run, in order, until one must wait again.
    private func writeDone() {
        state.writeFinished()
        while let next = state.nextReleased() { perform(next) }
        drain()
    }

    private func complete(seq: Int, part: Int, id: JSON, outcome: Result<RPCResult, RPCError>) {
        guard let context else { return }
        let hint = if case .success(let result) = outcome { result.sizeHint } else { 0 }
        var buffer = context.channel.allocator.buffer(capacity: 64 + hint)
        buffer.writeRPCResponse(id: id, outcome: outcome)
        // A single answer is its line: its newline goes in now, while this is the buffer's only owner.
        if !state.isBatch(seq: seq) { buffer.writeInteger(UInt8(ascii: "\n")) }
        var closes = false
        if case .failure(let error) = outcome {
            dispatcher.answeredError(code: error.code)
            closes = error.closesConnection
        }
        if state.answered(seq: seq, part: part, line: buffer, closes: closes) { drain() }
    }

    /// Writes every answer that is complete and has no unanswered line before it.
    private func drain() {
        guard let context else { return }
        while let (line, closeAfter) = state.nextAnswer(allocator: context.channel.allocator) {
            if let line { context.write(Self.wrapOutboundOut(line), promise: nil) }
            if closeAfter {
                let channel = context.channel
                context.writeAndFlush(Self.wrapOutboundOut(channel.allocator.buffer(capacity: 0)))
                    .whenComplete { _ in channel.close(promise: nil) }
                return
            }
        }
        if state.schedulesFlush() { scheduleFlush() }
        if state.isDrained {
            context.flush()
            context.close(promise: nil)
            return
        }
        resumeReadingIfPossible()
    }

    /// Answers completed by the writer arrive one loop task per group: flush once after all of them.
    private func scheduleFlush() {
        guard let context else { return }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            guard handler.state.scheduledFlushRan(), let context = handler.context else { return }
            context.flush()
        }
    }

    private func resumeReadingIfPossible() {
        guard let context, state.resumesReading(writable: context.channel.isWritable) else { return }
        context.read()
    }
}

/// What a connection needs of the methods: run a call, and count what it answered. `MethodDispatcher`
/// is the one the service uses; transport tests give their own.
protocol CallDispatching: AnyObject {
    /// Runs `request` as `method` (nil: no such method) and calls `completion` on the connection's loop.
    func dispatch(_ request: RPCRequest, as method: RPCMethod?, completion: @escaping MethodDispatcher.Completion)
    func answeredError(code: RPCError.Code)
    func connectionOpened()
    func connectionClosed()
}

extension MethodDispatcher: CallDispatching {}
