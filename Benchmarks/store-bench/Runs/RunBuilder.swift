import Foundation

/// A thread of its own that builds run files one job at a time, on a connection of its own, so the writer's
/// thread only appends to the tail and swaps finished runs into the catalog.
///
/// `@unchecked Sendable`: `job` and `outcome` are read and written only under `condition`; a job owns what its
/// closure captures (the run files it writes, the sources it reads, this builder's connection) until the writer
/// collects its outcome, and the writer submits the next job only after that.
final class RunBuilder: @unchecked Sendable {
    typealias Job = (BenchDatabase) throws -> Bloom?

    private let condition = NSCondition()
    private var job: Job?
    private var outcome: Result<Bloom?, any Error>?
    private var connection: BenchDatabase?
    private var busy: UInt64 = 0

    init(name: String) {
        let thread = Thread { [self] in work() }
        thread.name = name
        thread.start()
    }

    /// Wall time this thread spent on jobs (not CPU time: it includes waiting for I/O and for a core).
    var busyNs: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return busy
    }

    func submit(_ job: @escaping Job) {
        condition.lock()
        self.job = job
        condition.signal()
        condition.unlock()
    }

    /// The finished job's outcome, or nil while it runs.
    func collect() -> Result<Bloom?, any Error>? {
        condition.lock()
        defer { condition.unlock() }
        let finished = outcome
        outcome = nil
        return finished
    }

    /// Waits for the job in hand to finish.
    func wait() -> Result<Bloom?, any Error> {
        condition.lock()
        defer { condition.unlock() }
        while outcome == nil { condition.wait() }
        let finished = outcome!
        outcome = nil
        return finished
    }

    private func work() {
        while true {
            condition.lock()
            while job == nil { condition.wait() }
            let next = job!
            job = nil
            condition.unlock()
            let started = monotonicNs()
            let result = Result<Bloom?, any Error> {
                if connection == nil { connection = try BenchDatabase(path: ":memory:") }
                return try next(connection!)
            }
            condition.lock()
            busy += monotonicNs() - started
            outcome = result
            condition.broadcast()
            condition.unlock()
        }
    }
}
