import CaptureStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PostgresNIO

/// One connection to the fleet's PostgreSQL, every use of it bounded by a deadline.
///
/// A stopped server (SIGSTOP) accepts the TCP or socket connection into its backlog and then answers
/// nothing, so neither connecting nor a query ever fails by itself: past the deadline the connection is
/// closed, which fails the statement that waits on it, and the caller sees `.timeout`.
public final class FleetConnection: Sendable {
    public let target: PostgresTarget
    let connection: PostgresConnection
    let logger: Logger

    private init(target: PostgresTarget, connection: PostgresConnection, logger: Logger) {
        self.target = target
        self.connection = connection
        self.logger = logger
    }

    /// Connects and authenticates within `timeout`.
    public static func open(
        _ target: PostgresTarget, timeout: Duration, logger: Logger,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()
    ) async throws(FleetError) -> FleetConnection {
        let config = try target.configuration(connectTimeout: .milliseconds(timeout.wholeMilliseconds))
        let quiet = Self.quiet(logger)
        let attempt = Task { try await PostgresConnection.connect(on: eventLoop, configuration: config, id: 1, logger: quiet) }
        do {
            // The attempt is a task of its own (so a stopped server cannot hold the caller past the deadline);
            // cancelling the caller, as a shutdown does, cancels it too.
            let connection = try await withTaskCancellationHandler {
                try await Deadline.race(timeout) { try await attempt.value } onTimeout: {
                    attempt.cancel()
                    // A connect that completes after the deadline is closed, not leaked.
                    Task { try? await attempt.value.close() }
                }
            } onCancel: {
                attempt.cancel()
            }
            return FleetConnection(target: target, connection: connection, logger: quiet)
        } catch {
            throw FleetError.classify(error, target: target)
        }
    }

    /// Runs `body` on the connection within `timeout`; on timeout the connection is closed (and useless).
    public func run<T: Sendable>(
        timeout: Duration, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws(FleetError) -> T {
        do {
            return try await runRaw(timeout: timeout, body)
        } catch {
            throw FleetError.classify(error, target: target)
        }
    }

    /// As `run`, but hands back what postgres-nio threw (for a caller that looks at the SQLSTATE); a timeout
    /// is `Deadline.Expired`.
    func runRaw<T: Sendable>(
        timeout: Duration, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        let connection = self.connection
        let logger = self.logger
        return try await Deadline.race(timeout) { try await body(connection, logger) } onTimeout: {
            connection.close().whenComplete { _ in }
        }
    }

    public func close() async {
        try? await connection.close()
    }

    public var isClosed: Bool { connection.isClosed }

    /// postgres-nio logs failed statements itself at debug and above; ours say what happened once.
    static func quiet(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .critical)
        return quiet
    }
}

/// Runs an operation against a deadline: whichever finishes first decides. On timeout the caller gets
/// `Deadline.Expired` at once, and `onTimeout` must make the operation end (e.g. by closing its connection);
/// the operation's own result is then dropped.
enum Deadline {
    struct Expired: Error {}

    static func race<T: Sendable>(
        _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T,
        onTimeout: @escaping @Sendable () -> Void
    ) async throws -> T {
        let outcome = OneShot<T>()
        return try await withCheckedThrowingContinuation { continuation in
            outcome.arm(continuation)
            let work = Task {
                do { outcome.resume(.success(try await operation())) } catch { outcome.resume(.failure(error)) }
            }
            let timer = Task {
                try await Task.sleep(for: timeout)
                if outcome.resume(.failure(Expired())) {
                    onTimeout()
                    work.cancel()
                }
            }
            outcome.onResume { timer.cancel() }
        }
    }
}

/// A continuation resumed exactly once, by whichever side comes first.
private final class OneShot<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var done = false
        var afterResume: (@Sendable () -> Void)?
    }
    private let state = NIOLockedValueBox(State())

    func arm(_ continuation: CheckedContinuation<T, any Error>) {
        state.withLockedValue { $0.continuation = continuation }
    }

    /// Registers what to run once resumed (at once when already resumed).
    func onResume(_ body: @escaping @Sendable () -> Void) {
        let runNow = state.withLockedValue { s -> Bool in
            if s.done { return true }
            s.afterResume = body
            return false
        }
        if runNow { body() }
    }

    /// True when this call resumed the continuation, false when another side already had.
    @discardableResult
    func resume(_ result: Result<T, any Error>) -> Bool {
        let taken = state.withLockedValue { s -> (CheckedContinuation<T, any Error>, (@Sendable () -> Void)?)? in
            guard !s.done, let c = s.continuation else { return nil }
            s.done = true
            s.continuation = nil
            defer { s.afterResume = nil }
            return (c, s.afterResume)
        }
        guard let (continuation, after) = taken else { return false }
        continuation.resume(with: result)
        after?()
        return true
    }
}
