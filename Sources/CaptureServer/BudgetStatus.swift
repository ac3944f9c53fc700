import NIOConcurrencyHelpers

/// The budgets as `BudgetWatch` last found them (how many, how many exceeded, when), for `health` and the
/// metrics: neither reads the budgets' spend itself, so both stay cheap with a thousand budgets.
final class BudgetStatus: Sendable {
    struct Snapshot: Sendable, Equatable {
        var count = 0
        var exceeded = 0
        /// When they were checked (ms since the epoch); nil before the first check.
        var checkedAt: Int64?
    }

    private let last = NIOLockedValueBox(Snapshot())

    func note(_ snapshot: Snapshot) { last.withLockedValue { $0 = snapshot } }

    var snapshot: Snapshot { last.withLockedValue { $0 } }
}
