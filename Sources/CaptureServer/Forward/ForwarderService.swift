import ServiceLifecycle

/// The forwarder as a service of the group: it forwards until graceful shutdown, which cancels it.
struct ForwarderService: Service {
    let forwarder: Forwarder

    func run() async throws {
        let forwarder = self.forwarder
        await cancelWhenGracefulShutdown { await forwarder.run() }
    }
}
