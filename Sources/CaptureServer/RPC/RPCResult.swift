import NIOCore

/// A method's result, written straight into its response line when the line is built: the result is
/// rendered once, into the buffer that goes to the socket, never into a buffer of its own first.
struct RPCResult {
    /// Bytes the result is expected to take, so the line's buffer is allocated once.
    let sizeHint: Int
    let write: (inout ByteBuffer) -> Void

    init(sizeHint: Int = 256, _ write: @escaping (inout ByteBuffer) -> Void) {
        self.sizeHint = sizeHint
        self.write = write
    }
}
