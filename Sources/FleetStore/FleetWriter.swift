import AffinityCore
import CaptureStore
import Logging
import NIOCore
import PostgresNIO

/// Writes one host's captures into the fleet, exactly once each.
///
/// A batch and the host's high-water mark (`hosts.forwarded_through`) change in one transaction, with the
/// host's row locked first. So after a crash of either side the mark is exactly the last stored id, a batch
/// is never half there, and two forwarders with the same host id cannot interleave: the second finds the mark
/// moved and starts from it. `ON CONFLICT DO NOTHING` on `(host_id, id, captured_at)` is the second guard.
public enum FleetWriter {
    public enum Outcome: Sendable, Hashable {
        /// The batch is stored; the mark is now its last id.
        case stored(through: Int64)
        /// The mark was not where the caller thought (another forwarder with this host id, or a restore):
        /// nothing was written; continue after `mark`.
        case markMoved(to: Int64)
    }

    /// The host's mark, registering the host at 0 when it is new.
    public static func highWaterMark(
        hostId: String, on connection: FleetConnection, now: Int64, timeout: Duration
    ) async throws(FleetError) -> Int64 {
        try await connection.run(timeout: timeout) { pg, logger in
            try await pg.query(
                "INSERT INTO taas_capture.hosts (host_id, forwarded_through, first_seen_at) VALUES (\(hostId), 0, \(now)) ON CONFLICT (host_id) DO NOTHING",
                logger: logger)
            var mark: Int64 = 0
            for try await value in try await pg.query(
                "SELECT forwarded_through FROM taas_capture.hosts WHERE host_id = \(hostId)", logger: logger
            ).decode(Int64.self) {
                mark = value
            }
            return mark
        }
    }

    /// Stores `batch` (ids ascending, all after `after`) and moves the mark to its last id, in one transaction.
    ///
    /// The rows are copied straight into `captures`: with the mark checked under the host's row lock, none of
    /// them can be there already. Should one be anyway (a row written around the mark), the copy fails with a
    /// unique violation and the batch goes again through a staging table and `ON CONFLICT DO NOTHING`.
    public static func forward(
        _ batch: [Capture], hostId: String, after: Int64, on connection: FleetConnection, now: Int64, timeout: Duration
    ) async throws(FleetError) -> Outcome {
        guard let last = batch.last?.id else { return .stored(through: after) }
        let rows = copyText(batch, hostId: hostId)
        do {
            return try await connection.runRaw(timeout: timeout) { pg, logger in
                try await store(rows, through: last, hostId: hostId, after: after, now: now, staged: false, pg, logger)
            }
        } catch let error where FleetError.sqlState(of: error) == "23505" {
            return try await connection.run(timeout: timeout) { pg, logger in
                try await store(rows, through: last, hostId: hostId, after: after, now: now, staged: true, pg, logger)
            }
        } catch {
            throw FleetError.classify(error, target: connection.target)
        }
    }

    private static func store(
        _ rows: ByteBuffer, through last: Int64, hostId: String, after: Int64, now: Int64, staged: Bool,
        _ pg: PostgresConnection, _ logger: Logger
    ) async throws -> Outcome {
        try await pg.withTransaction(logger: logger) { pg in
            var mark: Int64 = -1
            for try await value in try await pg.query(
                "SELECT forwarded_through FROM taas_capture.hosts WHERE host_id = \(hostId) FOR UPDATE", logger: logger
            ).decode(Int64.self) {
                mark = value
            }
            guard mark == after else { return Outcome.markMoved(to: max(mark, 0)) }
            // postgres-nio quotes the COPY table name as one identifier, so the schema comes from search_path.
            try await pg.query("SET LOCAL search_path TO taas_capture", logger: logger)
            if staged {
                try await pg.query(
                    "CREATE TEMP TABLE IF NOT EXISTS forward_batch (LIKE taas_capture.captures) ON COMMIT DELETE ROWS",
                    logger: logger)
                try await pg.copyFrom(table: "forward_batch", columns: FleetColumns.names, logger: logger) { writer in
                    try await writer.write(rows)
                }
                try await pg.query(
                    PostgresQuery(
                        unsafeSQL: "INSERT INTO taas_capture.captures (\(FleetColumns.list)) SELECT \(FleetColumns.list) "
                            + "FROM forward_batch ON CONFLICT DO NOTHING"), logger: logger)
            } else {
                try await pg.copyFrom(table: "captures", columns: FleetColumns.names, logger: logger) { writer in
                    try await writer.write(rows)
                }
            }
            try await pg.query(
                "UPDATE taas_capture.hosts SET forwarded_through = \(last), last_forward_at = \(now) WHERE host_id = \(hostId)",
                logger: logger)
            return Outcome.stored(through: last)
        }
    }

