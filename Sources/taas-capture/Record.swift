import AffinityCore
import ArgumentParser
import CaptureServer

/// `taas-capture record`: pushes one capture from response headers, for tests and operators.
struct Record: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record one capture from TaaS response headers (name=value pairs).",
        discussion: "Headers are read as the plugin reads them; without x-taas-autorouted=true nothing is stored.")

    @OptionGroup var service: ServiceOptions
    @Option(help: "The affinity session id (oc:<16 hex>); see 'taas-capture derive'.") var sessionId: String
    @Option(help: "The OpenClaw agent id.") var agentId: String?
    @Option(help: "When it was captured, in ms since the epoch (default: now).") var capturedAt: Int64?
    @Option(help: "A key that makes retries of the same capture store it once.") var idempotencyKey: String?
    @Option(name: .customLong("header"), help: "A response header as name=value (repeatable).")
    var headers: [String] = []

    func validate() throws {
        for header in headers where !header.contains("=") {
            throw ValidationError("--header takes name=value, got '\(header)'")
        }
    }

    func run() throws {
        var headerObject = JSONObject()
        for header in headers {
            let parts = header.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            headerObject[String(parts[0])] = .string(String(parts[1]))
        }
        var params = JSONObject()
        params["sessionId"] = .string(sessionId)
        if let agentId { params["agentId"] = .string(agentId) }
        if let capturedAt { params["capturedAt"] = .int(capturedAt) }
        if let idempotencyKey { params["idempotencyKey"] = .string(idempotencyKey) }
        params["headers"] = .object(headerObject)
        let result = try service.call("taas.autorouter.record", params)
        if service.json { return printJSON(result) }
        if result["recorded"]?.boolValue == true {
            let duplicate = result["duplicate"]?.boolValue == true
            print("recorded capture \(Table.text(result["id"]))\(duplicate ? " (a repeat: stored once before)" : "")")
        } else {
            print("not recorded: \(Table.text(result["reason"])) (the headers lack x-taas-autorouted=true)")
        }
    }
}
