import CaptureStore
import Logging
import NIOCore
import ServiceLifecycle

/// Confirms a damaged file before health keeps saying so (SPEC v3 "When storage fails"). SQLite reports a read
/// that failed in passing (an I/O error under a reader's page) as corruption too, and damage otherwise lasts until
/// a restart. So while the fault is `corrupt`, this runs `PRAGMA quick_check` on a reader of its own thread (never
/// in a query's way): `firstCheck` after the fault began, then at doubling intervals up to an hour. A sound file
/// ends the fault; a damaged one keeps it, with the problems found in health's error. A service of the group.
struct DamageCheck: Service {
    let dbPath: String
    let storage: StorageCondition
    let eventLoop: any EventLoop
    let logger: Logger
    let firstCheck: Duration
    static let longest: Duration = .seconds(3600)
    static let tick: Duration = .milliseconds(250)

    func run() async throws {
        let reader = ScanReader(path: dbPath, threads: 1, capacity: 1)
        let check = self
        await cancelWhenGracefulShutdown {
            var schedule = Schedule(first: check.firstCheck)
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.tick)
                guard let fault = check.storage.fault, fault.isDamage else {
                    schedule.healthy(now: .now)
                    continue
                }
                guard schedule.due(now: .now) else { continue }
                if await check.verify(fault, with: reader, thorough: schedule.unconfirmed > 0) { schedule.notConfirmed() }
                schedule.checked(now: .now)
            }
        }
        await reader.shutdown()
    }

    /// When the next check runs. The wait doubles with each check and starts over only after an hour without
    /// damage, so damage that quick_check cannot see (an index that disagrees with its table) and that a write
    /// keeps meeting is checked ever less often, never every few seconds; and once quick_check has passed a file
    /// that was reported damaged, the next check is the full integrity_check.
    struct Schedule {
        let first: Duration
        private var wait: Duration
        private var dueAt: ContinuousClock.Instant?
        private var healthySince: ContinuousClock.Instant?
        /// Checks that found no damage since the last hour without any.
        private(set) var unconfirmed = 0

        init(first: Duration) {
            self.first = first
            wait = first
        }

        mutating func healthy(now: ContinuousClock.Instant) {
            dueAt = nil
            if healthySince == nil { healthySince = now }
            if let since = healthySince, now - since >= DamageCheck.longest { (wait, unconfirmed) = (first, 0) }
        }

        /// Whether a check is due now (the first call of a fault only schedules it).
        mutating func due(now: ContinuousClock.Instant) -> Bool {
            healthySince = nil
            guard let at = dueAt else {
                dueAt = now + wait
                return false
            }
            return now >= at
        }

        mutating func checked(now: ContinuousClock.Instant) {
            wait = min(wait * 2, DamageCheck.longest)
            dueAt = now + wait
        }

        mutating func notConfirmed() { unconfirmed += 1 }
    }

    /// Runs the check; true when it found the file sound (and so ended the fault).
    private func verify(_ fault: StorageCondition.Fault, with reader: ScanReader, thorough: Bool) async -> Bool {
        let run = reader.run(on: eventLoop) { (reader) throws(StoreError) in
            thorough ? try reader.integrityCheck() : try reader.quickCheck()
        }
        guard let scan = run else { return false }
        let name = thorough ? "integrity_check" : "quick_check"
        do {
            let problems = try await scan.get()
            if problems == ["ok"] {
                storage.damageNotConfirmed(since: fault.since, by: name)
                return true
            }
            let found = CaptureReader.problemsText(problems, showing: 1, clippedAt: 200)
            storage.damageConfirmed(since: fault.since, detail: "\(name) found \(found)")
        } catch let error as StoreError where error.isDamage {
            storage.damageConfirmed(since: fault.since, detail: "\(name) found it and stopped: \(error.message)")
        } catch {
            // An I/O error goes on, or the pool is stopping: the fault stays as it is, the next check tries again.
            logger.debug("\(name) could not run", metadata: ["error": "\(error)"])
        }
        return false
    }

}
