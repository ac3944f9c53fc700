import NIOCore
import ServiceLifecycle

/// The metrics listener as a service of the group: bound before the group starts (a port in use stops the
/// start), open until graceful shutdown, then closed.
struct MetricsService: Service {
    let channel: any Channel

    func run() async throws {
        try? await gracefulShutdown()
        try? await channel.close()
    }
}
