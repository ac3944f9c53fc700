import Foundation

/// Runs as files built on threads of their own (`RunFiles`, `RunBuilder`): the writer hands the flusher a full
/// tail and the merger a level's runs, and swaps what they finish into the catalog.
extension RunsEngine {
    /// Builders on their own threads: collects what they finished (swapping it into the catalog in one short
    /// transaction of the writer's), then hands each idle one its next job. `waiting` waits for jobs in hand;
    /// returns whether any job was in hand or started.
    @discardableResult
    func upkeepInBackground(waiting: Bool) throws -> Bool {
        guard let flusher, let merger, let files else { return false }
        if let run = flushing, let outcome = waiting ? flusher.wait() : flusher.collect() {
            _ = try outcome.get()
            try swapInFlushed(run)
            flushing = nil
        }
        if let job = merging, let outcome = waiting ? merger.wait() : merger.collect() {
            try swapIn(merged: job.sources, as: job.target, bloom: try outcome.get()!, files: files)
            merging = nil
        }
        if flushing == nil, tailCount >= runRows {
            let rows = tailRows
            let run = Run(
                id: nextRun, level: 0, rows: rows.count, firstId: rows.first!.entry.id, lastId: rows.last!.entry.id,
                oldestAt: rows.map(\.entry.capturedAt).min()!, newestAt: rows.map(\.entry.capturedAt).max()!,
                bloom: tailFilter(through: Int64.max))
            nextRun += 1
            let mainPath = path
            flusher.submit { connection in
                try files.write(run.id, fromTailAt: mainPath, through: run.lastId, on: connection)
                return nil
            }
            flushing = run
        }
        if merging == nil, let sources = nextMergeSources() {
            let target = nextRun
            nextRun += 1
            let chunkRows = chunkRows
            merger.submit { connection in try files.merge(sources, into: target, chunkRows: chunkRows, on: connection) }
            merging = (sources, target)
        }
        return flushing != nil || merging != nil
    }

    /// A run the flusher wrote from the tail: named in the catalog and its rows taken off the tail, in one
    /// transaction.
    func swapInFlushed(_ made: Run) throws {
        let started = monotonicNs()
        try db.run("BEGIN IMMEDIATE")
        try finishFlush(made, since: started)
    }

    /// Time the builders' threads spent building runs (zero without them).
    var backgroundNs: UInt64 { (flusher?.busyNs ?? 0) + (merger?.busyNs ?? 0) }

    /// Runs as files: the whole merge into a new file (in a service, on a thread of its own: it takes no lock of
    /// the main database), then one short transaction swaps the catalog, then the sources' files are unlinked.
    /// Returns the swap's transaction time (the merge itself holds no lock of the main database).
    @discardableResult
    func mergeFiles(_ sources: [Run], _ files: RunFiles, keepFrom: Int64 = Int64.min) throws -> UInt64 {
        let started = monotonicNs()
        let target = nextRun
        nextRun += 1
        let bloom = try files.merge(sources, into: target, chunkRows: chunkRows, keepFrom: keepFrom)
        let swap = try swapIn(merged: sources, as: target, bloom: bloom, files: files, keepFrom: keepFrom)
        let spent = monotonicNs() - started
        counts.mergeNs += spent
        counts.longestMergeChunkNs = max(counts.longestMergeChunkNs, spent)
        return swap
    }

    /// A merged (or rewritten) run takes its sources' place: in the catalog in one short transaction, then in
    /// memory; the sources' files are unlinked once that commit is durable (`retire`). Returns the transaction's
    /// time.
    @discardableResult
    func swapIn(merged sources: [Run], as target: Int64, bloom: Bloom, files: RunFiles, keepFrom: Int64 = Int64.min) throws -> UInt64 {
        let run = Run.merged(from: sources, id: target, bloom: bloom, keepFrom: keepFrom)
        let swapped = monotonicNs()
        try db.run("BEGIN IMMEDIATE")
        try insertCatalog(run, state: "live")
        try db.run("DELETE FROM runs WHERE run IN (\(Self.idList(sources)))")
        let spent = noteTransaction(since: swapped, less: try db.commit())
        let sourceSet = Set(sources.map(\.id))
        let at = runs.firstIndex { sourceSet.contains($0.id) }!
        runs.removeAll { sourceSet.contains($0.id) }
        runs.insert(run, at: at)
        retire(sources.map(\.id), files)
        counts.merges += 1
        counts.mergeChunks += 1
        return spent
    }

    /// Every row the tail and the live runs hold (the crash test's count; a run file the catalog names must open).
    func storedRows() throws -> Int {
        var total = Int(try db.int("SELECT count(*) FROM tail") ?? 0)
        for run in runs {
            let file = try BenchDatabase(path: files?.path(run.id) ?? "", readOnly: true)
            total += Int(try file.int("SELECT count(*) FROM rows") ?? 0)
        }
        return total
    }

    /// Runs the catalog no longer names: out of use now, and unlinked on a thread of their own once the WAL that
    /// holds the catalog's change is synced. At NORMAL a power loss could take that commit back and leave the
    /// catalog naming files that are gone; syncing it on the writer's thread stalled records for the WAL's
    /// whole unsynced tail (69 ms at 1M), and waiting for a complete checkpoint left gigabytes to unlink at
    /// start-up (1.5 s at 5M) when checkpoints seldom completed.
    func retire(_ ids: [Int64], _ files: RunFiles) {
        for id in ids { files.forget(id) }
        let wal = path + "-wal"
        let paths = ids.map(files.path)
        Thread.detachNewThread {
            let descriptor = open(wal, O_RDONLY)
            guard descriptor >= 0 else { return }
            let synced = fsync(descriptor) == 0
            close(descriptor)
            // Left in place when the sync failed: start-up removes files the catalog does not name.
            if synced { for path in paths { unlink(path) } }
        }
    }
}
