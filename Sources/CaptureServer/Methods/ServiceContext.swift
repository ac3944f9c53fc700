import CaptureStore
import Logging
import NIOCore

/// What every dispatcher shares: the writer's queue, the scan reader, configuration and start time.
struct ServiceContext: Sendable {
    let writeQueue: WriteQueue
    let writerStats: WriterStats
    let scanReader: ScanReader
    let durability: Durability
    let retention: RetentionPolicy
    let version: String
    let startedAt: ContinuousClock.Instant
    let logger: Logger
    /// nil unless `serve --metrics-listen`: then every counter costs nothing.
    let metrics: ServiceMetrics?
    /// The budgets as last checked: `health.budgets`.
    let budgets: BudgetStatus
    /// nil unless `serve --forward`: `health.forward` reads its status.
    var forwarder: Forwarder? = nil
}
