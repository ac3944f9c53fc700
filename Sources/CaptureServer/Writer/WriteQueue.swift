import CaptureStore
import Foundation
import NIOCore

/// Delivers a writer result to the event loop that asked for it.
struct WriterCompletion<Value: Sendable>: Sendable {
    let eventLoop: any EventLoop
    let deliver: @Sendable (Result<Value, StoreError>) -> Void

    /// A change that runs `body` on the writer and hands its result (or error) to this completion's loop.
    func change(_ body: @escaping @Sendable (CaptureWriter) throws(StoreError) -> Value) -> WriterJob {
        .change { writer in
            let result: Result<Value, StoreError>
            do throws(StoreError) {
                result = .success(try body(writer))
            } catch {
                result = .failure(error)
            }
            eventLoop.execute { deliver(result) }
        }
    }
}

/// One unit of work for the writer thread.
enum WriterJob: Sendable {
    case record(NewCapture, WriterCompletion<RecordOutcome>)
    case prune(RetentionPolicy, dryRun: Bool, WriterCompletion<PruneReport>)
    /// A write that commits in a transaction of its own (an algorithm override, a budget) and answers its
    /// caller itself, after the commit (`WriterCompletion.change`).
    case change(Change)
    typealias Change = @Sendable (CaptureWriter) -> Void
    /// The forwarder's progress (or forwarding switched on or off); nobody waits for it.
    case forwarding(ForwardingChange)

    var isRecord: Bool {
        if case .record = self { true } else { false }
    }
}

/// The bounded queue between every connection and the writer thread.
///
/// `submit` never blocks an event loop: past `capacity` it refuses (the caller answers -32002).
final class WriteQueue: @unchecked Sendable {
    // @unchecked: `jobs`, `stopping`, `windingDown` and `waitingForRecords` are only touched while holding `condition`.
    private let condition = NSCondition()
    private var jobs: [WriterJob] = []
    private var stopping = false
    /// Shutdown has begun (`windDown`): jobs are still taken, but a prune ends after its chunk under way.
    private var windingDown = false
    /// The writer is waiting for records alone (a prune's pause), so a record must wake it even behind other jobs.
    private var waitingForRecords = false
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        jobs.reserveCapacity(min(capacity, 4096))
    }

    /// Jobs waiting now.
    var depth: Int {
        condition.lock()
        defer { condition.unlock() }
        return jobs.count
    }

    /// Enqueues `job`; false when the queue is full or the writer is stopping.
    func submit(_ job: WriterJob) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !stopping, jobs.count < capacity else { return false }
        jobs.append(job)
        if jobs.count == 1 || (waitingForRecords && job.isRecord) { condition.signal() }
        return true
    }

    /// Waits until there is work, `deadline` passes, or the queue is stopping; takes up to `max` jobs.
    ///
    /// It takes whatever is queued at once rather than waiting for a fuller group: while one commit
    /// runs, the next group gathers. Waiting up to 200 µs for groups as large as the last one was
    /// measured (BENCHMARKS.md): groups of 8 instead of about 3, but 10–45 % fewer records per second
    /// at 8 connections, because on 2 cores a commit overlapping the event loops' work beats a bigger one.
    func take(max: Int, deadline: Date?) -> (jobs: [WriterJob], stopping: Bool) {
        condition.lock()
        defer { condition.unlock() }
        while jobs.isEmpty, !stopping {
            if let deadline {
                if !condition.wait(until: deadline) { break }
            } else {
                condition.wait()
            }
        }
        if jobs.count <= max {
            let taken = jobs
            jobs.removeAll(keepingCapacity: true)
            return (taken, stopping)
        }
        let taken = Array(jobs.prefix(max))
        jobs.removeFirst(max)
        return (taken, stopping)
    }

    /// Takes up to `max` queued records, leaving every other job queued: what the writer commits between the
    /// chunks of a prune. With `deadline`, first waits until a record is queued, the deadline passes or shutdown
    /// begins. `ending`: shutdown has begun (`windDown` or `stop`), so the prune should end.
    func takeRecords(max: Int, waitingUntil deadline: Date? = nil) -> (records: [WriterJob], ending: Bool) {
        condition.lock()
        defer { condition.unlock() }
        if let deadline {
            waitingForRecords = true
            while !stopping, !windingDown, !jobs.contains(where: \.isRecord), condition.wait(until: deadline) {}
            waitingForRecords = false
        }
        var taken: [WriterJob] = []
        var kept: [WriterJob] = []
        for job in jobs {
            if job.isRecord, taken.count < max { taken.append(job) } else { kept.append(job) }
        }
        if !taken.isEmpty { jobs = kept }
        return (taken, stopping || windingDown)
    }

    /// Shutdown has begun: the service answers what it has read, then stops the queue. A prune under way ends after
    /// its chunk meanwhile, so that answering does not wait for a whole prune (minutes for millions of rows).
    func windDown() {
        condition.lock()
        windingDown = true
        condition.broadcast()
        condition.unlock()
    }

    /// Refuses new jobs; the writer drains what is queued and then ends.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}
