import AffinityCore
import CaptureStore
import FleetStore
import NIOCore

/// The fleet's answers (`taas-capture fleet …`) in the shapes of the host's own methods plus `hostId`, as one
/// line of JSON each.
public enum FleetResults {
    /// lastRoute: `{"agentId"|"sessionId", "hostId", "capture"}` with the capture's `hostId` too.
    public static func lastRoute(_ selector: CaptureSelector, _ found: FleetCapture?) -> String {
        render { buffer in
            buffer.writeSelectorKey(selector)
            if case .agent = selector {
                buffer.writeStaticString(",\"sessionId\":")
                buffer.writeJSONString(found?.capture.sessionId)
            }
            buffer.writeStaticString(",\"hostId\":")
            buffer.writeJSONString(found?.hostId)
            buffer.writeStaticString(",\"capture\":")
            if let found { buffer.writeCapture(found.capture, hostId: found.hostId) } else { buffer.writeStaticString("null") }
            buffer.writeStaticString("}")
        }
    }

    /// history: `{"agentId"|"sessionId", "captures", "nextCursor"}`, each capture with its `hostId`.
    public static func history(_ selector: CaptureSelector, _ page: FleetHistoryPage) -> String {
        render { buffer in
            buffer.writeSelectorKey(selector)
            buffer.writeStaticString(",\"captures\":[")
            for (i, item) in page.captures.enumerated() {
                if i > 0 { buffer.writeStaticString(",") }
                buffer.writeCapture(item.capture, hostId: item.hostId)
            }
            buffer.writeStaticString("],\"nextCursor\":")
            buffer.writeJSONString(page.nextCursor)
            buffer.writeStaticString("}")
        }
    }

    /// stats: the host's shape plus `"hosts"` and `"byHost"`.
    public static func stats(_ s: FleetStats) -> String {
        render { buffer in
            buffer.writeStats(s.stats) { buffer in
                buffer.writeStaticString(",\"hosts\":")
                buffer.writeJSONInt(Int64(s.hosts))
                buffer.writeStaticString(",\"byHost\":")
                buffer.writeCounts(s.byHost)
            }
        }
    }

    /// fleet prune: `{"droppedPartitions", "droppedCaptures", "keptPartitions", "dryRun"}`.
    public static func prune(_ r: FleetPruneReport) -> String {
        render { buffer in
            buffer.writeStaticString("{\"droppedPartitions\":[")
            for (i, name) in r.droppedPartitions.enumerated() {
                if i > 0 { buffer.writeStaticString(",") }
                buffer.writeJSONString(name)
            }
            buffer.writeStaticString("],\"droppedCaptures\":")
            buffer.writeJSONInt(Int64(r.droppedCaptures))
            buffer.writeStaticString(",\"keptPartitions\":")
            buffer.writeJSONInt(Int64(r.keptPartitions))
            buffer.writeStaticString(",\"dryRun\":")
            buffer.writeJSONBool(r.dryRun)
            buffer.writeStaticString("}")
        }
    }

    private static func render(_ body: (inout ByteBuffer) -> Void) -> String {
        var buffer = ByteBuffer()
        body(&buffer)
        return String(buffer: buffer)
    }
}

extension ByteBuffer {
    /// `{"agentId":…` or `{"sessionId":…`.
    fileprivate mutating func writeSelectorKey(_ selector: CaptureSelector) {
        switch selector {
        case .agent(let id):
            writeStaticString("{\"agentId\":")
            writeJSONString(id)
        case .session(let id):
            writeStaticString("{\"sessionId\":")
            writeJSONString(id)
        }
    }
}
