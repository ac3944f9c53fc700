import CaptureStore
import Foundation
import Logging
import NIOCore

/// The group-commit loop, run on one dedicated thread that owns the `CaptureWriter`.
///
/// Each turn takes everything pending (up to `maxGroup`) and stores all records in ONE transaction,
/// then answers each only after the commit. Retention runs between groups, on a timer. When a
/// non-retryable error hits a group of several records, they are retried one by one so that one
/// bad capture cannot fail the others. Errors never end the loop: the next group tries again.
struct WriterLoop: Sendable {
    let queue: WriteQueue
    let retention: RetentionPolicy
    let pruneInterval: Duration
    let maxGroup: Int
    let stats: WriterStats
    let metrics: ServiceMetrics?
    let logger: Logger

    /// Runs until the queue is stopped and drained, then stops `checkpoints`, checkpoints (truncating the WAL) and
    /// closes.
    func run(writer: CaptureWriter, checkpoints: CheckpointThread? = nil) {
        var nextPrune = Date().addingTimeInterval(pruneInterval.secondsValue)
        // An interval of 0 turns the timer off (`taas.capture.prune` and `taas-capture prune` still work).
        let pruning = pruneInterval > .zero
            && (retention.maxAgeMs > 0 || retention.maxPerSession > 0 || retention.maxRows > 0)
        var folding = RollupFolding(writer: writer, storage: stats.storage, logger: logger)
        var nextCatchUp = Date().addingTimeInterval(Self.catchUpSeconds)
        while true {
            let deadline = [pruning ? nextPrune : nil, folding.deadline, nextCatchUp].compactMap { $0 }.min()
            let (jobs, stopping) = queue.take(max: maxGroup, deadline: deadline)
            if !jobs.isEmpty { folding.recorded(process(jobs, writer: writer)) }
            if stopping, jobs.isEmpty { break }
            folding.foldIfDue(writer: writer, idle: jobs.isEmpty)
            if Date() >= nextCatchUp {
                catchUpRoutes(writer: writer)
                nextCatchUp = Date().addingTimeInterval(Self.catchUpSeconds)
            }
            if pruning, !stopping, Date() >= nextPrune {
                folding.recorded(timedPrune(writer: writer))
                nextPrune = Date().addingTimeInterval(pruneInterval.secondsValue)
            }
        }
        // A checkpoint under way on the other thread would make this one busy.
        checkpoints?.stop()
        do {
            try writer.checkpoint(truncate: true)
        } catch {
            logger.warning("checkpoint at shutdown failed", metadata: ["error": "\(error)"])
        }
        writer.close()
    }

    /// How long, at most, `lastRoute` goes to SQLite after another process committed while the writer was idle.
    static let catchUpSeconds = 1.0

    private func catchUpRoutes(writer: CaptureWriter) {
        do {
            try writer.catchUpRoutes()
        } catch {
            // Readers keep answering from SQLite meanwhile; the next second tries again.
            logger.debug("route cache catch-up failed", metadata: ["error": "\(error)"])
        }
    }

    /// Returns how many records it committed between the chunks.
    private func timedPrune(writer: CaptureWriter) -> Int {
        var committed = 0
        do {
            let report = try prune(retention, dryRun: false, writer: writer, committed: &committed)
            if report.deleted > 0 {
                logger.info(
                    "retention pruned captures",
                    metadata: ["deleted": "\(report.deleted)", "remaining": "\(report.remaining)"]
                )
            }
        } catch {
            logger.error("retention prune failed", metadata: ["error": "\(error)"])
        }
        return committed
    }

