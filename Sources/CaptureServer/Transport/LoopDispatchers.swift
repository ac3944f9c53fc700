import CaptureStore
import NIOCore

/// One `MethodDispatcher` (with its own read connection) per event loop, each used only on its loop.
struct LoopDispatchers: Sendable {
    private let byLoop: [ObjectIdentifier: NIOLoopBound<MethodDispatcher>]

    /// Opens a reader on every loop of `group`.
    static func make(
        group: any EventLoopGroup, dbPath: String, routes: RouteCache?, context: ServiceContext
    ) async throws -> LoopDispatchers {
        var byLoop: [ObjectIdentifier: NIOLoopBound<MethodDispatcher>] = [:]
        for loop in group.makeIterator() {
            let bound = try await loop.submit { () throws -> NIOLoopBound<MethodDispatcher> in
                let reader = try CaptureReader(path: dbPath)
                reader.routes = routes
                return NIOLoopBound(MethodDispatcher(context: context, reader: reader, eventLoop: loop), eventLoop: loop)
            }.get()
            byLoop[ObjectIdentifier(loop)] = bound
        }
        return LoopDispatchers(byLoop: byLoop)
    }

    /// The dispatcher of `loop`; call on that loop.
    func dispatcher(for loop: any EventLoop) -> MethodDispatcher {
        byLoop[ObjectIdentifier(loop)]!.value
    }

    /// Closes every loop's reader.
    func close() async {
        for bound in byLoop.values {
            try? await bound.eventLoop.submit { bound.value.close() }.get()
        }
    }
}
