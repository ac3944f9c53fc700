import AffinityCore
import Foundation

/// The WAL-index header (https://www.sqlite.org/walformat.html#the_wal_index_header), the 48 bytes SQLite
/// rewrites at every commit, by any connection of any process: its frame count (`mxFrame`) grows with each
/// commit and its first salt grows by one each time the WAL starts over, so two equal stamps mean that no
/// transaction committed in between.
struct WalStamp: Equatable {
    var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)

    static func == (a: WalStamp, b: WalStamp) -> Bool {
        a.bytes.0 == b.bytes.0 && a.bytes.1 == b.bytes.1 && a.bytes.2 == b.bytes.2
            && a.bytes.3 == b.bytes.3 && a.bytes.4 == b.bytes.4 && a.bytes.5 == b.bytes.5
    }

    /// `mxFrame`: the last valid frame of the WAL (offset 16, native byte order).
    var frames: Int { Int(field(at: 16)) }
    /// `aSalt[0]` (offset 32): the WAL header's bytes, big-endian, incremented by one each time the WAL is
    /// restarted from its beginning.
    var firstSalt: UInt32 { UInt32(bigEndian: field(at: 32)) }

    private func field(at offset: Int) -> UInt32 {
        withUnsafeBytes(of: bytes) { $0.loadUnaligned(fromByteOffset: offset, as: UInt32.self) }
    }
}

/// The newest autorouted capture of recently asked sessions and agents, kept exact, so that `lastRoute`
/// answers from memory rather than from a read transaction and two index descents.
///
/// Exactness, against every writer of the file:
/// - The service's writer connection tells the cache of each of its write transactions (through
///   `RouteCache.Observer`, its `TransactionObserver`): at `BEGIN IMMEDIATE` the WAL-index header must still be the one it published after its last commit (else
///   another process or connection committed since: the cache is emptied); after `COMMIT` the header must be
///   exactly the one its own commit made (the WAL's frame count from the WAL hook, with the same salt, or the
///   next one when the commit restarted the WAL), and only then are the captures it stored applied and the new
///   header published. Anything else empties the cache.
/// - A reader uses the cache only while the header it reads now equals the published one. Between any commit
///   and the writer's publication of it (a few microseconds for the service's own, until the writer's next
///   transaction for another process's: the writer checks at least every second), readers go to SQLite.
/// - A reader fills a missing entry from SQLite only when the header is unchanged from before its query to
///   after it, so the row it read is the state the cache is at.
/// - Captures deleted by the writer (retention) leave the cache at their commit: an entry holding one of them is
///   dropped (a deletion cannot make any other capture the newest), the rest stay.
///
/// Keys compare by Unicode scalars (`ScalarKey`), as SQLite compares text; values are what SQLite returns.
/// Bounded: at most `capacity` sessions and `capacity / 16` agents (a full map starts over); about 1 KB an
/// entry.
public final class RouteCache: @unchecked Sendable {
    // @unchecked: every stored property is read and written only while holding `lock`.
    private let lock = NSLock()
    private var published: WalStamp?
    private var sessions: [ScalarKey: Capture?] = [:]
    private var agents: [ScalarKey: Capture?] = [:]
    private let sessionCapacity: Int
    private let agentCapacity: Int
    /// The writer's open transaction: captures to apply at its commit, and the autorouted captures it deleted.
    private var staged: [Capture] = []
    private var stagedDeletions: [DeletedRoute] = []

    /// An autorouted capture a transaction deleted: where the cache may hold it.
    struct DeletedRoute {
        let id: Int64
        let session: ScalarKey
        let agent: ScalarKey?

        init(id: Int64, sessionId: String, agentId: String?) {
            self.id = id
            session = ScalarKey(sessionId)
            agent = agentId.map(ScalarKey.init)
        }
    }

    public static let defaultCapacity = 16_384

    public init(capacity: Int = RouteCache.defaultCapacity) {
        sessionCapacity = max(1, capacity)
        agentCapacity = max(1, capacity / 16)
    }

    /// How many sessions and agents are held (for tests).
    var counts: (sessions: Int, agents: Int) {
        lock.withLock { (sessions.count, agents.count) }
    }

    // MARK: Readers

    enum Lookup {
        /// The newest autorouted capture, or nil when the selector has none.
        case hit(Capture?)
        /// Not held: query SQLite, then `fill` with the stamp given here.
        case miss(WalStamp)
        /// A commit is not yet published: query SQLite, do not fill.
        case bypass
    }

    func lookup(_ selector: CaptureSelector, now: WalStamp?) -> Lookup {
        lock.withLock {
            guard let now, now == published else { return .bypass }
            let held: Capture??
            switch selector {
            case .session(let id): held = sessions[ScalarKey(id)]
            case .agent(let id): held = agents[ScalarKey(id)]
            }
            if let held { return .hit(held) }
            return .miss(now)
        }
    }

    /// Holds `capture` (what SQLite answered) for `selector` when nothing committed since `seen`.
    func fill(_ selector: CaptureSelector, _ capture: Capture?, seen: WalStamp, now: WalStamp?) {
        lock.withLock {
            guard let now, now == seen, published == seen else { return }
            switch selector {
            case .session(let id): Self.hold(capture, at: ScalarKey(id), in: &sessions, capacity: sessionCapacity)
            case .agent(let id): Self.hold(capture, at: ScalarKey(id), in: &agents, capacity: agentCapacity)
            }
        }
    }