    /// Prunes in short transactions and commits the records that arrived meanwhile between them (adding them to
    /// `committed`), so a record waits for at most one chunk, never for the whole prune. After a chunk that deleted
    /// captures the writer serves records alone for as long as `RetentionPace` says (not in a dry run). Once shutdown
    /// has begun (`WriteQueue.windDown`) the prune ends after the chunk under way (`PruneReport.stopped`): a stop
    /// waits for one chunk, not for the whole prune, and the next prune removes the rest.
    private func prune(
        _ policy: RetentionPolicy, dryRun: Bool, writer: CaptureWriter, committed: inout Int
    ) throws(StoreError) -> PruneReport {
        let clock = ContinuousClock()
        var chunkStarted = clock.now
        var deletedBefore = 0
        var recordsBetween = 0
        var ending = false
        let report = try writer.prune(policy, now: WallClock.unixMillis(), dryRun: dryRun) { progress in
            let wrote = !dryRun && progress.deleted > deletedBefore
            deletedBefore = progress.deleted
            let pauseEnds = clock.now + (wrote ? RetentionPace.pause(after: clock.now - chunkStarted) : .zero)
            var records: [WriterJob]
            (records, ending) = queue.takeRecords(max: maxGroup)
            while true {
                if !records.isEmpty { recordsBetween += process(records, writer: writer) }
                let left = pauseEnds - clock.now
                if ending || left <= .zero { break }
                // Waits by the wall clock, so at most what is left of the pause by the monotonic one each time.
                (records, ending) = queue.takeRecords(max: maxGroup, waitingUntil: Date().addingTimeInterval(left.secondsValue))
            }
            chunkStarted = clock.now
        } stopsEarly: {
            ending
        }
        committed += recordsBetween
        if report.stopped {
            logger.notice(
                "prune stopped with the service; the next prune removes the rest",
                metadata: ["deleted": "\(report.deleted)", "remaining": "\(report.remaining)"])
        }
        metrics?.pruned(report)
        return report
    }

    /// Commits `jobs`; returns how many records it committed.
    @discardableResult
    private func process(_ jobs: [WriterJob], writer: CaptureWriter) -> Int {
        var captures: [NewCapture] = []
        var completions: [WriterCompletion<RecordOutcome>] = []
        captures.reserveCapacity(jobs.count)
        completions.reserveCapacity(jobs.count)
        var prunes: [(RetentionPolicy, Bool, WriterCompletion<PruneReport>)] = []
        var changes: [WriterJob.Change] = []
        var forwarding: [ForwardingChange] = []
        for job in jobs {
            switch job {
            case .record(let capture, let completion):
                captures.append(capture)
                completions.append(completion)
            case .prune(let policy, let dryRun, let completion):
                prunes.append((policy, dryRun, completion))
            case .change(let change):
                changes.append(change)
            case .forwarding(let change):
                forwarding.append(change)
            }
        }
        var committed = 0
        if !captures.isEmpty {
            let results = record(captures, writer: writer)
            committed = results.count { if case .success = $0 { true } else { false } }
            deliver(results, to: completions)
        }
        for change in forwarding {
            do {
                try writer.applyForwarding(change, now: WallClock.unixMillis())
            } catch {
                // The next batch's progress writes it again; retention stays on the safe side meanwhile.
                logger.warning("cannot note forwarding progress", metadata: ["error": "\(error)"])
            }
        }
        // Each change (an override, a budget) commits on its own: they are rare, and each answers after its commit.
        for change in changes { change(writer) }
        for (policy, dryRun, completion) in prunes {
            let result: Result<PruneReport, StoreError>
            do {
                result = .success(try prune(policy, dryRun: dryRun, writer: writer, committed: &committed))
            } catch {
                result = .failure(error)
            }
            completion.eventLoop.execute { completion.deliver(result) }
        }
        return committed
    }

    private func record(_ captures: [NewCapture], writer: CaptureWriter) -> [Result<RecordOutcome, StoreError>] {
        do {
            let outcomes = try writer.record(captures)
            stats.committed(records: captures.count)
            metrics?.committed()
            return outcomes.map { .success($0) }
        } catch {
            // One capture may be what fails (a constraint, a damaged page its insert touches): try each alone.
            // A failure of the whole file (full, I/O, busy, read-only, not a database) would fail each alone too.
            if captures.count > 1, error.code == .corrupt || !error.isRetryable {
                logger.log(
                    level: StorageCondition.logLevel(for: error), "group commit failed; retrying records one by one",
                    metadata: ["error": "\(error)"])
                return captures.map { capture in
                    do throws(StoreError) {
                        let outcome = try writer.record([capture])[0]
                        stats.committed(records: 1)
                        metrics?.committed()
                        return .success(outcome)
                    } catch {
                        stats.storage.failed(error, records: 1)
                        return .failure(error)
                    }
                }
            }
            stats.storage.failed(error, records: captures.count)
            logger.log(
                level: StorageCondition.logLevel(for: error), "group commit failed",
                metadata: ["error": "\(error)", "records": "\(captures.count)"])
            return Array(repeating: .failure(error), count: captures.count)
        }
    }

