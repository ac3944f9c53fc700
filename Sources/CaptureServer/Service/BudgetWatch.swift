import AffinityCore
import CaptureStore
import Logging
import NIOCore
import ServiceLifecycle

/// Looks at the budgets once a minute on the scan pool, never in a call's way (SPEC v3 "Budgets (warn only)"):
/// logs one line per subject per UTC day when its reported spend passes its budget, and keeps the number exceeded
/// for the metrics. A service of the group; graceful shutdown ends it.
struct BudgetWatch: Service {
    let scanReader: ScanReader
    let status: BudgetStatus
    let eventLoop: any EventLoop
    let logger: Logger
    let interval: Duration

    func run() async throws {
        let watch = self
        await cancelWhenGracefulShutdown {
            var warned = Warned()
            while !Task.isCancelled {
                await watch.look(&warned)
                try? await Task.sleep(for: watch.interval)
            }
        }
    }

    /// The subjects already logged today; a new day starts empty, so the set holds at most one day's budgets.
    struct Warned: Sendable {
        var dayStart: Int64 = .min
        var subjects: Set<CaptureSelector> = []

        /// Whether `subject` is new today (and notes it).
        mutating func first(_ subject: CaptureSelector, dayStart: Int64) -> Bool {
            if dayStart != self.dayStart {
                self.dayStart = dayStart
                subjects.removeAll()
            }
            return subjects.insert(subject).inserted
        }
    }

    private func look(_ warned: inout Warned) async {
        guard let scan = scanReader.run(on: eventLoop, { (reader) throws(StoreError) in
            try reader.budgets(now: WallClock.unixMillis())
        }) else { return }  // the pool is busy with queries: next minute
        let listing: BudgetListing
        do {
            listing = try await scan.get()
        } catch {
            logger.warning("cannot check the budgets", metadata: ["error": "\(error)"])
            return
        }
        status.note(BudgetStatus.Snapshot(count: listing.budgets.count, exceeded: listing.exceeded, checkedAt: WallClock.unixMillis()))
        for standing in listing.budgets where standing.exceeded {
            guard warned.first(standing.budget.subject, dayStart: listing.dayStart) else { continue }
            logger.warning(
                "budget exceeded (calls are not blocked)",
                metadata: [
                    "scope": "\(standing.budget.subject.subjectKind)", "subject": "\(standing.budget.subject.value)",
                    "usdPerDay": "\(standing.budget.usdPerDay)", "spentTodayUsd": "\(standing.spentTodayUsd)",
                    "day": "\(UTCDate(containing: listing.dayStart).text)",
                ])
        }
    }
}