    /// Full, it starts over: cheaper than any eviction order for a cache refilled by one query a miss.
    private static func hold(_ capture: Capture?, at key: ScalarKey, in map: inout [ScalarKey: Capture?], capacity: Int) {
        if map.count >= capacity, map[key] == nil { map.removeAll(keepingCapacity: true) }
        map[key] = .some(capture)
    }

    // MARK: The writer

    /// At `BEGIN IMMEDIATE`: a header other than the published one means a commit the cache did not see.
    func writerBegan(_ stamp: WalStamp?) {
        lock.withLock {
            discardStagedLocked()
            if stamp == nil || stamp != published { emptyLocked() }
        }
    }

    /// A capture the writer's open transaction stored.
    func stage(_ capture: Capture) {
        guard capture.usage.autorouted else { return }
        lock.withLock { staged.append(capture) }
    }

    /// The writer's open transaction deleted these autorouted captures (deleting any other capture changes no
    /// entry). Keys are built here, outside the lock.
    func stageDeletion(of deleted: [DeletedRoute]) {
        guard !deleted.isEmpty else { return }
        lock.withLock { stagedDeletions.append(contentsOf: deleted) }
    }

    /// After `COMMIT`: applies the staged captures and publishes `now` when it is exactly the header this
    /// commit made from `began` (`frames` from the WAL hook; nil when the commit wrote none). `othersCommitted`
    /// settles the one shape the header cannot: whether the connection has seen another's commit since BEGIN.
    func writerCommitted(began: WalStamp?, frames: Int?, now: WalStamp?, othersCommitted: () -> Bool) {
        let shape = began.flatMap { began in now.map { Self.commitShape(began: began, frames: frames, now: $0) } }
        // Outside the lock: it runs a statement.
        let own = shape == .own || (shape == .ambiguous && !othersCommitted())
        lock.withLock {
            defer { discardStagedLocked() }
            guard own, let now else {
                emptyLocked()
                return
            }
            for deleted in stagedDeletions { dropLocked(deleted) }
            // A capture stored and deleted in one transaction never reaches the cache (ids are never reused:
            // AUTOINCREMENT). The service's writer never does both in one transaction today.
            let deletedIds = staged.isEmpty || stagedDeletions.isEmpty ? [] : Set(stagedDeletions.map(\.id))
            for capture in staged where !deletedIds.contains(capture.id) { applyLocked(capture) }
            published = now
        }
    }

    enum CommitShape { case own, notOwn, ambiguous }

    /// Whether `now` is the header left by one commit from `began`. Without frames: unchanged. With them, the
    /// WAL ends at `frames`: in the same salt when the commit appended to the WAL (it then ends past where it
    /// began), or in the next salt when the commit restarted the WAL (after a checkpoint copied all of it). A
    /// commit by anyone else after this one ends further on or in a later salt. The one shape both could make
    /// (the next salt and past where it began: this commit restarting a short WAL, or another process
    /// restarting it after this commit appended) is ambiguous.
    static func commitShape(began: WalStamp, frames: Int?, now: WalStamp) -> CommitShape {
        guard let frames else { return now == began ? .own : .notOwn }
        guard now.frames == frames else { return .notOwn }
        if now.firstSalt == began.firstSalt { return frames > began.frames ? .own : .notOwn }
        guard now.firstSalt == began.firstSalt &+ 1 else { return .notOwn }
        return frames > began.frames ? .ambiguous : .own
    }

    func writerRolledBack() {
        lock.withLock { discardStagedLocked() }
    }

    /// Whether readers are going to SQLite because the header moved on without the writer's publication.
    func isBehind(_ now: WalStamp?) -> Bool {
        lock.withLock { now == nil || now != published }
    }

    /// The writer committed something outside a watched transaction.
    func writerLostTrack() {
        lock.withLock { emptyLocked() }
    }

    /// Empties the cache and withdraws the published header: readers go to SQLite until the next commit.
    private func emptyLocked() {
        clearLocked()
        published = nil
    }

    private func clearLocked() {
        sessions.removeAll()
        agents.removeAll()
    }

    private func discardStagedLocked() {
        staged.removeAll(keepingCapacity: true)
        stagedDeletions.removeAll(keepingCapacity: true)
    }

    /// Drops the entries that hold the deleted capture; entries of other captures, or of none, stay exact.
    private func dropLocked(_ deleted: DeletedRoute) {
        if case .some(.some(let held)) = sessions[deleted.session], held.id == deleted.id {
            sessions[deleted.session] = nil
        }
        if let agent = deleted.agent, case .some(.some(let held)) = agents[agent], held.id == deleted.id {
            agents[agent] = nil
        }
    }

    /// A held entry moves to `capture` when it is newer by `(capturedAt, id)`; absent entries stay absent
    /// (only SQLite knows whether an older capture is the newest).
    private func applyLocked(_ capture: Capture) {
        Self.apply(capture, at: ScalarKey(capture.sessionId), in: &sessions)
        if let agent = capture.agentId { Self.apply(capture, at: ScalarKey(agent), in: &agents) }
    }

    private static func apply(_ capture: Capture, at key: ScalarKey, in map: inout [ScalarKey: Capture?]) {
        guard let held = map[key] else { return }
        if let current = held, (current.capturedAt, current.id) >= (capture.capturedAt, capture.id) { return }
        map[key] = .some(capture)
    }
}
