import AffinityCore
import NIOCore

extension JSONParser {
    /// Parses the readable bytes of `buffer`.
    public static func parse(_ buffer: ByteBuffer, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSON {
        let result: Result<JSON, JSONParseError> = buffer.withUnsafeReadableBytes { raw in
            do throws(JSONParseError) { return .success(try parse(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}
