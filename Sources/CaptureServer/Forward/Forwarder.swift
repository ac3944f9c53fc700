import AffinityCore
import CaptureStore
import FleetStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Ships stored captures to the fleet's PostgreSQL in id order and in batches, exactly once each.
///
/// It reads the local database through its own connection on its own thread (never the writer's), so recording
/// does not wait for it; PostgreSQL being away only makes it retry. Its progress is PostgreSQL's mark (see
/// `FleetWriter`), read back on every connect; the local copy in `forward_progress` goes through the writer
/// queue and only tells retention what it may remove.
final class Forwarder: Sendable {
    let configuration: ForwardConfiguration
    private let reader: ScanReader
    private let queue: WriteQueue
    private let logger: Logger
    private let eventLoop: any EventLoop
    private let statusBox: NIOLockedValueBox<ForwardStatus>
    private let current = NIOLockedValueBox<FleetConnection?>(nil)

    init(configuration: ForwardConfiguration, dbPath: String, queue: WriteQueue, eventLoop: any EventLoop, logger: Logger) {
        self.configuration = configuration
        self.reader = ScanReader(path: dbPath, threads: 1, capacity: 4)
        self.queue = queue
        self.eventLoop = eventLoop
        self.logger = logger
        statusBox = NIOLockedValueBox(
            ForwardStatus(target: configuration.target.description, hostId: configuration.hostId))
    }

    var status: ForwardStatus { statusBox.withLockedValue { $0 } }

    /// Runs until the task is cancelled; never throws (every failure is a state and one log line).
    func run() async {
        await withTaskCancellationHandler {
            await loop()
        } onCancel: {
            // A batch in flight ends at once instead of at its deadline.
            if let connection = current.withLockedValue({ $0 }) { Task { await connection.close() } }
        }
        await reader.shutdown()
    }

