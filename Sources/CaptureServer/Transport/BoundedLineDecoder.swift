import NIOCore
import NIOExtras

/// A line exceeded the configured maximum.
struct LineTooLongError: Error {}

/// NIOExtras' `LineBasedFrameDecoder` (`\n`, `\r\n` accepted) with a maximum line length, so a
/// client cannot make the server buffer without bound while it waits for a newline.
final class BoundedLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    private let lines = LineBasedFrameDecoder()
    private let maxLineBytes: Int

    init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        if let line = try lines.decode(buffer: &buffer) {
            guard line.readableBytes <= maxLineBytes else { throw LineTooLongError() }
            context.fireChannelRead(Self.wrapInboundOut(line))
            return .continue
        }
        // One more byte than the limit may be a '\r' still waiting for its '\n'.
        if buffer.readableBytes > maxLineBytes + 1 { throw LineTooLongError() }
        return .needMoreData
    }

    /// A last line without its newline is not a message (SPEC: each ends with `\n`): dropped.
    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}
