import AffinityCore

/// A spending budget of an agent or a session, in USD per UTC day (SPEC v3 "Budgets (warn only)"): crossing it
/// is reported, never enforced. Kept in `budgets` (schema 6); retention never touches the table.
public struct Budget: Sendable, Hashable {
    public var subject: CaptureSelector
    public var usdPerDay: Double
    public var updatedAt: Int64

    public init(subject: CaptureSelector, usdPerDay: Double, updatedAt: Int64) {
        self.subject = subject
        self.usdPerDay = usdPerDay
        self.updatedAt = updatedAt
    }
}

/// What `setBudget` did: the budget now (`usdPerDay` nil when cleared) and the one before.
public struct BudgetChange: Sendable, Hashable {
    public var subject: CaptureSelector
    public var usdPerDay: Double?
    public var previous: Double?
    public var updatedAt: Int64

    public init(subject: CaptureSelector, usdPerDay: Double?, previous: Double?, updatedAt: Int64) {
        self.subject = subject
        self.usdPerDay = usdPerDay
        self.previous = previous
        self.updatedAt = updatedAt
    }
}

/// A budget against its subject's reported spend since the start of the UTC day.
public struct BudgetStanding: Sendable, Hashable {
    public var budget: Budget
    /// The sum of the subject's captures' `costUsd` today (0 when none reported a cost).
    public var spentTodayUsd: Double

    public init(budget: Budget, spentTodayUsd: Double) {
        self.budget = budget
        self.spentTodayUsd = spentTodayUsd
    }

    public var exceeded: Bool { spentTodayUsd > budget.usdPerDay }
}

/// Every budget with today's spend, from one snapshot.
public struct BudgetListing: Sendable, Hashable {
    /// The start of the UTC day the spend is counted from (ms).
    public var dayStart: Int64
    public var budgets: [BudgetStanding]

    public init(dayStart: Int64, budgets: [BudgetStanding]) {
        self.dayStart = dayStart
        self.budgets = budgets
    }

    public var exceeded: Int { budgets.count { $0.exceeded } }
}

public enum BudgetLimits {
    /// Budgets that may be set at once: each costs a read when budgets are listed.
    public static let maxBudgets = 1000
    /// The largest `usdPerDay`.
    public static let maxUsdPerDay: Double = 1_000_000
}

extension CaptureWriter {
    /// Sets (`usdPerDay` > 0) or clears (nil) the budget of `subject`, in its own transaction. At most
    /// `BudgetLimits.maxBudgets` budgets (`limitReached`); clearing one that is not set changes nothing.
    public func setBudget(_ usdPerDay: Double?, for subject: CaptureSelector, now: Int64) throws(StoreError) -> BudgetChange {
        if let usdPerDay, !(usdPerDay > 0 && usdPerDay <= BudgetLimits.maxUsdPerDay) {
            throw StoreError(code: .invalidArgument, message: "a budget is more than 0 and at most \(BudgetLimits.maxUsdPerDay) USD a day")
        }
        return try connection.transaction(.immediate) { () throws(StoreError) -> BudgetChange in
            let previous = try budget(of: subject)
            guard let usdPerDay else {
                if previous != nil {
                    let delete = try connection.prepare("DELETE FROM budgets WHERE scope = ?1 AND subject = ?2")
                    defer { delete.reset() }
                    try delete.bind(subject.subjectKind, at: 1)
                    try delete.bind(subject.value, at: 2)
                    try delete.run()
                }
                return BudgetChange(subject: subject, usdPerDay: nil, previous: previous?.usdPerDay, updatedAt: now)
            }
            if previous == nil {
                let count = try connection.scalarInt("SELECT count(*) FROM budgets") ?? 0
                if count >= BudgetLimits.maxBudgets {
                    throw StoreError(
                        code: .limitReached, message: "at most \(BudgetLimits.maxBudgets) budgets may be set; clear some first")
                }
            }
            let upsert = try connection.prepare(
                "INSERT INTO budgets (scope, subject, usd_per_day, updated_at) VALUES (?1, ?2, ?3, ?4) "
                    + "ON CONFLICT (scope, subject) DO UPDATE SET usd_per_day = excluded.usd_per_day, "
                    + "updated_at = excluded.updated_at")
            defer { upsert.reset() }
            try upsert.bind(subject.subjectKind, at: 1)
            try upsert.bind(subject.value, at: 2)
            try upsert.bind(usdPerDay, at: 3)
            try upsert.bind(now, at: 4)
            try upsert.run()
            return BudgetChange(subject: subject, usdPerDay: usdPerDay, previous: previous?.usdPerDay, updatedAt: now)
        }
    }

    private func budget(of subject: CaptureSelector) throws(StoreError) -> Budget? {
        let select = try connection.prepare("SELECT usd_per_day, updated_at FROM budgets WHERE scope = ?1 AND subject = ?2")
        defer { select.reset() }
        try select.bind(subject.subjectKind, at: 1)
        try select.bind(subject.value, at: 2)
        guard try select.step() else { return nil }
        return Budget(subject: subject, usdPerDay: select.double(at: 0), updatedAt: select.int64(at: 1))
    }
}

extension CaptureReader {
    /// Every budget with its subject's reported spend in `now`'s UTC day, from one snapshot, in subject order
    /// (agents first). An agent's spend comes from the rollups like `stats`; a session's from its
    /// own captures of the day.
    public func budgets(now: Int64) throws(StoreError) -> BudgetListing {
        let dayStart = UTCDate.startOfDay(now)
        return try connection.transaction(.deferred) { () throws(StoreError) -> BudgetListing in
            var budgets: [Budget] = []
            let select = try connection.prepare(
                "SELECT scope, subject, usd_per_day, updated_at FROM budgets ORDER BY scope, subject")
            while try select.step() {
                guard let subject = CaptureSelector(subjectKind: select.string(at: 0), subject: select.string(at: 1))
                else { continue }
                budgets.append(Budget(subject: subject, usdPerDay: select.double(at: 2), updatedAt: select.int64(at: 3)))
            }
            select.reset()
            let mark = try connection.foldedThrough()
            var standings: [BudgetStanding] = []
            for budget in budgets {
                standings.append(
                    BudgetStanding(
                        budget: budget,
                        spentTodayUsd: try spent(by: budget.subject, in: dayStart..<(dayStart + UTCDate.dayMs), mark: mark)))
            }
            return BudgetListing(dayStart: dayStart, budgets: standings)
        }
    }

    private func spent(by subject: CaptureSelector, in day: Range<Int64>, mark: Int64) throws(StoreError) -> Double {
        switch subject {
        case .agent(let id):
            let fine = try fineSums(agent: id, since: day.lowerBound, until: day.upperBound, mark: mark)
            return fine.values.reduce(0) { $0 + $1.cost }
        case .session(let id):
            let statement = try connection.prepare(
                "SELECT total(cost_usd) FROM captures INDEXED BY captures_by_session WHERE session_id = ?1 "
                    + "AND captured_at >= ?2 AND captured_at < ?3")
            defer { statement.reset() }
            try statement.bind(id, at: 1)
            try statement.bind(day.lowerBound, at: 2)
            try statement.bind(day.upperBound, at: 3)
            return try statement.step() ? statement.double(at: 0) : 0
        }
    }
}
