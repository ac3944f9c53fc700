import AffinityCore
import NIOCore

/// One connection's rules as a value, as NIO's `HTTPServerPipelineHandler` keeps its state: what runs
/// now and what waits (the per-tick budget, ordered effects), where each answer goes (pipelining),
/// when reading is held (backpressure), when to flush, and when the connection closes. Its mutating
/// methods say what to do next; `ConnectionHandler` does it (parses, dispatches, writes, flushes,
/// closes) and holds nothing else. Unit tests drive it directly (`ConnectionStateTests`).
///
/// - Budget: a tick runs work worth at most `budgetPerTick` (`RPCMethod.Cost`); the rest waits for a
///   later tick, so one connection's burst (a pipelining client, a batch of a thousand history pages)
///   cannot hold its event loop and stall the other connections on it.
/// - Ordered effects: a call that does not write waits until every write this connection sent before
///   it is done, and everything after it waits behind it, so the connection behaves as if the client
///   had waited for each answer. Writes in a row, and reads in a row, run without waiting for each other.
/// - Backpressure: with `maxPendingLines` answers (or waiting calls) outstanding, work waiting, or the
///   socket's send buffer above its high-water mark, reading is held.
struct ConnectionState {
    /// A call, or an entry that is not one, read and ready to run: where its answer goes and what
    /// ordering needs to know of it.
    struct Job {
        let entry: RPCEntry
        /// What the call's name means; nil for an invalid entry or an unknown method.
        let method: RPCMethod?
        let cost: RPCMethod.Cost
        let seq: Int
        /// The answer's place within its line; nil for a notification (never answered).
        let part: Int?

        var changesData: Bool { method?.changesData ?? false }
    }

    /// Work read and not yet run, in order.
    enum Work {
        /// A line to parse (`admit` queues what it holds first).
        case line(ByteBuffer)
        case job(Job)
        /// An answer known without running anything: the line was not JSON-RPC (costs 1), or a batch
        /// entry asked for more history than a batch may (costs nothing).
        case answer(seq: Int, part: Int, id: JSON, error: RPCError, cost: Int)
        /// The line after the earlier ones was over the limit: -32001 in its turn.
        case lineTooLong
    }

    /// Where the connection is in its life.
    enum Lifecycle: Equatable {
        /// Reading and running lines.
        case open
        /// The peer half-closed, or shutdown began: no new lines; those read are answered, then it closes.
        case draining
        /// A line was over the limit: nothing after it is read; the lines before it are answered, then
        /// its -32001, which closes the connection.
        case lineTooLong
        /// A closing answer was produced (the rest of its line still runs, so the line can be written whole,
        /// and the lines before it finish; nothing after it runs), or the channel is gone (nothing runs).
        case stopped
    }

    /// History captures one batch may ask for in all; entries past it are refused (-32602 on `limit`).
    static let maxBatchHistoryCaptures = 10_000
    static let batchTooLarge = RPCError.invalidParams(
        "limit", "a batch may ask for at most \(maxBatchHistoryCaptures) history captures in all")

    let maxPendingLines: Int
    let budgetPerTick: Int
    private(set) var lifecycle = Lifecycle.open
    /// While stopped by a closing answer: its line. Work of that line and of earlier ones still runs.
    private var closingSeq: Int?
    private var work = CircularBuffer<Work>(initialCapacity: 16)
    private var workScheduled = false
    /// Cost run in this tick, against `budgetPerTick`.
    private var spent = 0
    /// Writes of this connection started and not yet done.
    private var writesInFlight = 0
    /// Jobs waiting, in order, for this connection's earlier writes.
    private var awaitingWrites = CircularBuffer<Job>(initialCapacity: 8)
    private var answers = AnswerQueue()
    private var readHeld = false
    private var inBurst = false
    private var needsFlush = false
    private var flushScheduled = false

    init(maxPendingLines: Int, budgetPerTick: Int = 64) {
        self.maxPendingLines = maxPendingLines
        self.budgetPerTick = budgetPerTick
    }

    // MARK: Reading

    /// Whether a line read now is taken (else it is dropped: the connection is draining or closing).
    var takesLines: Bool { lifecycle == .open }

    /// A line read from the socket; it runs in its turn (`nextWork`).
    mutating func lineRead(_ line: ByteBuffer) {
        work.append(.line(line))
    }

