import AffinityCore
import CaptureStore
import NIOCore

/// The methods of budgets (SPEC v3 "Budgets (warn only)"): set one, list them with today's spend.
extension MethodDispatcher {
    func setBudget(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let subject = try params.subject()
        let usdPerDay = try params.budgetAmount()
        let done = deliver("setBudget", completion) { (buffer, change: BudgetChange) in buffer.writeBudgetChange(change) }
        try submit(done.change { (writer) throws(StoreError) in
            try writer.setBudget(usdPerDay, for: subject, now: WallClock.unixMillis())
        })
    }

    /// On the scan pool: each budget's spend is a read of the rollups (an agent) or of the day's captures (a session).
    func budgets(_ completion: @escaping Completion) throws(RPCError) {
        try scan("budgets", completion) { (reader) throws(StoreError) in
            try reader.budgets(now: WallClock.unixMillis())
        } encode: { (buffer, listing: BudgetListing) in
            buffer.writeBudgetListing(listing)
        }
    }
}

extension Params {
    /// `usdPerDay`: a number > 0 (at most `BudgetLimits.maxUsdPerDay`), or null to clear. It must be present, so a
    /// forgotten value never clears a budget by accident.
    func budgetAmount() throws(RPCError) -> Double? {
        guard let value = object["usdPerDay"] else {
            throw .invalidParams("usdPerDay", "is required: a number of USD per UTC day, or null to clear")
        }
        if value.isNull { return nil }
        guard let usd = try number("usdPerDay", in: 0...BudgetLimits.maxUsdPerDay), usd > 0 else {
            throw .invalidParams("usdPerDay", "must be more than 0 and at most \(Int(BudgetLimits.maxUsdPerDay)), or null to clear")
        }
        return usd
    }
}
