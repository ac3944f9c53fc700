import NIOConcurrencyHelpers

/// How many budgets were exceeded when `BudgetWatch` last looked, for the metrics.
final class BudgetStatus: Sendable {
    private let exceededNow = NIOLockedValueBox(0)

    func note(exceeded: Int) { exceededNow.withLockedValue { $0 = exceeded } }

    var exceeded: Int { exceededNow.withLockedValue { $0 } }
}
