import CaptureStore
import Logging
import NIOConcurrencyHelpers

/// Whether the database takes writes, as the service last found it (SPEC v3 "When storage fails"): `health.storage`,
/// `taas_capture_storage_healthy`, and the one log line when a fault begins and when it ends.
///
/// A fault begins with the first error of the storage itself (full, I/O, read-only, corrupt, not a database), from a
/// write, a read or a checkpoint. It ends at the next successful commit, except while checkpoints fail (the commits
/// are durable, but the WAL cannot shrink: the fault lasts until a checkpoint succeeds, which ends a fault of failed
/// checkpoints alone by itself, or lets the next commit end it) and except corruption: a damaged file stays damaged whatever commits beside the bad pages, so it lasts until the
/// service is restarted on a sound (salvaged) file.
final class StorageCondition: Sendable {
    struct Fault: Sendable, Equatable {
        var code: StoreError.Code
        /// The latest storage error's message (never a path: `StoreError.message`).
        var message: String
        /// Unix milliseconds of the first error of this fault.
        var since: Int64
        /// Records refused with a storage error since the fault began.
        var failedWrites: Int

        /// Whether only a new file can end it.
        var isDamage: Bool { code.isDamage }
    }

    private struct State {
        var fault: Fault?
        /// The last checkpoint (the writer's or the background's) failed.
        var checkpointsFailing = false
        /// The fault under way has seen a storage error other than a checkpoint's.
        var notCheckpointsAlone = false
        /// Checkpoints are failing with an error that is not the storage's (a misuse, out of memory), logged once
        /// until one works.
        var checkpointsMisfiring = false
    }

    private let state = NIOLockedValueBox(State())
    private let logger: Logger

    init(logger: Logger) {
        self.logger = logger
    }

    /// The fault under way, nil while storage is healthy.
    var fault: Fault? { state.withLockedValue { $0.fault } }

    var healthy: Bool { fault == nil }

    /// Whether the last checkpoint (the writer's or the background's) failed.
    var checkpointsFailing: Bool { state.withLockedValue { $0.checkpointsFailing } }

    /// The errors that say something about the storage rather than about one request.
    static func isStorage(_ error: StoreError) -> Bool {
        [.full, .ioError, .corrupt, .notADatabase, .readOnly, .cantOpen].contains(error.code)
    }

    /// How loud one failed request or group is: a storage fault is logged once, when it begins (here), so each
    /// request it fails is detail; anything else is worth a warning each time.
    static func logLevel(for error: StoreError) -> Logger.Level {
        isStorage(error) ? .debug : .warning
    }

    /// `error` ended a write of `records` records (0 for a read, a fold or a change). Other errors are ignored.
    func failed(_ error: StoreError, records: Int = 0, now: Int64 = WallClock.unixMillis()) {
        fault(error, records: records, byCheckpoint: false, now: now)
    }

    private func fault(_ error: StoreError, records: Int, byCheckpoint: Bool, now: Int64) {
        guard Self.isStorage(error) else { return }
        let news: Fault? = state.withLockedValue { state in
            if byCheckpoint { state.checkpointsFailing = true }
            guard var current = state.fault else {
                state.notCheckpointsAlone = !byCheckpoint
                let begun = Fault(code: error.code, message: error.message, since: now, failedWrites: records)
                state.fault = begun
                return begun
            }
            current.failedWrites += records
            if !byCheckpoint { state.notCheckpointsAlone = true }
            // A passing fault shows its latest error (damage among them); damage keeps what it said (or what
            // quick_check confirmed): it is what the operator must act on.
            let becomesDamage = !current.isDamage && error.isDamage
            if !current.isDamage {
                current.code = error.code
                current.message = error.message
            }
            state.fault = current
            return becomesDamage ? current : nil
        }
        guard let news else { return }
        if news.isDamage {
            logger.error(
                "the database is damaged: health says degraded, records may be refused (retryable) until the service runs on a sound file; stop it and run 'taas-capture salvage --from DB --to NEW' (README, \"A damaged database\")",
                metadata: ["error": "\(error.message)"])
        } else {
            logger.error(
                "storage is failing: health says degraded and records may be refused (retryable) until a write succeeds again",
                metadata: ["error": "\(error.message)"])
        }
    }

    /// `PRAGMA quick_check` found the file sound while the fault that began at `since` said it was damaged: SQLite
    /// reported a passing read error as corruption. The fault ends (logged once).
    func damageNotConfirmed(since: Int64, by check: String = "quick_check", now: Int64 = WallClock.unixMillis()) {
        let ended: Fault? = state.withLockedValue { state in
            guard let current = state.fault, current.isDamage, current.since == since else { return nil }
            state.fault = nil
            return current
        }
        guard let ended else { return }
        logger.notice(
            "the damage was not confirmed: the check finds the file sound (a passing read error?); storage recovered",
            metadata: ["check": "\(check)", "failedWrites": "\(ended.failedWrites)", "ms": "\(max(0, now - ended.since))"])
    }

    /// `PRAGMA quick_check` confirmed the damage of the fault that began at `since` (`detail`: what it found, or
    /// where it stopped): health's error says so, and the log once.
    func damageConfirmed(since: Int64, detail: String) {
        let message = "the database is damaged: \(detail)"
        let changed: Bool = state.withLockedValue { state in
            guard var current = state.fault, current.isDamage, current.since == since, current.message != message else {
                return false
            }
            current.code = .corrupt
            current.message = message
            state.fault = current
            return true
        }
        if changed { logger.error("damage confirmed", metadata: ["detail": "\(detail)"]) }
    }

    /// A checkpoint ran: the writer's after a commit, or the background checkpointer's. One that failed starts (or
    /// keeps) a fault that commits do not end. One that succeeded ends a fault of failed checkpoints alone (logged
    /// once), and otherwise lets the next commit end it. A failure that is not the storage's is no fault; it is
    /// logged once until a checkpoint works.
    func checkpointed(_ result: Result<Void, StoreError>, now: Int64 = WallClock.unixMillis()) {
        switch result {
        case .failure(let error) where !Self.isStorage(error):
            let first = state.withLockedValue { state in
                defer { state.checkpointsMisfiring = true }
                return !state.checkpointsMisfiring
            }
            if first { logger.warning("checkpoints failing", metadata: ["error": "\(error)"]) }
        case .failure(let error):
            fault(error, records: 0, byCheckpoint: true, now: now)
        case .success:
            recover(now: now) { state in
                state.checkpointsFailing = false
                state.checkpointsMisfiring = false
                return !state.notCheckpointsAlone
            }
        }
    }

    /// A write committed: a passing fault is over (logged once) unless checkpoints are failing; damage stays.
    func committed(now: Int64 = WallClock.unixMillis()) {
        recover(now: now) { !$0.checkpointsFailing }
    }

    /// Ends a passing fault when `ends` says so (given the state, under the lock).
    private func recover(now: Int64, when ends: (inout State) -> Bool) {
        let ended: Fault? = state.withLockedValue { state in
            guard ends(&state), let current = state.fault, !current.isDamage else { return nil }
            state.fault = nil
            return current
        }
        guard let ended else { return }
        logger.notice(
            "storage recovered",
            metadata: ["failedWrites": "\(ended.failedWrites)", "ms": "\(max(0, now - ended.since))"])
    }
}
