import AffinityCore
import ArgumentParser
import CaptureServer
import FleetStore
import Foundation
import CaptureStore
import Logging
import ServiceLifecycle

/// `taas-capture serve`: the service (SPEC "Transport", "Methods", "Retention").
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve captures on the Unix socket until SIGTERM or SIGINT.")

    @Option(help: "The socket to listen on (default: $TAAS_CAPTURE_SOCKET or STATE/taas-capture/capture.sock).")
    var socket: String?
    @OptionGroup var database: DatabaseOptions
    @Option(help: "normal (WAL, synchronous=NORMAL: survives a killed process) or full (also survives power loss).")
    var durability: Durability = .normal
    @Option(help: "Remove captures older than this (0 = off).") var maxAge = CLIDuration(milliseconds: 30 * 86_400_000)
    @Option(help: "Keep the newest N captures of each session (0 = off).") var maxPerSession = 1000
    @Option(help: "Keep at most N captures in all, oldest removed first (0 = off).") var maxRows = 5_000_000
    @Option(help: "How often retention runs (0 = never; 'prune' from cron still works).")
    var pruneInterval = CLIDuration(milliseconds: 600_000)
    @Option(help: "How often budgets are checked against today's spend, to log and count the ones exceeded (100ms to 1d).")
    var budgetCheckInterval = CLIDuration(milliseconds: 60_000)
    @Option(help: "After the database is reported damaged, when PRAGMA quick_check first confirms it (then doubling to 1h; 100ms to 1h).")
    var damageRecheck = CLIDuration(milliseconds: 10_000)
    @Option(help: "Connections beyond this are refused with -32002.") var maxConnections = 256
    @Option(help: "Event-loop threads serving connections (default: one per core).") var eventLoops: Int?
    @Option(help: "Sessions whose newest route lastRoute answers from memory, kept exact (0 = off; about 1 KB each).")
    var routeCache = RouteCache.defaultCapacity
    @Option(help: "Close a connection idle for this long (0 = never).") var idleTimeout = CLIDuration(milliseconds: 300_000)
    @Option(help: "A longer request line is refused with -32001 and its connection closed.")
    var maxLineBytes = 1 << 20
    @Option(help: "Also accept peers of this uid (repeatable).") var allowUid: [UInt32] = []
    @Option(help: "trace, debug, info, notice, warning, error or critical.") var logLevel: Logger.Level = .info
    @Option(help: "Serve Prometheus metrics at http://HOST:PORT/metrics (off by default; loopback only unless --metrics-allow-remote).")
    var metricsListen: String?
    @Flag(help: "Let --metrics-listen bind an address other than loopback.") var metricsAllowRemote = false
    @Option(help: ArgumentHelp(
        "Forward every stored capture to the fleet's PostgreSQL (default: $TAAS_CAPTURE_FORWARD; off when neither).",
        discussion: "postgresql://user@host:5432/db or postgresql://user@/db?host=/socket/dir; password from the URL or ~/.pgpass.",
        valueName: "url"))
    var forward: String?
    @Option(help: "This host's id in the fleet (default: host: + sha16(hostname)).") var hostId: String?
    @Option(help: "Captures per PostgreSQL transaction (1-5000).") var forwardBatch = 1000
    @Option(help: "Once caught up, look for new captures to forward this often (larger: fewer, fuller transactions).")
    var forwardInterval = CLIDuration(milliseconds: 100)
    @Option(help: "Drop a PostgreSQL connection that takes longer than this for a connect or a batch.")
    var forwardTimeout = CLIDuration(milliseconds: 10_000)

    /// `--metrics-listen` as host and port: `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`.
    func metricsAddress() throws -> (host: String, port: Int)? {
        guard let metricsListen else { return nil }
        guard let colon = metricsListen.lastIndex(of: ":"), let port = Int(metricsListen[metricsListen.index(after: colon)...]),
            (1...65_535).contains(port)
        else { throw ValidationError("--metrics-listen takes HOST:PORT, e.g. 127.0.0.1:9464") }
        var host = String(metricsListen[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        guard loopback || metricsAllowRemote else {
            throw ValidationError("--metrics-listen \(host) is not loopback; add --metrics-allow-remote to serve it there")
        }
        return (host, port)
    }

    func validate() throws {
        guard maxPerSession >= 0, maxRows >= 0 else { throw ValidationError("--max-per-session and --max-rows take 0 or more") }
        guard (1...65_536).contains(maxConnections) else { throw ValidationError("--max-connections takes 1 to 65536") }
        guard (1024...(64 << 20)).contains(maxLineBytes) else { throw ValidationError("--max-line-bytes takes 1024 to 67108864") }
        let year: Int64 = 365 * 86_400_000
        guard idleTimeout.milliseconds <= year, pruneInterval.milliseconds <= year else {
            throw ValidationError("--idle-timeout and --prune-interval take at most 365d")
        }
        guard (100...86_400_000).contains(budgetCheckInterval.milliseconds) else {
            throw ValidationError("--budget-check-interval takes 100ms to 1d")
        }
        guard (100...3_600_000).contains(damageRecheck.milliseconds) else {
            throw ValidationError("--damage-recheck takes 100ms to 1h")
        }
        _ = try metricsAddress()
        _ = try forwardConfiguration()
    }

    /// `--forward` (or `TAAS_CAPTURE_FORWARD`) and `--host-id` as the forwarder's configuration; nil when off.
    func forwardConfiguration() throws -> ForwardConfiguration? {
        let url = forward ?? ProcessInfo.processInfo.environment["TAAS_CAPTURE_FORWARD"].flatMap { $0.isEmpty ? nil : $0 }
        guard let url else {
            if hostId != nil { throw ValidationError("--host-id needs --forward (or TAAS_CAPTURE_FORWARD)") }
            return nil
        }
        let target: PostgresTarget
        do {
            target = try PostgresTarget(url: url)
        } catch {
            throw ValidationError("--forward: \(error.message)")
        }
        guard let id = BoundedIdentity(hostId ?? requesterHostId(hostname: ProcessInfo.processInfo.hostName))?.value else {
            throw ValidationError("--host-id takes 1 to \(BoundedIdentity.maxLength) characters without control characters")
        }
        guard (1...5000).contains(forwardBatch) else { throw ValidationError("--forward-batch takes 1 to 5000") }
        guard (100...600_000).contains(forwardTimeout.milliseconds) else {
            throw ValidationError("--forward-timeout takes 100ms to 10m")
        }
        guard (10...60_000).contains(forwardInterval.milliseconds) else {
            throw ValidationError("--forward-interval takes 10ms to 1m")
        }
        var config = ForwardConfiguration(target: target, hostId: id)
        config.pollInterval = .milliseconds(forwardInterval.milliseconds)
        config.batchSize = forwardBatch
        config.timeout = .milliseconds(forwardTimeout.milliseconds)
        return config
    }

    func run() async throws {
        let paths = StatePaths()
        var logger = Logger(label: "taas-capture")
        logger.logLevel = logLevel
        var config = ServerConfiguration(
            socketPath: paths.socketPath(flag: socket), dbPath: database.databasePath, logger: logger)
        config.durability = durability
        config.retention = RetentionPolicy(
            maxAgeMs: maxAge.milliseconds, maxPerSession: maxPerSession, maxRows: maxRows)
        config.pruneInterval = .milliseconds(pruneInterval.milliseconds)
        config.budgetCheckInterval = .milliseconds(budgetCheckInterval.milliseconds)
        config.damageRecheck = .milliseconds(damageRecheck.milliseconds)
        config.maxConnections = maxConnections
        if let eventLoops {
            guard (1...64).contains(eventLoops) else { throw ValidationError("--event-loops must be 1-64") }
            config.eventLoopThreads = eventLoops
        }
        guard (0...1_048_576).contains(routeCache) else { throw ValidationError("--route-cache must be 0-1048576") }
        config.routeCacheSessions = routeCache
        config.idleTimeout = .milliseconds(idleTimeout.milliseconds)
        config.maxLineBytes = maxLineBytes
        config.allowUIDs = Set(allowUid)
        config.version = TaasCaptureVersion.string
        config.metricsListen = try metricsAddress()
        config.forward = try forwardConfiguration()
        if forward != nil, config.forward?.target.passwordInURL == true {
            // Another local user can read a process's arguments (ps, /proc/PID/cmdline).
            logger.warning("""
                the --forward URL holds a password, which other local users can read in the process list; \
                give the URL in TAAS_CAPTURE_FORWARD or the password in ~/.pgpass instead
                """)
        }

        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: CaptureService(configuration: config))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch let error as StartupError {
            throw CLIFailure(error.message)
        } catch let error as ServiceGroupError {
            throw CLIFailure("the service stopped: \(error)")
        }
    }
}

extension Durability: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
