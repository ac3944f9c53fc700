#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers

/// Whether this process bound the socket file: only then does it remove the file when it stops (after a
/// failed bind the path may be another process's).
final class SocketClaim: Sendable {
    private let bound = NIOLockedValueBox(false)

    func claim() { bound.withLockedValue { $0 = true } }

    /// Removes the socket file if this process bound it.
    func release(_ path: String) {
        if bound.withLockedValue({ $0 }) { unlink(path) }
    }
}

/// The socket file's permissions: it never exists with looser ones than 0600.
enum SocketFile {
    /// Runs `body` (the bind) under umask 0177 so the socket never exists with looser permissions.
    static func withRestrictiveUmask<T>(_ body: () async throws -> T) async rethrows -> T {
        let previous = umask(0o177)
        defer { umask(previous) }
        return try await body()
    }

    /// Makes the socket 0600 (the umask already did; this is explicit).
    static func restrictSocket(_ path: String) {
        chmod(path, 0o600)
    }
}
