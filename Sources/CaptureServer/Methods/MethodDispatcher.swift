import AffinityCore
import CaptureStore
import Logging
import NIOCore

/// Executes JSON-RPC calls for the connections of ONE event loop, and only on that loop. Which method a
/// name means, whether it writes and what it costs is `RPCMethod.table`'s; the methods themselves are
/// in `MethodDispatcher+*.swift`, by what they serve.
///
/// Readers: each event loop has its own `CaptureReader` for `lastRoute`, `history` and `algorithms`.
/// Those are indexed lookups of a few microseconds, cheaper than any hop to another thread, so they run
/// inline on the loop; WAL readers never wait on the writer. `stats`, `page` and `health` may scan the
/// table, so they go to `ScanReader`'s pool. Writes (`record`, `setAlgorithm`, `prune`) go to the single
/// writer thread.
final class MethodDispatcher {
    typealias Completion = (Result<RPCResult, RPCError>) -> Void

    let context: ServiceContext
    let reader: CaptureReader
    let eventLoop: any EventLoop

    init(context: ServiceContext, reader: CaptureReader, eventLoop: any EventLoop) {
        self.context = context
        self.reader = reader
        self.eventLoop = eventLoop
    }

    /// Closes this loop's reader.
    func close() { reader.close() }

    /// Counts an error answered on a connection of this loop (no-op without metrics).
    func answeredError(code: RPCError.Code) { context.metrics?.answeredError(code: code) }

    /// Counts a connection opened or closed on this loop (no-op without metrics).
    func connectionOpened() { context.metrics?.connectionOpened() }
    func connectionClosed() { context.metrics?.connectionClosed() }

    /// Runs `request` as `method` (what the transport looked its name up as; nil: no such method) and
    /// calls `completion` on this loop, now (queries) or later (writes, scans).
    func dispatch(_ request: RPCRequest, as method: RPCMethod?, completion: @escaping Completion) {
        do throws(RPCError) {
            let params = try Params(request.params)
            guard let method else { throw .methodNotFound(request.method) }
            try method.run(self, params, completion)
        } catch {
            completion(.failure(error))
        }
    }

    /// A result written by `body` into the response line.
    func encode(sizeHint: Int = 256, _ body: @escaping (inout ByteBuffer) -> Void) -> Result<RPCResult, RPCError> {
        .success(RPCResult(sizeHint: sizeHint, body))
    }

    /// A store error as the answer to `method`, logged as its kind deserves.
    func failure(_ error: StoreError, _ method: String) -> Result<RPCResult, RPCError> {
        // A read that finds the file damaged (or the disk failing) is as much news for health as a write.
        context.writerStats.storage.failed(error)
        if error.code == .invalidCursor {
            context.logger.debug("invalid cursor", metadata: ["method": "\(method)"])
        } else if RPCError.isBug(error) {
            context.logger.error("store error", metadata: ["method": "\(method)", "error": "\(error)"])
        } else {
            context.logger.log(
                level: StorageCondition.logLevel(for: error), "store error",
                metadata: ["method": "\(method)", "code": "\(error.code)"])
        }
        return .failure(RPCError(error))
    }

    /// Wraps `completion` so that another thread can hand a result back to this loop.
    func deliver<T: Sendable>(
        _ method: String, _ completion: @escaping Completion, encode: @escaping (inout ByteBuffer, T) -> Void
    ) -> WriterCompletion<T> {
        let bound = NIOLoopBound((completion, encode, self), eventLoop: eventLoop)
        return WriterCompletion(eventLoop: eventLoop) { result in
            let (completion, encode, dispatcher) = bound.value
            switch result {
            case .success(let value): completion(dispatcher.encode { encode(&$0, value) })
            case .failure(let error): completion(dispatcher.failure(error, method))
            }
        }
    }

    /// Hands a write to the writer thread; -32002 when its queue is full.
    func submit(_ job: WriterJob) throws(RPCError) {
        guard context.writeQueue.submit(job) else { throw .overloaded("write queue full") }
    }

    /// Runs `body` on the scan pool and answers with its value, encoded, on this loop; -32002 when too
    /// many scans wait already.
    func scan<T: Sendable>(
        _ method: String, _ completion: @escaping Completion,
        _ body: @escaping @Sendable (CaptureReader) throws(StoreError) -> T,
        encode: @escaping (inout ByteBuffer, T) -> Void
    ) throws(RPCError) {
        let done = deliver(method, completion, encode: encode)
        guard let scan = context.scanReader.run(on: eventLoop, body) else {
            throw .overloaded("too many queries waiting")
        }
        scan.whenComplete { result in
            done.deliver(result.mapError { $0 as? StoreError ?? StoreError(code: .internal, message: "\($0)") })
        }
    }
}
