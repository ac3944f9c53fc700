import CaptureStore
import Logging
import NIOCore

/// Everything `CaptureService` needs; the CLI fills it from flags, environment and defaults.
public struct ServerConfiguration: Sendable {
    /// Where the Unix socket is created (its directory is created 0700 when missing).
    public var socketPath: String
    /// The SQLite database file.
    public var dbPath: String
    public var durability: Durability = .normal
    public var retention: RetentionPolicy = .default
    /// How often the writer applies `retention`.
    public var pruneInterval: Duration = .seconds(600)
    /// How often `BudgetWatch` checks the budgets against today's spend.
    public var budgetCheckInterval: Duration = .seconds(60)
    /// How long after the file is reported damaged `PRAGMA quick_check` first confirms it (then doubling to an hour).
    public var damageRecheck: Duration = .seconds(10)
    /// Connections beyond this get -32002 and are closed.
    public var maxConnections: Int = 256
    /// A longer line gets -32001 and its connection is closed.
    public var maxLineBytes: Int = 1 << 20
    /// A connection with no traffic for this long is closed.
    public var idleTimeout: Duration = .seconds(300)
    /// Peer uids allowed besides the service's own.
    public var allowUIDs: Set<UInt32> = []
    /// Lines read but not yet answered, per connection, before the connection stops being read.
    public var maxPendingPerConnection: Int = 1024
    /// Records (and prunes) waiting for the writer before new ones get -32002.
    public var writeQueueCapacity: Int = 65_536
    /// `stats`/`health` queries waiting for (or running on) the scan thread before new ones get -32002.
    public var maxWaitingScans: Int = 1024
    /// The most records committed in one transaction.
    public var maxGroupSize: Int = 4096
    /// Event loop threads (each with its own read connection); defaults to the core count.
    public var eventLoopThreads: Int = System.coreCount
    /// Sessions whose newest route `lastRoute` answers from memory (agents: a sixteenth of it); 0 turns the
    /// cache off. See `RouteCache`.
    public var routeCacheSessions: Int = RouteCache.defaultCapacity
    /// Reported by `taas.capture.health`.
    public var version: String = "0.1.0"
    public var logger: Logger
    /// Where `/metrics` is served (off when nil); the CLI keeps it on loopback unless told otherwise.
    public var metricsListen: (host: String, port: Int)?
    /// Forwards every stored capture to the fleet's PostgreSQL (off when nil).
    public var forward: ForwardConfiguration?

    public init(socketPath: String, dbPath: String, logger: Logger = Logger(label: "taas-capture")) {
        self.socketPath = socketPath
        self.dbPath = dbPath
        self.logger = logger
    }
}
