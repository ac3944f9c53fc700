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
/// migrate it; serve; and on graceful shutdown (SIGTERM/SIGINT through `ServiceGroup`) stop
/// accepting, answer every request already read, commit, checkpoint, close, and remove the socket.
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
        let logger = config.logger
        try Startup.checkSocketPathLength(config.socketPath)
        try Startup.createParentDirectory(of: config.socketPath)
        try Startup.createParentDirectory(of: config.dbPath)
        let lockFD = try Startup.lockDatabase(config.dbPath)
        defer { Startup.unlock(lockFD) }
        try Startup.removeStaleSocket(config.socketPath)

        let queue = WriteQueue(capacity: config.writeQueueCapacity)
        let writerStats = WriterStats()
        let metrics = config.metricsListen == nil ? nil : ServiceMetrics()
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, config.eventLoopThreads))
        let routes = config.routeCacheSessions > 0 ? RouteCache(capacity: config.routeCacheSessions) : nil
        let writerThread: WriterThread
        do {
            writerThread = try await WriterThread.start(
                path: config.dbPath, durability: config.durability, routes: routes,
                loop: WriterLoop(
                    queue: queue, retention: config.retention, pruneInterval: config.pruneInterval,
                    maxGroup: config.maxGroupSize, stats: writerStats, metrics: metrics, logger: logger
                ),
                eventLoop: group.any()
            )
        } catch let error as StoreError {
            try? await group.shutdownGracefully()
            throw StartupError(code: .storage, message: "cannot open the database: \(error.message)")
        }
        let scanReader = ScanReader(path: config.dbPath, threads: 1, capacity: config.maxWaitingScans)
        var socketBound = false
        // Before any prune: retention must know at once whether it waits for the fleet.
        _ = queue.submit(.forwarding(config.forward.map { .start(hostId: $0.hostId) } ?? .stop))
        let forwarder = config.forward.map {
            Forwarder(configuration: $0, dbPath: config.dbPath, queue: queue, eventLoop: group.any(), logger: logger)
        }
        let forwarding = forwarder.map { forwarder in Task { await forwarder.run() } }
        defer { forwarding?.cancel() }
        var context = ServiceContext(
            writeQueue: queue, writerStats: writerStats, scanReader: scanReader, durability: config.durability, retention: config.retention,
            version: config.version, startedAt: .now, logger: logger, metrics: metrics
        )
        context.forwarder = forwarder
        do {
            let dispatchers = try await LoopDispatchers.make(
                group: group, dbPath: config.dbPath, routes: routes, context: context
            )
            let quiescing = ServerQuiescingHelper(group: group)
            let server = SocketServer(
                configuration: config, dispatchers: dispatchers,
                limiter: ConnectionLimiter(limit: config.maxConnections), quiescing: quiescing, ownUID: getuid()
            )
            var metricsChannel: (any Channel)?
            defer { metricsChannel?.close(promise: nil) }
            do {
                if let metrics, let address = config.metricsListen {
                    let dbPath = config.dbPath
                    metricsChannel = try await MetricsServer(
                        host: address.host, port: address.port,
                        render: { metrics.render(queueDepth: queue.depth, dbPath: dbPath, forward: forwarder?.status) }, logger: logger
                    ).start(group: group)
                    let bound = metricsChannel?.localAddress?.port ?? address.port
                    logger.info("metrics at /metrics", metadata: ["host": "\(address.host)", "port": "\(bound)"])
                }
                let serverChannel = try await server.bind(group: group)
                socketBound = true
                logger.info("taas-capture serving", metadata: ["durability": "\(config.durability.rawValue)"])
                onReady?()
                try await Self.serve(serverChannel, quiescing: quiescing, group: group)
            } catch {
                await dispatchers.close()
                throw error
            }
            await dispatchers.close()
        } catch {
            forwarding?.cancel()
            await forwarding?.value
            await Self.finish(queue: queue, writerThread: writerThread, scanReader: scanReader, group: group)
            // Only a socket this process bound: after a failed bind the path may be another process's.
            if socketBound { unlink(config.socketPath) }
            throw error
        }
        forwarding?.cancel()
        await forwarding?.value
        await Self.finish(queue: queue, writerThread: writerThread, scanReader: scanReader, group: group)
        unlink(config.socketPath)
        logger.info("taas-capture stopped")
    }

    /// Accepts until graceful shutdown, Hummingbird-style: one task per connection in a discarding
    /// group, so leaving the group means every connection has been drained and closed.
    private static func serve(
        _ serverChannel: NIOAsyncChannel<any Channel, Never>, quiescing: ServerQuiescingHelper,
        group: any EventLoopGroup
    ) async throws {
        try await withGracefulShutdownHandler {
            try await withThrowingDiscardingTaskGroup { tasks in
                try await serverChannel.executeThenClose { inbound in
                    for try await child in inbound {
                        tasks.addTask { try? await child.closeFuture.get() }
                    }
                }
            }
        } onGracefulShutdown: {
            // Closes the listening socket and asks every connection to finish what it has read.
            quiescing.initiateShutdown(promise: nil)
        }
    }

    private static func finish(
        queue: WriteQueue, writerThread: WriterThread, scanReader: ScanReader, group: MultiThreadedEventLoopGroup
    ) async {
        queue.stop()
        await writerThread.join()
        await scanReader.shutdown()
        try? await group.shutdownGracefully()
    }
}
