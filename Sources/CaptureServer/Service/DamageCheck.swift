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
            var wait = check.firstCheck
            var due: ContinuousClock.Instant?
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.tick)
                guard let fault = check.storage.fault, fault.isDamage else {
                    (wait, due) = (check.firstCheck, nil)
                    continue
                }
                let now = ContinuousClock.now
                guard let at = due else {
                    due = now + wait
                    continue
                }
                guard now >= at else { continue }
                await check.verify(fault, with: reader)
                wait = min(wait * 2, Self.longest)
                due = ContinuousClock.now + wait
            }
        }
        await reader.shutdown()
    }

    private func verify(_ fault: StorageCondition.Fault, with reader: ScanReader) async {
        guard let scan = reader.run(on: eventLoop, { (reader) throws(StoreError) in try reader.quickCheck() }) else { return }
        do {
            let problems = try await scan.get()
            if problems == ["ok"] {
                storage.damageNotConfirmed(since: fault.since)
            } else {
                storage.damageConfirmed(since: fault.since, detail: Self.summary(problems))
            }
        } catch let error as StoreError where error.code == .corrupt || error.code == .notADatabase {
            storage.damageConfirmed(since: fault.since, detail: "quick_check found it and stopped: \(error.message)")
        } catch {
            // An I/O error goes on, or the pool is stopping: the fault stays as it is, the next check tries again.
            logger.debug("quick_check could not run", metadata: ["error": "\(error)"])
        }
    }

    /// "quick_check found 3 problems, the first: …" (SQLite lists 100 at most).
    static func summary(_ problems: [String]) -> String {
        let first = problems.first.map { $0.count > 200 ? String($0.prefix(200)) + "…" : $0 } ?? "?"
        let count = problems.count >= 100 ? "100 or more problems" : "\(problems.count) problem\(problems.count == 1 ? "" : "s")"
        return "quick_check found \(count), the first: \(first)"
    }
}
