import AffinityCore
import CaptureStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Size of every batch the crash writer records; the test checks that each batch is all there or not at all.
let crashBatchSize = 32

/// Records batches forever, each tagged `batch-<n>` in `openclawTurnId`, and prints `committed <n> <last id>`
/// after each commit. The crash-recovery test kills it with SIGKILL part-way.
func crashWriter(path: String) -> Never {
    do {
        let writer = try CaptureWriter(path: path, durability: .normal)
        var batchNumber = 0
        while true {
            let batch = (0..<crashBatchSize).map { index in
                NewCapture(
                    sessionId: "oc:crash-\((batchNumber + index) % 7)", agentId: "crash-agent",
                    capturedAt: 1_700_000_000_000 + Int64(batchNumber),
                    fields: CaptureFields(
                        taasRequestId: "req-\(batchNumber)-\(index)", openclawTurnId: "batch-\(batchNumber)",
                        autorouterModel: "model"
                    ),
                    idempotencyKey: nil
                )
            }
            let outcomes = try writer.record(batch)
            print("committed \(batchNumber) \(outcomes.last?.id ?? 0)")
            // nil flushes every stream (stdout itself is a C global Swift 6 will not touch).
            fflush(nil)
            batchNumber += 1
        }
    } catch {
        printError("crash-writer: \(error)")
        exit(1)
    }
}

func printError(_ line: String) {
    var text = line + "\n"
    text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}