    private func loop() async {
        var backoff = configuration.firstBackoff
        var failing: (kind: String, since: ContinuousClock.Instant)?
        var announced = false
        while !Task.isCancelled {
            do {
                let connection = try await connect()
                current.withLockedValue { $0 = connection }
                defer {
                    current.withLockedValue { $0 = nil }
                    Task { await connection.close() }
                }
                let mark = try await prepare(connection)
                if let failure = failing {
                    let seconds = (ContinuousClock.now - failure.since).secondsValue
                    logger.notice(
                        "forwarding resumed", metadata: ["afterSeconds": "\(Int(seconds.rounded()))", "from": "\(mark)"])
                } else if !announced {
                    logger.info(
                        "forwarding to the fleet",
                        metadata: ["target": "\(configuration.target)", "hostId": "\(configuration.hostId)", "from": "\(mark)"])
                }
                announced = true
                failing = nil
                backoff = configuration.firstBackoff
                try await forward(from: mark, on: connection)
            } catch {
                // A shutdown closes the connection under a batch: that is no outage to report.
                if Task.isCancelled { break }
                let kind = error.kind
                update {
                    $0.state = kind == FleetError.Kind.schemaTooNew.rawValue ? .refused : .retrying
                    $0.lastError = error.message
                    $0.lastErrorKind = kind
                }
                // One line per outage, not per retry: what it changes into (refused, then "starting up") is debug.
                if failing == nil {
                    logger.error("forwarding paused; retrying", metadata: ["error": "\(error.message)", "kind": "\(kind)"])
                } else if failing?.kind != kind {
                    logger.debug("forwarding still paused", metadata: ["error": "\(error.message)", "kind": "\(kind)"])
                }
                failing = (kind, failing?.since ?? .now)
                await refreshLag()
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, configuration.maxBackoff)
            }
        }
    }

    /// While PostgreSQL is away the lag still grows: counted from the last mark the fleet confirmed (unknown
    /// until the first connect).
    private func refreshLag() async {
        guard let mark = status.lastForwardedId else { return }
        if let behind = try? await local({ (reader) throws(StoreError) in try reader.countCaptures(after: mark) }) {
            update { $0.lagCaptures = behind }
        }
    }

    private func connect() async throws(ForwardFailure) -> FleetConnection {
        do {
            return try await FleetConnection.open(
                configuration.target, timeout: configuration.timeout, logger: logger, eventLoop: eventLoop)
        } catch {
            throw ForwardFailure(error)
        }
    }

    /// Schema, partitions ahead, and the fleet's mark for this host (which the local copy then follows).
    private func prepare(_ connection: FleetConnection) async throws(ForwardFailure) -> Int64 {
        let timeout = configuration.timeout
        do throws(FleetError) {
            try await FleetSchema.migrate(connection, timeout: timeout)
            let month = MonthPartition(containing: WallClock.unixMillis())
            try await FleetSchema.ensurePartitions([month, month.next, month.next.next], on: connection, timeout: timeout)
            let mark = try await FleetWriter.highWaterMark(
                hostId: configuration.hostId, on: connection, now: WallClock.unixMillis(), timeout: timeout)
            noteLocally(mark)
            update {
                $0.state = .forwarding
                $0.lastForwardedId = mark
                $0.lastError = nil
                $0.lastErrorKind = nil
            }
            return mark
        } catch {
            throw ForwardFailure(error)
        }
    }

    /// Ships batches until an error; sleeps `pollInterval` whenever it has caught up.
    private func forward(from start: Int64, on connection: FleetConnection) async throws(ForwardFailure) {
        var mark = start
        var known = Set<MonthPartition>()
        var lagCheckedAt = ContinuousClock.now - .seconds(10)
        let config = configuration
        while !Task.isCancelled {
            let after = mark
            let batch = try await local { (reader) throws(StoreError) in
                try reader.captures(after: after, limit: config.batchSize)
            }
            if batch.count < config.batchSize || ContinuousClock.now - lagCheckedAt > .seconds(1) {
                let behind =
                    batch.count < config.batchSize
                    ? batch.count : try await local { (reader) throws(StoreError) in try reader.countCaptures(after: after) }
                update { $0.lagCaptures = behind }
                lagCheckedAt = .now
            }
            guard !batch.isEmpty else {
                try? await Task.sleep(for: config.pollInterval)
                continue
            }
            do throws(FleetError) {
                let months = Set(batch.map { MonthPartition(containing: $0.capturedAt) }).subtracting(known)
                if !months.isEmpty {
                    try await FleetSchema.ensurePartitions(months, on: connection, timeout: config.timeout)
                    known.formUnion(months)
                }
                let outcome = try await FleetWriter.forward(
                    batch, hostId: config.hostId, after: mark, on: connection, now: WallClock.unixMillis(),
                    timeout: config.timeout)
                switch outcome {
                case .stored(let through):
                    mark = through
                case .markMoved(let to):
                    logger.warning(
                        "the fleet's mark for this host moved under the forwarder (another service with the same --host-id?); continuing from it",
                        metadata: ["hostId": "\(config.hostId)", "expected": "\(mark)", "found": "\(to)"])
                    mark = to
                }
            } catch {
                throw ForwardFailure(error)
            }
            noteLocally(mark)
            let through = mark
            update {
                $0.lastForwardedId = through
                $0.state = .forwarding
                $0.lastError = nil
                $0.lastErrorKind = nil
            }
            // A partial batch means it has caught up: let the next one fill for an interval rather than send a
            // transaction per few captures (each a commit, and an fsync, on PostgreSQL's side).
            if batch.count < config.batchSize { try? await Task.sleep(for: config.pollInterval) }
        }
    }

    /// Tells the writer how far the fleet has got; a full queue drops it (the next batch says it again).
    private func noteLocally(_ mark: Int64) {
        _ = queue.submit(.forwarding(.forwarded(through: mark)))
    }

    private func local<T: Sendable>(
        _ body: @escaping @Sendable (CaptureReader) throws(StoreError) -> T
    ) async throws(ForwardFailure) -> T {
        guard let future = reader.run(on: eventLoop, body) else {
            throw ForwardFailure(kind: "local", message: "the local read queue is full")
        }
        do {
            return try await future.get()
        } catch {
            throw ForwardFailure(kind: "local", message: "cannot read the local database: \(error)")
        }
    }

    private func update(_ change: (inout ForwardStatus) -> Void) {
        statusBox.withLockedValue { change(&$0) }
    }
}

/// A failed step of the forwarder, as its kind (for logging once) and a line without credentials.
struct ForwardFailure: Error {
    let kind: String
    let message: String

    init(kind: String, message: String) {
        self.kind = kind
        self.message = message
    }

    init(_ error: FleetError) {
        self.init(kind: error.kind.rawValue, message: error.message)
    }
}
