/// Runs as rows of one table (`run_rows`): merges and deletions in chunks, each its own short transaction on the
/// writer's thread.
extension RunsEngine {
    /// Copies the sources' rows of the next range of sessions, about `chunkRows` of them, into the target in
    /// key order; the last chunk also swaps the target in for its sources.
    func mergeChunk() throws {
        guard var job = merge else { return }
        let started = monotonicNs()
        let sourceIds = job.sources.map { BenchValue.int($0.id) }
        let inList = (0..<job.sources.count).map { "?\($0 + 4)" }.joined(separator: ", ")
        try db.run("BEGIN IMMEDIATE")
        let until = try chunkEnd(after: job.from, in: job.sources)
        let copy = try db.prepare("""
            INSERT INTO run_rows (run, id, \(Self.columnList))
                SELECT ?1, id, \(Self.columnList) FROM run_rows
                WHERE run IN (\(inList)) AND session_id >= ?2 AND session_id < ?3
                ORDER BY session_id, captured_at, id
            """)
        copy.bind([.int(job.target), .text(job.from), Self.upperBound(until)])
        copy.bind(sourceIds, from: 4)
        try copy.runToEnd()
        let keys = try db.prepare("""
            SELECT session_id, dedupe_key FROM run_rows
            WHERE run = ?1 AND session_id >= ?2 AND session_id < ?3 AND dedupe_key IS NOT NULL
            """)
        keys.bind([.int(job.target), .text(job.from), Self.upperBound(until)])
        while try keys.step() { job.bloom.insert(Bloom.Hashes(session: keys.text(0) ?? "", key: keys.text(1) ?? "")) }
        job.from = until
        let finished = until == Self.sessionEnd
        var made: Run?
        if finished {
            let sources = job.sources
            let run = Run.merged(from: sources, id: job.target, bloom: job.bloom)
            try insertCatalog(run, state: "live")
            try db.run("UPDATE runs SET state = 'retired', bloom = NULL WHERE run IN (\(Self.idList(sources)))")
            made = run
        }
        let spent = noteTransaction(since: started, less: try db.commit())
        counts.mergeNs += spent
        counts.longestMergeChunkNs = max(counts.longestMergeChunkNs, spent)
        counts.mergeChunks += 1
        if let made {
            let sourceSet = Set(job.sources.map(\.id))
            let at = runs.firstIndex { sourceSet.contains($0.id) }!
            runs.removeAll { sourceSet.contains($0.id) }
            runs.insert(made, at: at)
            retired.append(contentsOf: job.sources.map(\.id))
            merge = nil
            counts.merges += 1
        } else {
            merge = job
        }
    }

    /// The session after about `chunkRows` rows of the sources from `from` on (the largest source sampled, its
    /// share scaled), never `from` itself; `sessionEnd` when the rest fits.
    func chunkEnd(after from: String, in sources: [Run]) throws -> String {
        let largest = sources.max { $0.rows < $1.rows }!
        let total = sources.reduce(0) { $0 + $1.rows }
        let offset = max(1, chunkRows * largest.rows / max(1, total))
        let sample = try db.prepare(
            "SELECT session_id FROM run_rows WHERE run = ?1 AND session_id > ?2 ORDER BY session_id LIMIT 1 OFFSET ?3")
        sample.bind([.int(largest.id), .text(from), .int(Int64(offset))])
        let found = try sample.step() ? sample.text(0) : nil
        sample.reset()
        return found ?? Self.sessionEnd
    }

    /// Deletes a retired run's rows up to and including the session about `chunkRows` rows in (at least one
    /// whole session, however many rows it has), or all that is left and the run's catalog row.
    func deleteChunk(of run: Int64) throws {
        let started = monotonicNs()
        try db.run("BEGIN IMMEDIATE")
        let sample = try db.prepare("SELECT session_id FROM run_rows WHERE run = ?1 ORDER BY session_id LIMIT 1 OFFSET ?2")
        sample.bind([.int(run), .int(Int64(chunkRows))])
        let until = try sample.step() ? sample.text(0) : nil
        sample.reset()
        if let until {
            let delete = try db.prepare("DELETE FROM run_rows WHERE run = ?1 AND session_id <= ?2")
            delete.bind([.int(run), .text(until)])
            try delete.runToEnd()
        } else {
            try db.run("DELETE FROM run_rows WHERE run = \(run); DELETE FROM runs WHERE run = \(run)")
            retired.removeFirst()
        }
        let spent = noteTransaction(since: started, less: try db.commit())
        counts.deleteNs += spent
        counts.longestDeleteChunkNs = max(counts.longestDeleteChunkNs, spent)
        counts.deleteChunks += 1
    }
}