    /// The batch in COPY's text format (https://www.postgresql.org/docs/15/sql-copy.html#id-1.9.3.55.9.2).
    static func copyText(_ batch: [Capture], hostId: String) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: batch.count * 320)
        for c in batch {
            let f = c.fields
            let u = c.usage
            buffer.copyField(hostId)
            buffer.copyField(String(c.id))
            buffer.copyField(c.sessionId)
            buffer.copyField(c.agentId)
            buffer.copyField(String(c.capturedAt))
            buffer.copyField(f.taasRequestId)
            buffer.copyField(f.taasTraceId)
            buffer.copyField(f.openclawTurnId)
            buffer.copyField(f.openclawAttempt)
            buffer.copyField(f.autorouterModel)
            buffer.copyField(f.autorouterAlgo)
            buffer.copyField(f.autorouterAlgoSource)
            buffer.copyField(f.thinkingApplied)
            buffer.copyField(f.routedContextWindow.map(String.init))
            buffer.copyField(u.autorouted ? "t" : "f")
            buffer.copyField(u.provider)
            buffer.copyField(u.requestedModel)
            buffer.copyField(u.inputTokens.map(String.init))
            buffer.copyField(u.outputTokens.map(String.init))
            buffer.copyField(u.cacheReadTokens.map(String.init))
            buffer.copyField(u.cacheWriteTokens.map(String.init))
            buffer.copyField(u.costUsd.map { "\($0)" })
            buffer.copyField(u.cacheSavedUsd.map { "\($0)" })
            buffer.copyField(u.durationMs.map(String.init))
            buffer.copyField(u.outcome?.rawValue, last: true)
        }
        return buffer
    }
}

/// The fleet table's columns in the order COPY and every SELECT use (`FleetRow.capture` reads them so).
enum FleetColumns {
    static let names = [
        "host_id", "id", "session_id", "agent_id", "captured_at", "taas_request_id", "taas_trace_id", "openclaw_turn_id",
        "openclaw_attempt", "autorouter_model", "autorouter_algo", "autorouter_algo_source", "thinking_applied",
        "routed_context_window", "autorouted", "provider", "requested_model", "input_tokens", "output_tokens",
        "cache_read_tokens", "cache_write_tokens", "cost_usd", "cache_saved_usd", "duration_ms", "outcome",
    ]
    static let list = names.joined(separator: ", ")
}

extension ByteBuffer {
    /// One COPY text field and its delimiter (tab, or newline after the last): NULL is `\N`; backslash and
    /// control characters are escaped. NUL cannot be stored in PostgreSQL text and becomes U+FFFD (ids never
    /// hold control characters; this only guards a row from blocking the forwarder forever).
    fileprivate mutating func copyField(_ value: String?, last: Bool = false) {
        if var value {
            value.withUTF8 { bytes in
                // Nearly every field needs no escape: one copy of the whole field (a profile showed the
                // byte-at-a-time loop as 3 % of the service's CPU while forwarding).
                if bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\\") || $0 == 0x7F }) {
                    copyEscaped(bytes)
                } else {
                    writeBytes(bytes)
                }
            }
        } else {
            writeStaticString("\\N")
        }
        writeInteger(last ? UInt8(ascii: "\n") : UInt8(ascii: "\t"))
    }

    private mutating func copyEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): writeStaticString("\\\\")
            case UInt8(ascii: "\n"): writeStaticString("\\n")
            case UInt8(ascii: "\r"): writeStaticString("\\r")
            case UInt8(ascii: "\t"): writeStaticString("\\t")
            case 0: writeBytes([0xEF, 0xBF, 0xBD])
            case 1..<0x20, 0x7F:
                writeStaticString("\\")
                writeString(String(byte, radix: 8).leftPadded3())
            default: writeInteger(byte)
            }
        }
    }
}

extension String {
    fileprivate func leftPadded3() -> String { String(repeating: "0", count: max(0, 3 - count)) + self }
}