    /// A line over the limit was read. Returns false when that ends nothing new (already refused or
    /// stopped); else its -32001 is queued after the lines read before it.
    mutating func lineTooLong() -> Bool {
        guard lifecycle == .open || lifecycle == .draining else { return false }
        lifecycle = .lineTooLong
        work.append(.lineTooLong)
        return true
    }

    /// The peer closed its side, or shutdown began: what was read is still answered, then it closes.
    mutating func inputClosed() {
        if lifecycle == .open { lifecycle = .draining }
    }

    /// The channel is gone: nothing more runs or is answered.
    mutating func channelClosed() {
        lifecycle = .stopped
        closingSeq = nil
        work.removeAll()
        awaitingWrites.removeAll()
    }

    /// A new tick (a read burst or a scheduled run) starts with the whole budget.
    mutating func tickBegan() {
        spent = 0
    }

    /// The next work the budget allows now (its cost counted), or nil: none, the budget is spent, or
    /// the peer does not read its answers (`writable` false: answers would only pile up here).
    mutating func nextWork(writable: Bool) -> Work? {
        if lifecycle == .stopped, let first = work.first, !Self.runsWhenStopped(first, closingSeq: closingSeq) {
            work.removeAll()
        }
        guard spent < budgetPerTick, writable, let item = work.popFirst() else { return nil }
        inBurst = true
        switch item {
        case .job(let job): spent += job.cost.units
        case .answer(_, _, _, _, let cost): spent += cost
        case .line, .lineTooLong: break
        }
        return item
    }

    /// Once stopped by a closing answer, only the work of its line and of earlier lines runs (they are
    /// all before any later line's in `work`); once the channel is gone, nothing.
    private static func runsWhenStopped(_ item: Work, closingSeq: Int?) -> Bool {
        guard let closingSeq else { return false }
        switch item {
        case .job(let job): return job.seq <= closingSeq
        case .answer(let seq, _, _, _, _): return seq <= closingSeq
        case .line, .lineTooLong: return false
        }
    }

    /// Opens the answers of a parsed line and queues what it holds first, before any line read after it.
    mutating func admit(_ message: RPCMessage) {
        switch message {
        case .failure(let error):
            let seq = answers.open(parts: 1, isBatch: false)
            work.prepend(.answer(seq: seq, part: 0, id: .null, error: error, cost: 1))
        case .single(let entry):
            let answered = Self.isAnswered(entry)
            let seq = answers.open(parts: answered ? 1 : 0, isBatch: false)
            work.prepend(.job(Self.job(entry, seq: seq, part: answered ? 0 : nil)))
        case .batch(let entries):
            admitBatch(entries)
        }
    }

    /// A batch is answered in one line, held whole until its last entry is done: the history captures
    /// it asks for are bounded.
    private mutating func admitBatch(_ entries: [RPCEntry]) {
        let seq = answers.open(parts: entries.reduce(0) { $0 + (Self.isAnswered($1) ? 1 : 0) }, isBatch: true)
        var items: [Work] = []
        items.reserveCapacity(entries.count)
        var part = 0
        var captures = 0
        for entry in entries {
            let slot: Int? = Self.isAnswered(entry) ? part : nil
            if slot != nil { part += 1 }
            let job = Self.job(entry, seq: seq, part: slot)
            captures += job.cost.captures
            if captures > Self.maxBatchHistoryCaptures, let slot, case .call(let request) = entry, let id = request.id {
                items.append(.answer(seq: seq, part: slot, id: id, error: Self.batchTooLarge, cost: 0))
            } else {
                items.append(.job(job))
            }
        }
        for item in items.reversed() { work.prepend(item) }
    }

    /// Whether the shell should schedule a run of the work left for a later tick (once).
    mutating func schedulesWork(writable: Bool) -> Bool {
        guard !work.isEmpty, writable, !workScheduled else { return false }
        workScheduled = true
        return true
    }

    /// The scheduled run has begun.
    mutating func scheduledWorkRan() {
        workScheduled = false
        spent = 0
    }

    // MARK: Ordered effects

    /// Whether `job` runs now (a write is counted as started); else it waits, in order, behind this
    /// connection's writes in flight.
    mutating func start(_ job: Job) -> Bool {
        if !awaitingWrites.isEmpty || (writesInFlight > 0 && !job.changesData) {
            awaitingWrites.append(job)
            return false
        }
        if job.changesData { writesInFlight += 1 }
        return true
    }

