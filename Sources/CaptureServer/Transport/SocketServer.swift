#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Logging
import NIOCore
import NIOExtras
import NIOPosix

/// Binds the Unix socket and sets up each accepted connection's pipeline.
struct SocketServer: Sendable {
    let configuration: ServerConfiguration
    let dispatchers: LoopDispatchers
    let limiter: ConnectionLimiter
    let quiescing: ServerQuiescingHelper
    let ownUID: uid_t

    /// Binds under a restrictive umask; accepted channels arrive on the returned async channel.
    func bind(group: any EventLoopGroup) async throws -> NIOAsyncChannel<any Channel, Never> {
        let quiescing = self.quiescing
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(
                ChannelOptions.writeBufferWaterMark, value: .init(low: 64 * 1024, high: 256 * 1024)
            )
        let path = configuration.socketPath
        let channel = try await SocketFile.withRestrictiveUmask {
            try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: false) { child in
                self.setUp(child)
            }
        }
        SocketFile.restrictSocket(path)
        return channel
    }

    private func setUp(_ channel: any Channel) -> EventLoopFuture<any Channel> {
        guard limiter.acquire() else {
            configuration.logger.warning("connection limit reached; refusing a connection")
            return reject(channel, .overloaded("connection limit reached"))
        }
        let limiter = self.limiter
        channel.closeFuture.whenComplete { _ in limiter.release() }
        let allowed = configuration.allowUIDs
        let ownUID = self.ownUID
        return PeerCredentials.uid(of: channel).flatMap { uid in
            guard uid == ownUID || allowed.contains(UInt32(uid)) else {
                self.configuration.logger.warning("refusing a peer", metadata: ["uid": "\(uid)"])
                return self.reject(channel, .peerNotAllowed)
            }
            return channel.eventLoop.makeCompletedFuture {
                try self.addProtocolHandlers(channel)
                return channel
            }
        }
    }

    private func reject(_ channel: any Channel, _ error: RPCError) -> EventLoopFuture<any Channel> {
        let dispatchers = self.dispatchers
        return channel.eventLoop.makeCompletedFuture {
            // Counted as answered (`errors_total`), as every error line the service writes is.
            dispatchers.dispatcher(for: channel.eventLoop).answeredError(code: error.code)
            try channel.pipeline.syncOperations.addHandler(RejectHandler(error))
            return channel
        }
    }

    private func addProtocolHandlers(_ channel: any Channel) throws {
        let dispatcher = dispatchers.dispatcher(for: channel.eventLoop)
        let idle = TimeAmount.nanoseconds(
            configuration.idleTimeout.wholeNanoseconds
        )
        let sync = channel.pipeline.syncOperations
        if idle > .zero {  // 0 = connections are never closed for idleness
            try sync.addHandler(IdleStateHandler(allTimeout: idle))
        }
        try sync.addHandler(ByteToMessageHandler(BoundedLineDecoder(maxLineBytes: configuration.maxLineBytes)))
        try sync.addHandler(
            ConnectionHandler(
                dispatcher: dispatcher,
                maxPendingLines: configuration.maxPendingPerConnection,
                maxLineBytes: configuration.maxLineBytes,
                logger: configuration.logger
            )
        )
    }
}
