import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A failure talking to the fleet's PostgreSQL, as one clear line without credentials.
///
/// `kind` is what the forwarder keys its log on (a kind is logged once when it starts, not per retry) and
/// what `health.forward.lastError` and `doctor` show beside the message.
public struct FleetError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// The URL or its options are malformed.
        case badTarget
        /// Nothing answers at the address (refused, no such socket, no route).
        case unreachable
        /// The server rejected the user or password.
        case authentication
        /// The database named in the URL does not exist.
        case unknownDatabase
        /// The server took longer than the deadline (e.g. a stopped server).
        case timeout
        /// The fleet schema is newer than this binary knows; it refuses to write.
        case schemaTooNew
        /// The connection broke in the middle of a statement.
        case connectionLost
        /// TLS could not be set up or the server refused it.
        case tls
        /// Any other error the server reported.
        case server
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The server's SQLSTATE in `error` (inside a transaction error too), if it carries one.
    static func sqlState(of error: any Error) -> String? {
        if let transaction = error as? PostgresTransactionError,
            let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError
        {
            return sqlState(of: inner)
        }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// What `error`, thrown by postgres-nio or NIO while talking to `target`, means for an operator.
    public static func classify(_ error: any Error, target: PostgresTarget) -> FleetError {
        if let fleet = error as? FleetError { return fleet }
        if let transaction = error as? PostgresTransactionError,
            let inner = transaction.closureError ?? transaction.beginError ?? transaction.commitError ?? transaction.rollbackError
        {
            return classify(inner, target: target)
        }
        if error is Deadline.Expired { return FleetError(.timeout, "PostgreSQL at \(target) did not answer in time") }
        if let psql = error as? PSQLError {
            if let info = psql.serverInfo {
                let state = info[.sqlState] ?? ""
                let text = info[.message] ?? "error \(state)"
                switch state {
                case "28P01", "28000":
                    return FleetError(.authentication, "PostgreSQL at \(target) refused the login: \(text)")
                case "42P01" where text.contains("taas_capture."):
                    return FleetError(
                        .server, "PostgreSQL at \(target) has no fleet schema yet; a service started with --forward creates it")
                case "3D000":
                    return FleetError(.unknownDatabase, "PostgreSQL at \(target) has no database \"\(target.database)\"")
                case "57P01", "57P02", "57P03":
                    return FleetError(.connectionLost, "PostgreSQL at \(target) is shutting down or starting: \(text)")
                default:
                    return FleetError(.server, "PostgreSQL at \(target) answered \(state): \(text)")
                }
            }
            switch psql.code {
            case .sslUnsupported:
                return FleetError(.tls, "PostgreSQL at \(target) does not offer TLS, which sslmode=\(target.sslMode.rawValue) requires")
            case .failedToAddSSLHandler:
                return FleetError(.tls, "cannot start TLS to \(target)")
            case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
                return FleetError(.connectionLost, "the connection to PostgreSQL at \(target) was lost")
            case .authMechanismRequiresPassword:
                return FleetError(.authentication, "PostgreSQL at \(target) asks for a password; none is in the URL or ~/.pgpass")
            case .connectionError:
                if let underlying = psql.underlying { return classifyTransport(underlying, target: target) }
                return FleetError(.unreachable, "cannot connect to PostgreSQL at \(target)")
            default:
                if let underlying = psql.underlying { return classifyTransport(underlying, target: target) }
                return FleetError(.server, "PostgreSQL at \(target) failed: \(psql.code)")
            }
        }
        return classifyTransport(error, target: target)
    }

    private static func classifyTransport(_ error: any Error, target: PostgresTarget) -> FleetError {
        if error is NIOSSLError || error is NIOSSLExtraError {
            return FleetError(.tls, "TLS to PostgreSQL at \(target) failed: \(error)")
        }
        if let io = error as? IOError {
            return FleetError(.unreachable, "cannot connect to PostgreSQL at \(target): \(io.description)")
        }
        if error is ChannelError || error is NIOConnectionError {
            return FleetError(.unreachable, "cannot connect to PostgreSQL at \(target)")
        }
        if error is CancellationError { return FleetError(.timeout, "PostgreSQL at \(target) did not answer in time") }
        return FleetError(.server, "PostgreSQL at \(target) failed: \(String(describing: type(of: error)))")
    }
}
