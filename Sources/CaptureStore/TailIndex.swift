import Synchronization

/// What the in-memory index keeps of one capture in `captures_recent` (the ingest tail).
struct TailEntry: Sendable, Hashable {
    let id: Int64
    let capturedAt: Int64
    let autorouted: Bool

    /// Newest first by `(capturedAt, id)`, as every query orders captures.
    static func newerFirst(_ a: TailEntry, _ b: TailEntry) -> Bool {
        (a.capturedAt, a.id) > (b.capturedAt, b.id)
    }
}

/// One stored tail capture, as the writer publishes it after the commit that stored it.
struct TailRow: Sendable {
    let entry: TailEntry
    let sessionId: String
    let agentId: String?
    let dedupeKey: String?
}

/// Which captures of each session and agent are in the ingest tail, so `lastRoute` and `history` fetch those
/// few rows by id instead of scanning the unindexed tail; and which dedupe keys the tail holds.
///
/// It is a hint that only ever lists too much, never too little, so answers stay exact:
/// - The writer publishes rows only after the commit that stored them, and before it acknowledges them.
/// - After a commit that moved rows into `captures`, it removes their entries. A reader that copied an entry
///   before that finds the row in `captures`, which the same statement reads.
/// - A listed row another process moved (`taas-capture prune`) is found in `captures` the same way; a listed
///   row that process then deleted is simply not found.
/// Only the service's writer inserts captures, so no tail row can be missing here.
public final class TailIndex: Sendable {
    private struct Key: Hashable {
        let sessionId: String
        let dedupeKey: String
    }

    private struct State: ~Copyable {
        var bySession: [String: [TailEntry]] = [:]
        var byAgent: [String: [TailEntry]] = [:]
        var dedupe: [Key: Int64] = [:]
        var count = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Captures listed (the rows the writer believes the tail holds).
    public var count: Int { state.withLock { $0.count } }

    /// Adds rows the writer has just committed into the tail, in id order.
    func publish(_ rows: [TailRow]) {
        guard !rows.isEmpty else { return }
        state.withLock { state in
            for row in rows {
                state.bySession[row.sessionId, default: []].append(row.entry)
                if let agentId = row.agentId { state.byAgent[agentId, default: []].append(row.entry) }
                if let dedupeKey = row.dedupeKey {
                    state.dedupe[Key(sessionId: row.sessionId, dedupeKey: dedupeKey)] = row.entry.id
                }
            }
            state.count += rows.count
        }
    }

    /// Forgets the rows with `id <= through`: they have just been moved into `captures` (or removed).
    func remove(through: Int64) {
        state.withLock { state in
            var removed = 0
            Self.dropPrefix(&state.bySession, through: through, counting: &removed)
            var ignored = 0
            Self.dropPrefix(&state.byAgent, through: through, counting: &ignored)
            state.dedupe = state.dedupe.filter { $0.value > through }
            state.count -= removed
        }
    }

    /// Forgets everything (before listing the tail afresh).
    func removeAll() {
        state.withLock { state in
            state.bySession = [:]
            state.byAgent = [:]
            state.dedupe = [:]
            state.count = 0
        }
    }

    /// Each list is in id order, so the moved rows are a prefix of it.
    private static func dropPrefix(_ lists: inout [String: [TailEntry]], through: Int64, counting removed: inout Int) {
        for (key, list) in lists {
            let kept = list.firstIndex { $0.id > through } ?? list.endIndex
            guard kept > 0 else { continue }
            removed += kept
            if kept == list.endIndex {
                lists[key] = nil
            } else {
                lists[key] = Array(list[kept...])
            }
        }
    }

    /// The id the tail holds for `(sessionId, dedupeKey)`, if any.
    func dedupeId(sessionId: String, dedupeKey: String) -> Int64? {
        state.withLock { $0.dedupe[Key(sessionId: sessionId, dedupeKey: dedupeKey)] }
    }

    /// The id of the selector's newest autorouted tail capture, if any.
    func newestRouted(_ selector: CaptureSelector) -> Int64? {
        state.withLock { state in
            var best: TailEntry?
            for entry in Self.list(selector, in: state) where entry.autorouted {
                if best.map({ TailEntry.newerFirst(entry, $0) }) ?? true { best = entry }
            }
            return best?.id
        }
    }

    /// The ids of the selector's tail captures with `since <= capturedAt` and `(capturedAt, id) < bound`,
    /// newest first, at most `limit`.
    func ids(_ selector: CaptureSelector, since: Int64, before bound: HistoryCursor, limit: Int) -> [Int64] {
        let entries = state.withLock { state in
            Self.list(selector, in: state).filter {
                $0.capturedAt >= since && ($0.capturedAt, $0.id) < (bound.capturedAt, bound.id)
            }
        }
        return entries.sorted(by: TailEntry.newerFirst).prefix(limit).map(\.id)
    }

    private static func list(_ selector: CaptureSelector, in state: borrowing State) -> [TailEntry] {
        switch selector {
        case .session(let id): state.bySession[id] ?? []
        case .agent(let id): state.byAgent[id] ?? []
        }
    }
}
