import AffinityCore
import NIOCore

/// Encoding of JSON-RPC responses. `"id"` comes before `"result"`/`"error"` so that a client looking
/// for the first `"id":` (as the load generator does) finds the response's own id.
extension ByteBuffer {
    /// Writes `{"jsonrpc":"2.0","id":…,"result":…}` or `{"jsonrpc":"2.0","id":…,"error":{…}}` (no line
    /// ending); a result is rendered straight into this buffer.
    mutating func writeRPCResponse(id: JSON, outcome: Result<RPCResult, RPCError>) {
        switch outcome {
        case .success(let result):
            writeStaticString("{\"jsonrpc\":\"2.0\",\"id\":")
            writeJSONValue(id)
            writeStaticString(",\"result\":")
            result.write(&self)
            writeStaticString("}")
        case .failure(let error):
            writeRPCError(id: id, error: error)
        }
    }

    /// Writes `{"jsonrpc":"2.0","id":…,"error":{…}}` (no line ending).
    public mutating func writeRPCError(id: JSON, error: RPCError) {
        writeStaticString("{\"jsonrpc\":\"2.0\",\"id\":")
        writeJSONValue(id)
        writeStaticString(",\"error\":")
        writeRPCErrorObject(error)
        writeStaticString("}")
    }
}