    /// Hands results back with one hop per event loop rather than one per request.
    private func deliver(
        _ results: [Result<RecordOutcome, StoreError>], to completions: [WriterCompletion<RecordOutcome>]
    ) {
        var byLoop: [ObjectIdentifier: (loop: any EventLoop, items: [(WriterCompletion<RecordOutcome>, Result<RecordOutcome, StoreError>)])] = [:]
        for (completion, result) in zip(completions, results) {
            let key = ObjectIdentifier(completion.eventLoop)
            byLoop[key, default: (completion.eventLoop, [])].items.append((completion, result))
        }
        for (_, entry) in byLoop {
            let items = entry.items
            entry.loop.execute {
                for (completion, result) in items { completion.deliver(result) }
            }
        }
    }
}

/// When the writer folds new captures into the stats rollups: a batch whenever a batch has gathered, and
/// whatever is left after a quiet second. A backlog (the first start on schema 4) folds a batch per turn,
/// without waiting, and is logged when it starts and when it is done. Each fold also adds ended hours to the session
/// tables; while they lag behind with nothing left to fold, a quiet second brings another.
struct RollupFolding {
    /// Ids above the rollups' mark, as last counted plus records committed since.
    private var unfolded: Int
    /// Whether the session tables lack captures of ended hours, as last checked.
    private var sessionsBehind = false
    private var backlogStarted: Int64?
    /// After a failed fold, the next try waits this long (a persistent failure must not spin the writer).
    private var pausedUntil: Date?
    private let storage: StorageCondition
    private let logger: Logger
    static let quietSeconds = 1.0

    init(writer: CaptureWriter, storage: StorageCondition, logger: Logger) {
        self.storage = storage
        self.logger = logger
        do {
            unfolded = try writer.unfoldedIds()
            sessionsBehind = try writer.sessionsBehind()
        } catch {
            // A damaged file is usually found here first, at start: health says so from now on.
            storage.failed(error)
            logger.warning("cannot read the stats rollups' mark", metadata: ["error": "\(error)"])
            unfolded = 0
        }
        if unfolded >= CaptureWriter.foldBatch {
            backlogStarted = WallClock.monotonicMillis()
            logger.info("building the stats rollups", metadata: ["captures": "\(unfolded)"])
        }
    }

    /// When the queue's wait should end to fold: now during a backlog, after a quiet second otherwise.
    var deadline: Date? {
        guard unfolded > 0 || sessionsBehind else { return nil }
        // A backlog, of ids or of ended hours for the session tables alone, goes on at once (each fold is short).
        let backlog = unfolded >= CaptureWriter.foldBatch || (unfolded == 0 && sessionsBehind)
        let due = Date().addingTimeInterval(backlog ? 0 : Self.quietSeconds)
        return pausedUntil.map { max($0, due) } ?? due
    }

    mutating func recorded(_ count: Int) { unfolded += count }

    mutating func foldIfDue(writer: CaptureWriter, idle: Bool) {
        guard unfolded >= CaptureWriter.foldBatch || (idle && (unfolded > 0 || sessionsBehind)) else { return }
        if let pausedUntil, Date() < pausedUntil { return }
        pausedUntil = nil
        do {
            try writer.foldRollups()
            unfolded = try writer.unfoldedIds()
            sessionsBehind = try writer.sessionsBehind()
            // The fold commits too.
            storage.committed()
        } catch {
            storage.failed(error)
            // The captures stay above the mark, where every query still counts them; the next turn tries again.
            logger.warning("folding captures into the stats rollups failed", metadata: ["error": "\(error)"])
            pausedUntil = Date().addingTimeInterval(5)
            return
        }
        if let started = backlogStarted, unfolded < CaptureWriter.foldBatch {
            logger.info("stats rollups built", metadata: ["ms": "\(WallClock.monotonicMillis() - started)"])
            backlogStarted = nil
        }
    }
}
