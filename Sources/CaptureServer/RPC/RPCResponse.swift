import NIOCore

/// Encoding of JSON-RPC responses. `"id"` comes before `"result"`/`"error"` so that a client looking
/// for the first `"id":` (as the load generator does) finds the response's own id.
extension ByteBuffer {
    /// Writes `{"jsonrpc":"2.0","id":…,"result":<result>}` (no line ending).
    public mutating func writeRPCResult(id: JSON, result: ByteBuffer) {
        writeStaticString("{\"jsonrpc\":\"2.0\",\"id\":")
        writeJSONValue(id)
        writeStaticString(",\"result\":")
        writeImmutableBuffer(result)
        writeStaticString("}")
    }

    /// Writes `{"jsonrpc":"2.0","id":…,"error":{…}}` (no line ending).
    public mutating func writeRPCError(id: JSON, error: RPCError) {
        writeStaticString("{\"jsonrpc\":\"2.0\",\"id\":")
        writeJSONValue(id)
        writeStaticString(",\"error\":")
        writeRPCErrorObject(error)
        writeStaticString("}")
    }

    /// Writes a result or an error response for `id`.
    public mutating func writeRPCResponse(id: JSON, outcome: Result<ByteBuffer, RPCError>) {
        switch outcome {
        case .success(let result): writeRPCResult(id: id, result: result)
        case .failure(let error): writeRPCError(id: id, error: error)
        }
    }
}
