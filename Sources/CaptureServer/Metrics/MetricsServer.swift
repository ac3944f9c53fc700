import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// `GET /metrics` in Prometheus text format over HTTP/1.1 (`serve --metrics-listen`). A wrong path is 404,
/// any other method 405. A client gets 5 s to send its request and read the answer (an idle one is closed,
/// so a slow client cannot hold a loop), and at most 16 connections are served at once.
struct MetricsServer {
    static let maxConnections = 16
    static let idleTimeout = TimeAmount.seconds(5)

    let host: String
    let port: Int
    let render: @Sendable () -> [UInt8]
    let logger: Logger

    /// Binds and starts serving; the returned channel is closed to stop.
    func start(group: any EventLoopGroup) async throws -> any Channel {
        let limiter = ConnectionLimiter(limit: Self.maxConnections)
        let render = self.render
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard limiter.acquire() else { return channel.close() }
                channel.closeFuture.whenComplete { _ in limiter.release() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(allTimeout: Self.idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(render: render))
                }
            }
            .bind(host: host, port: port).get()
    }
}

/// Answers one request at a time on its connection: the metrics, 404 or 405.
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> [UInt8]
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> [UInt8]) { self.render = render }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break  // a GET has none; anything else is answered 405 without reading it further
        case .end:
            guard let request = head else { return }
            head = nil
            respond(to: request, context: context)
        }
    }

    private func respond(to request: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let (status, contentType, body): (HTTPResponseStatus, String, [UInt8])
        if request.method != .GET && request.method != .HEAD {
            (status, contentType, body) = (.methodNotAllowed, "text/plain; charset=utf-8", Array("only GET\n".utf8))
        } else if path != "/metrics" {
            (status, contentType, body) = (.notFound, "text/plain; charset=utf-8", Array("try /metrics\n".utf8))
        } else {
            (status, contentType, body) = (.ok, "text/plain; version=0.0.4; charset=utf-8", render())
        }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, HEAD") }
        let keepAlive = request.isKeepAlive && status == .ok
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        let channel = context.channel
        if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent { context.close(promise: nil) } else { context.fireUserInboundEventTriggered(event) }
    }
}
