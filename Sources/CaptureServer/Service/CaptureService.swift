#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CaptureStore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// The taas-capture service: serves the socket until graceful shutdown, then drains and exits.
///
/// `run()` promises, in order: refuse to start when another instance serves the database; open and
/// migrate it; serve; and on graceful shutdown (SIGTERM/SIGINT through the parent `ServiceGroup`) stop
/// accepting, answer every request already read, commit, checkpoint, close, and remove the socket.
///
/// Its subsystems run as services of a `ServiceGroup` of their own, started in this order and shut down
/// in reverse, each after the one above it has finished: the writer (with the scan pool), the forwarder,
/// the budget watch, the metrics listener and the socket server. What can fail at start (the database, the metrics port)
/// is opened before the group runs, so a failure leaves nothing half-started.
public struct CaptureService: Service {
    public let configuration: ServerConfiguration
    private let onReady: (@Sendable () -> Void)?

    /// - Parameter onReady: called once the socket accepts connections (tests, readiness notices).
    public init(configuration: ServerConfiguration, onReady: (@Sendable () -> Void)? = nil) {
        self.configuration = configuration
        self.onReady = onReady
    }

    public func run() async throws {
        let config = configuration
        try Startup.checkSocketPathLength(config.socketPath)
        try Startup.createParentDirectory(of: config.socketPath)
        try Startup.createParentDirectory(of: config.dbPath)
        let lockFD = try Startup.lockDatabase(config.dbPath)
        defer { Startup.unlock(lockFD) }
        try Startup.removeStaleSocket(config.socketPath)

        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, config.eventLoopThreads))
        let socket = SocketClaim()
        do {
            try await ServiceGroup(configuration: try await services(on: group, socket: socket)).run()
        } catch {
            socket.release(config.socketPath)
            try? await group.shutdownGracefully()
            throw error
        }
        // Last, once everything read is answered and committed: a socket file means a service to talk to.
        socket.release(config.socketPath)
        try? await group.shutdownGracefully()
        config.logger.info("taas-capture stopped")
    }

    /// Opens what the services need, in order, and the group that runs them. A failure closes what was
    /// opened before it.
    private func services(on group: MultiThreadedEventLoopGroup, socket: SocketClaim) async throws -> ServiceGroupConfiguration {
        let config = configuration
        let queue = WriteQueue(capacity: config.writeQueueCapacity)
        let writerStats = WriterStats(storage: StorageCondition(logger: config.logger))
        let metrics = config.metricsListen == nil ? nil : ServiceMetrics()
        let routes = config.routeCacheSessions > 0 ? RouteCache(capacity: config.routeCacheSessions) : nil
        let budgets = BudgetStatus()
        let writer = try await startWriter(queue: queue, stats: writerStats, metrics: metrics, routes: routes, group: group)
        // Before any prune: retention must know at once whether it waits for the fleet.
        _ = queue.submit(.forwarding(config.forward.map { .start(hostId: $0.hostId) } ?? .stop))
        let forwarder = config.forward.map {
            Forwarder(configuration: $0, dbPath: config.dbPath, queue: queue, eventLoop: group.any(), logger: config.logger)
        }
        var context = ServiceContext(
            writeQueue: queue, writerStats: writerStats, scanReader: writer.scanReader, durability: config.durability,
            retention: config.retention, version: config.version, startedAt: .now, logger: config.logger, metrics: metrics,
            budgets: budgets
        )
        context.forwarder = forwarder
        let dispatchers: LoopDispatchers
        let metricsChannel: (any Channel)?
        do {
            dispatchers = try await LoopDispatchers.make(group: group, dbPath: config.dbPath, routes: routes, context: context)
            do {
                metricsChannel = try await bindMetrics(
                    metrics, queue: queue, forwarder: forwarder, writerStats: writerStats, budgets: budgets, group: group)
            } catch {
                await dispatchers.close()
                throw error
            }
        } catch {
            await writer.stop()
            throw error
        }
        let watch = BudgetWatch(
            scanReader: writer.scanReader, status: budgets, eventLoop: group.any(), logger: config.logger,
            interval: config.budgetCheckInterval)
        let damage = DamageCheck(
            dbPath: config.dbPath, storage: writerStats.storage, eventLoop: group.any(), logger: config.logger,
            firstCheck: config.damageRecheck)
        let services: [(any Service)?] = [
            writer, forwarder.map { ForwarderService(forwarder: $0) }, watch, damage, metricsChannel.map { MetricsService(channel: $0) },
            socketService(dispatchers, group: group, claim: socket, queue: queue),
        ]
        return ServiceGroupConfiguration(
            services: services.compactMap { $0 }.map {
                .init(service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                      failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            logger: config.logger
        )
    }

    /// Opens (creating and migrating) the database on the writer thread, and the scan pool beside it.
    private func startWriter(
        queue: WriteQueue, stats: WriterStats, metrics: ServiceMetrics?, routes: RouteCache?,
        group: MultiThreadedEventLoopGroup
    ) async throws -> WriterService {
        let config = configuration
        let thread: WriterThread
        do {
            // Each migration is one transaction, bounded by the captures' count (a scan at most).
            let stored = try CaptureWriter.schemaVersion(of: config.dbPath)
            let migrates = stored.map { $0 < CaptureWriter.latestSchemaVersion } ?? false
            let started = ContinuousClock.now
            if let stored, migrates {
                config.logger.info(
                    "migrating the database", metadata: ["from": "\(stored)", "to": "\(CaptureWriter.latestSchemaVersion)"])
            }
            thread = try await WriterThread.start(
                path: config.dbPath, durability: config.durability, routes: routes,
                loop: WriterLoop(
                    queue: queue, retention: config.retention, pruneInterval: config.pruneInterval,
                    maxGroup: config.maxGroupSize, stats: stats, metrics: metrics, logger: config.logger
                ),
                eventLoop: group.any()
            )
            if migrates {
                config.logger.info(
                    "database migrated", metadata: ["ms": "\((ContinuousClock.now - started).wholeMilliseconds)"])
            }
        } catch let error as StoreError {
            throw StartupError(code: .storage, message: "cannot open the database: \(error.message)")
        }
        let scanReader = ScanReader(path: config.dbPath, threads: 1, capacity: config.maxWaitingScans)
        return WriterService(queue: queue, thread: thread, scanReader: scanReader)
    }

    private func socketService(
        _ dispatchers: LoopDispatchers, group: MultiThreadedEventLoopGroup, claim: SocketClaim, queue: WriteQueue
    ) -> SocketService {
        let quiescing = ServerQuiescingHelper(group: group)
        let server = SocketServer(
            configuration: configuration, dispatchers: dispatchers,
            limiter: ConnectionLimiter(limit: configuration.maxConnections), quiescing: quiescing, ownUID: getuid()
        )
        return SocketService(
            server: server, dispatchers: dispatchers, quiescing: quiescing, group: group, onReady: onReady, claim: claim,
            shutdownBegins: { queue.windDown() })
    }

    /// Binds `serve --metrics-listen`'s listener (nil without it).
    private func bindMetrics(
        _ metrics: ServiceMetrics?, queue: WriteQueue, forwarder: Forwarder?, writerStats: WriterStats, budgets: BudgetStatus,
        group: any EventLoopGroup
    ) async throws -> (any Channel)? {
        guard let metrics, let address = configuration.metricsListen else { return nil }
        let dbPath = configuration.dbPath
        let channel = try await MetricsServer(
            host: address.host, port: address.port,
            render: {
                metrics.render(
                    queueDepth: queue.depth, dbPath: dbPath, forward: forwarder?.status,
                    storageHealthy: writerStats.storage.healthy, budgetsExceeded: budgets.snapshot.exceeded)
            },
            logger: configuration.logger
        ).start(group: group)
        let bound = channel.localAddress?.port ?? address.port
        configuration.logger.info("metrics at /metrics", metadata: ["host": "\(address.host)", "port": "\(bound)"])
        return channel
    }
}