    /// One write of this connection is done.
    mutating func writeFinished() {
        writesInFlight -= 1
    }

    /// The next job that waited and may run now (a write is counted as started), or nil: until every
    /// write before it is done a call that does not write waits, and so does everything after it.
    mutating func nextReleased() -> Job? {
        if lifecycle == .stopped, let first = awaitingWrites.first, !Self.runsWhenStopped(.job(first), closingSeq: closingSeq) {
            awaitingWrites.removeAll()
        }
        guard let first = awaitingWrites.first, writesInFlight == 0 || first.changesData else { return nil }
        awaitingWrites.removeFirst()
        if first.changesData { writesInFlight += 1 }
        return first
    }

    // MARK: Answers

    /// Whether the answer of line `seq` is a batch's part (the line's newline comes when it is joined).
    func isBatch(seq: Int) -> Bool { answers.isBatch(seq: seq) }

    /// Opens the answer of a line over the limit (it runs as `.lineTooLong`): its sequence number.
    mutating func openLineTooLong() -> Int { answers.open(parts: 1, isBatch: false) }

    /// Puts an answer in its place; `closes`: nothing more runs, and the connection closes once it is
    /// written. Returns whether answers may now be ready to write.
    mutating func answered(seq: Int, part: Int, line: ByteBuffer, closes: Bool) -> Bool {
        if closes, lifecycle != .stopped || closingSeq != nil {
            lifecycle = .stopped
            closingSeq = min(closingSeq ?? seq, seq)
        }
        return answers.fill(seq: seq, part: part, with: line, closeAfter: closes)
    }

    /// The next answer to write (nil for a line of notifications only) and whether the connection
    /// closes after it; nil when the next line is not fully answered.
    mutating func nextAnswer(allocator: ByteBufferAllocator) -> (line: ByteBuffer?, closeAfter: Bool)? {
        guard let ready = answers.popReady(allocator: allocator) else { return nil }
        if ready.line != nil { needsFlush = true }
        if ready.closeAfter { answers.removeAll() }
        return ready
    }

    /// Draining, and everything read is answered: the connection closes now.
    var isDrained: Bool { lifecycle == .draining && answers.isEmpty && work.isEmpty }

    /// Nothing read is waiting, running or unanswered (an idle timeout may close the connection).
    var isIdle: Bool { answers.isEmpty && work.isEmpty && awaitingWrites.isEmpty && writesInFlight == 0 }

    // MARK: Flushing

    /// A read burst or scheduled run is over: whether to flush what it wrote (once for all of it).
    mutating func burstEnded() -> Bool {
        inBurst = false
        defer { needsFlush = false }
        return needsFlush
    }

    /// Answers were written outside a burst (completed by the writer or a scan): whether to schedule
    /// one flush after every answer of this tick (once).
    mutating func schedulesFlush() -> Bool {
        guard needsFlush, !inBurst, !flushScheduled else { return false }
        flushScheduled = true
        return true
    }

    /// The scheduled flush runs: whether anything is left to flush.
    mutating func scheduledFlushRan() -> Bool {
        flushScheduled = false
        defer { needsFlush = false }
        return needsFlush
    }

    // MARK: Backpressure

    /// The channel asks to read more: whether to read now; else the read is held until `resumesReading`.
    mutating func readRequested(writable: Bool) -> Bool {
        guard holdsReads(writable: writable) else { return true }
        readHeld = true
        return false
    }

    /// Whether a held read may go on now.
    mutating func resumesReading(writable: Bool) -> Bool {
        guard readHeld, !holdsReads(writable: writable) else { return false }
        readHeld = false
        return true
    }

    private func holdsReads(writable: Bool) -> Bool {
        lifecycle != .open || !work.isEmpty || answers.count >= maxPendingLines
            || awaitingWrites.count >= maxPendingLines || !writable
    }

    // MARK: Entries

    private static func isAnswered(_ entry: RPCEntry) -> Bool {
        if case .call(let request) = entry { return !request.isNotification }
        return true
    }

    private static func job(_ entry: RPCEntry, seq: Int, part: Int?) -> Job {
        guard case .call(let request) = entry else { return Job(entry: entry, method: nil, cost: .one, seq: seq, part: part) }
        let method = RPCMethod.named(request.method)
        return Job(entry: entry, method: method, cost: method?.cost(request.params) ?? .one, seq: seq, part: part)
    }
}
