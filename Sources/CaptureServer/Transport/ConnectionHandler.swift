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
/// Backpressure: when `maxPendingLines` answers are outstanding, or the socket's send buffer is above
/// its high-water mark (a client that does not read), `read` is no longer forwarded, so this
/// connection stops being read and its memory stays bounded, while other connections go on.
///
/// Ordered effects: a call that reads waits until every write this connection sent before it
/// (notifications and batch entries included) is committed, and everything after it waits behind it,
/// so the connection behaves exactly as if the client had waited for each answer. Writes in a row,
/// and reads in a row, still run without waiting for each other; other connections are not ordered.
final class ConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let dispatcher: MethodDispatcher
    private let maxPendingLines: Int
    private let maxLineBytes: Int
    private let logger: Logger
    private var context: ChannelHandlerContext?
    private var pending = AnswerQueue()
    private var inReadBurst = false
    private var needsFlush = false
    private var flushScheduled = false
    private var readHeld = false
    /// Where the connection is in its life: one state, as NIO's `HTTPServerPipelineHandler` keeps it.
    private enum Lifecycle {
        /// Reading and executing lines.
        case open
        /// The peer half-closed, or shutdown began: no new lines; those read are answered, then it closes.
        case draining
        /// A line was over the limit: nothing after it is read (its rest is ignored); the lines before it
        /// are answered, then its -32001, which closes the connection.
        case lineTooLong
        /// A closing answer was produced, or the channel is gone: nothing more is executed.
        case stopped
    }
    private var lifecycle = Lifecycle.open
    /// Work read but not yet executed (see `scheduleInbox`).
    private enum InboxItem {
        case line(ByteBuffer)
        case entry(RPCEntry, seq: Int, part: Int?)
        /// The line after the queued ones was over the limit: answer -32001 in its turn.
        case lineTooLong
    }
    private var inbox = CircularBuffer<InboxItem>(initialCapacity: 16)
    private var inboxScheduled = false
    /// Cost spent in this loop tick, against `budgetPerTick` (see `cost`).
    private var spent = 0
    /// Writes of this connection dispatched and not yet done.
    private var writesInFlight = 0
    /// Entries waiting, in order, for this connection's earlier writes (see "Ordered effects").
    private var awaitingWrites = CircularBuffer<(entry: RPCEntry, seq: Int, part: Int?)>(initialCapacity: 8)
    private static let budgetPerTick = 64

    init(dispatcher: MethodDispatcher, maxPendingLines: Int, maxLineBytes: Int, logger: Logger) {
        self.dispatcher = dispatcher
        self.maxPendingLines = maxPendingLines
        self.maxLineBytes = maxLineBytes
        self.logger = logger
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
        lifecycle = .stopped
        inbox.removeAll()
        awaitingWrites.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After the peer is gone, the line decoder still hands over what it had buffered (decodeLast):
        // nobody can read those answers, so they are not executed.
        guard lifecycle == .open, context.channel.isActive else { return }
        let line = Self.unwrapInboundIn(data)
        if inbox.isEmpty, spent < Self.budgetPerTick, context.channel.isWritable {
            handle(line)
        } else {
            inbox.append(.line(line))
            scheduleInbox()
        }
    }

    /// Parses one line and executes what the budget allows; a batch's other entries wait in the inbox.
    private func handle(_ line: ByteBuffer) {
        inReadBurst = true
        switch RPCMessage.parse(line) {
        case .failure(let error):
            spent += 1
            let seq = pending.open(parts: 1, isBatch: false)
            complete(seq: seq, part: 0, id: .null, outcome: .failure(error))
        case .single(let entry):
            let answered = Self.isAnswered(entry)
            let seq = pending.open(parts: answered ? 1 : 0, isBatch: false)
            run(entry, seq: seq, part: answered ? 0 : nil)
        case .batch(let entries):
            let answered = entries.reduce(0) { $0 + (Self.isAnswered($1) ? 1 : 0) }
            let seq = pending.open(parts: answered, isBatch: true)
            var part = 0
            var later: [InboxItem] = []
            var historyCaptures = 0
            for entry in entries {
                let slot: Int? = Self.isAnswered(entry) ? part : nil
                if slot != nil { part += 1 }
                // A batch is answered in one line, held whole until its last entry is done: bound it.
                historyCaptures += Self.cost(entry).captures
                if historyCaptures > Self.maxBatchHistoryCaptures, let slot, case .call(let request) = entry,
                    let id = request.id
                {
                    complete(seq: seq, part: slot, id: id, outcome: .failure(Self.batchTooLarge))
                    continue
                }
                if later.isEmpty, spent < Self.budgetPerTick, context?.channel.isWritable == true {
                    run(entry, seq: seq, part: slot)
                } else {
                    later.append(.entry(entry, seq: seq, part: slot))
                }
            }
            // Before any line read after this one, so the batch finishes first.
            for item in later.reversed() { inbox.prepend(item) }
            if !later.isEmpty { scheduleInbox() }
        }
        drain()
    }

    private func run(_ entry: RPCEntry, seq: Int, part: Int?) {
        spent += Self.cost(entry).units
        execute(entry, seq: seq, part: part)
    }

    /// What an entry costs against `budgetPerTick` (the dispatcher's rule); an invalid entry costs 1.
    private static func cost(_ entry: RPCEntry) -> (units: Int, captures: Int) {
        guard case .call(let request) = entry else { return (1, 0) }
        return MethodDispatcher.cost(of: request)
    }

    /// History captures one batch may ask for in all; entries past it are refused (-32602 on `limit`).
    static let maxBatchHistoryCaptures = 10_000
    private static let batchTooLarge = RPCError.invalidParams(
        "limit", "a batch may ask for at most \(maxBatchHistoryCaptures) history captures in all")

    /// Work beyond `budgetPerTick` (lines, or entries of a large batch) waits here and runs on later
    /// loop ticks, so one connection's burst (a pipelining client, a batch of a thousand history pages,
    /// a megabyte of queries) cannot hold its event loop and stall the other connections on it.
    /// Reading this connection is held while work waits.
    private func scheduleInbox() {
        guard !inboxScheduled, let context else { return }
        inboxScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.inboxScheduled = false
            handler.runInbox()
        }
    }

    private func runInbox() {
        guard let context else { return }
        guard lifecycle != .stopped, context.channel.isActive else {
            inbox.removeAll()
            return
        }
        spent = 0
        // A client that does not read gets no more work done for it: answers would only pile up here.
        while spent < Self.budgetPerTick, context.channel.isWritable, let item = inbox.popFirst() {
            switch item {
            case .line(let line):
                handle(line)
            case .entry(let entry, let seq, let part):
                run(entry, seq: seq, part: part)
                drain()
            case .lineTooLong:
                answerLineTooLong()
            }
        }
        inReadBurst = false
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        if inbox.isEmpty {
            resumeReadingIfPossible()
        } else if context.channel.isWritable {
            scheduleInbox()
        }  // else channelWritabilityChanged resumes it
    }

    /// -32001 after every earlier line's answer; the connection closes once it is written.
    private func answerLineTooLong() {
        let seq = pending.open(parts: 1, isBatch: false)
        complete(seq: seq, part: 0, id: .null, outcome: .failure(.lineTooLong(limit: maxLineBytes)))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadBurst = false
        spent = 0
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, !inbox.isEmpty { scheduleInbox() }
        resumeReadingIfPossible()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed, is ChannelShouldQuiesceEvent:
            // Lines already read (in the inbox too) are still answered; then the connection closes.
            if lifecycle == .open { lifecycle = .draining }
            drain()
        case is IdleStateHandler.IdleStateEvent:
            // Idle means nothing in flight either: a long prune or a queued record is not idleness.
            guard pending.isEmpty, inbox.isEmpty, awaitingWrites.isEmpty, writesInFlight == 0 else { return }
            logger.debug("closing idle connection")
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LineTooLongError, lifecycle == .open || lifecycle == .draining {
            lifecycle = .lineTooLong
            if inbox.isEmpty {
                answerLineTooLong()
            } else {
                inbox.append(.lineTooLong)
                scheduleInbox()
            }
            return
        }
        if lifecycle == .lineTooLong || lifecycle == .stopped, error is ByteToMessageDecoderError {
            // More bytes of the over-long line: the decoder refuses them; the -32001 closes the connection.
            return
        }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if holdReads {
            readHeld = true
        } else {
            context.read()
        }
    }

    // MARK: Execution and ordering

    private static func isAnswered(_ entry: RPCEntry) -> Bool {
        if case .call(let request) = entry { return !request.isNotification }
        return true
    }

    /// Runs `entry` now, or, when it must see writes still in flight (or something before it waits),
    /// once they are done.
    private func execute(_ entry: RPCEntry, seq: Int, part: Int?) {
        if !awaitingWrites.isEmpty || (writesInFlight > 0 && !Self.changesData(entry)) {
            awaitingWrites.append((entry, seq, part))
            return
        }
        perform(entry, seq: seq, part: part)
    }

    private static func changesData(_ entry: RPCEntry) -> Bool {
        if case .call(let request) = entry { return MethodDispatcher.changesData(request.method) }
        return false
    }

    private func perform(_ entry: RPCEntry, seq: Int, part: Int?) {
        switch entry {
        case .invalid(let id, let error):
            complete(seq: seq, part: part ?? 0, id: id, outcome: .failure(error))
        case .call(let request):
            let isWrite = MethodDispatcher.changesData(request.method)
            if isWrite { writesInFlight += 1 }
            guard let part, let id = request.id else {
                // A notification: executed, never answered; only a bug is worth a log line.
                dispatcher.dispatch(request) { [self] result in
                    if case .failure(let error) = result, error.code == RPCError.internalError.code {
                        self.logger.error("notification failed", metadata: ["method": "\(request.method)"])
                    }
                    if isWrite { self.writeDone() }
                }
                return
            }
            dispatcher.dispatch(request) { [self] outcome in
                self.complete(seq: seq, part: part, id: id, outcome: outcome)
                if isWrite { self.writeDone() }
            }
        }
    }

    /// One write is done; when none is left, the entries that waited for them run, in order, until one
    /// must wait again behind the writes they start.
    private func writeDone() {
        writesInFlight -= 1
        guard writesInFlight == 0, lifecycle != .stopped else { return }
        while let next = awaitingWrites.first {
            if writesInFlight > 0, !Self.changesData(next.entry) { break }
            awaitingWrites.removeFirst()
            perform(next.entry, seq: next.seq, part: next.part)
        }
        drain()
    }

    private func complete(seq: Int, part: Int, id: JSON, outcome: Result<RPCResult, RPCError>) {
        guard let context else { return }
        let hint = if case .success(let result) = outcome { result.sizeHint } else { 0 }
        var buffer = context.channel.allocator.buffer(capacity: 64 + hint)
        buffer.writeRPCResponse(id: id, outcome: outcome)
        // A single answer is its line: its newline goes in now, while this is the buffer's only owner.
        if !pending.isBatch(seq: seq) { buffer.writeInteger(UInt8(ascii: "\n")) }
        var closes = false
        if case .failure(let error) = outcome {
            dispatcher.answeredError(code: error.code)
            if error.closesConnection {
                closes = true
                lifecycle = .stopped
            }
        }
        if pending.fill(seq: seq, part: part, with: buffer, closeAfter: closes) { drain() }
    }

    /// Writes every answer that is complete and has no unanswered line before it.
    private func drain() {
        guard let context else { return }
        while let (line, closeAfter) = pending.popReady(allocator: context.channel.allocator) {
            if let line {
                context.write(Self.wrapOutboundOut(line), promise: nil)
                needsFlush = true
            }
            if closeAfter {
                let channel = context.channel
                context.writeAndFlush(Self.wrapOutboundOut(channel.allocator.buffer(capacity: 0)))
                    .whenComplete { _ in channel.close(promise: nil) }
                pending.removeAll()
                return
            }
        }
        if needsFlush, !inReadBurst { scheduleFlush() }
        if lifecycle == .draining, pending.isEmpty, inbox.isEmpty {
            context.flush()
            context.close(promise: nil)
            return
        }
        resumeReadingIfPossible()
    }

    /// Answers completed by the writer arrive one loop task per group: flush once after all of them.
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = bound.value
            handler.flushScheduled = false
            guard handler.needsFlush, let context = handler.context else { return }
            handler.needsFlush = false
            context.flush()
        }
    }

    private var holdReads: Bool {
        guard let context else { return true }
        return lifecycle != .open || !inbox.isEmpty || pending.count >= maxPendingLines
            || awaitingWrites.count >= maxPendingLines || !context.channel.isWritable
    }

    private func resumeReadingIfPossible() {
        guard readHeld, !holdReads, let context else { return }
        readHeld = false
        context.read()
    }
}
