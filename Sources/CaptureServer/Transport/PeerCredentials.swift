#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// The uid of a Unix-socket peer, read with `SO_PEERCRED` through NIO's socket option provider.
enum PeerCredentials {
    /// The peer's uid; fails when the channel is not a socket or the kernel refuses.
    static func uid(of channel: any Channel) -> EventLoopFuture<uid_t> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(ChannelError.operationUnsupported)
        }
        let credentials: EventLoopFuture<PeerCred> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED)
        )
        return credentials.map { $0.uid }
    }
}

/// The layout of Linux `struct ucred` ({pid_t, uid_t, gid_t}), which Glibc's module map hides
/// behind `_GNU_SOURCE`; `SO_PEERCRED` fills it for a connected AF_UNIX socket.
struct PeerCred: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
