import AffinityCore
import CaptureStore

/// Deterministic captures: each picks a random session (as interleaved live traffic does), carries a unique
/// request id (so every row goes through the dedupe index, as real captures do) and a rising `capturedAt`.
struct Workload {
    let sessionIds: [String]
    let agentIds: [String]
    private let models = ["claude-sonnet-4-5", "gpt-5.1", "gemini-2.5-pro", "qwen3-coder-480b"]
    private let algos = ["balanced", "quality", "cost"]
    private let sources = ["default", "policy", "header"]

    init(_ options: BenchOptions) {
        sessionIds = (0..<options.sessions).map { "oc:" + hex16(UInt64($0)) }
        agentIds = (0..<options.agents).map { "agent-\($0)" }
    }

    func batch(from start: Int, count: Int) -> [NewCapture] {
        (start..<(start + count)).map { index in
            var random = SplitMix(seed: UInt64(index))
            let session = random.next(below: sessionIds.count)
            return NewCapture(
                sessionId: sessionIds[session], agentId: agentIds[session % agentIds.count],
                capturedAt: 1_700_000_000_000 + Int64(index),
                fields: CaptureFields(
                    taasRequestId: "req-" + hex16(UInt64(index) &* 0x9e37_79b9), taasTraceId: "trace-" + hex16(UInt64(index)),
                    openclawTurnId: "turn-\(index / 3)", openclawAttempt: "1",
                    autorouterModel: models[random.next(below: models.count)],
                    autorouterAlgo: algos[random.next(below: algos.count)],
                    autorouterAlgoSource: sources[random.next(below: sources.count)],
                    thinkingApplied: random.next(below: 2) == 0 ? "true" : "false", routedContextWindow: 200_000
                ),
                idempotencyKey: nil
            )
        }
    }
}

/// SplitMix64: a small, fast, deterministic generator.
struct SplitMix {
    private var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9e37_79b9_7f4a_7c15 &+ 1 }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    mutating func next(below bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

func hex16(_ value: UInt64) -> String {
    let hex = String(SplitMix(seed: value).peek(), radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

extension SplitMix {
    fileprivate func peek() -> UInt64 {
        var copy = self
        return copy.next()
    }
}
