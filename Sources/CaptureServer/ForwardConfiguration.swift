import FleetStore

/// Where and how to forward (`serve --forward URL --host-id ID`).
public struct ForwardConfiguration: Sendable {
    public var target: PostgresTarget
    public var hostId: String
    /// Captures per PostgreSQL transaction.
    public var batchSize = 1000
    /// How often the forwarder looks for new captures once it has caught up.
    public var pollInterval: Duration = .milliseconds(100)
    /// The longest a connect or a batch may take before the connection is dropped (a stopped server).
    public var timeout: Duration = .seconds(10)
    /// The longest wait between attempts while PostgreSQL is away (doubling from `firstBackoff`).
    public var firstBackoff: Duration = .milliseconds(250)
    public var maxBackoff: Duration = .seconds(30)

    public init(target: PostgresTarget, hostId: String) {
        self.target = target
        self.hostId = hostId
    }
}
