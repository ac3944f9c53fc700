import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

/// The socket server as a service of the group: binds the socket, accepts until graceful shutdown, then
/// stops accepting, lets every connection answer what it has read and closes the loops' readers. Last in
/// the group, so it stops first; the socket file is removed after the whole group has stopped (`claim`).
struct SocketService: Service {
    let server: SocketServer
    let dispatchers: LoopDispatchers
    let quiescing: ServerQuiescingHelper
    let group: any EventLoopGroup
    let onReady: (@Sendable () -> Void)?
    /// Noted once the socket is bound, so the service removes the file when everything has stopped.
    let claim: SocketClaim
    /// Told when graceful shutdown begins, before the connections drain.
    let shutdownBegins: @Sendable () -> Void

    func run() async throws {
        let logger = server.configuration.logger
        let channel: NIOAsyncChannel<any Channel, Never>
        do {
            channel = try await server.bind(group: group)
        } catch {
            // Not unlinked: after a failed bind the path may be another process's.
            await dispatchers.close()
            throw error
        }
        claim.claim()
        logger.info("taas-capture serving", metadata: ["durability": "\(server.configuration.durability.rawValue)"])
        onReady?()
        do {
            try await serve(channel)
        } catch {
            await dispatchers.close()
            throw error
        }
        await dispatchers.close()
    }

    /// Accepts until graceful shutdown, Hummingbird-style: one task per connection in a discarding
    /// group, so leaving the group means every connection has been drained and closed.
    private func serve(_ serverChannel: NIOAsyncChannel<any Channel, Never>) async throws {
        let quiescing = self.quiescing
        let shutdownBegins = self.shutdownBegins
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
            shutdownBegins()
            quiescing.initiateShutdown(promise: nil)
        }
    }
}
