import AffinityCore
import ArgumentParser
import CaptureServer
import CaptureStore

/// `taas-capture set-budget`: a USD-per-day budget of an agent or a session (or --clear it). Warn only.
struct SetBudget: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-budget",
        abstract: "Set the USD-per-day budget (UTC days) of an agent or a session, or --clear it.",
        discussion: "Budgets only warn: crossing one is logged once a day, counted in health and the metrics, "
            + "shown in the dashboard and warned in the gateway log; no call is blocked or delayed.")

    @OptionGroup var service: ServiceOptions
    @Option(help: "The agent whose budget this is.") var agentId: String?
    @Option(help: "The session whose budget this is.") var sessionId: String?
    @Flag(help: "Remove the budget.") var clear = false
    @Argument(help: "USD per UTC day, more than 0.") var usd: Double?

    func validate() throws {
        if (agentId == nil) == (sessionId == nil) { throw ValidationError("name exactly one of --agent-id or --session-id") }
        if clear == (usd != nil) { throw ValidationError("give an amount in USD or --clear, not both or neither") }
        if let usd, !(usd > 0 && usd <= BudgetLimits.maxUsdPerDay) {
            throw ValidationError("the amount must be more than 0 and at most \(Int(BudgetLimits.maxUsdPerDay)) USD")
        }
    }

    func run() throws {
        var params = JSONObject()
        if let agentId { params["agentId"] = .string(agentId) }
        if let sessionId { params["sessionId"] = .string(sessionId) }
        params["usdPerDay"] = usd.map { .double($0) } ?? .null
        let result = try service.call("taas.capture.setBudget", params)
        if service.json { return printJSON(result) }
        Swift.print("\(Self.subject(result["subject"])): \(Self.amount(result["usdPerDay"])) (was \(Self.amount(result["previous"])))")
    }

    /// `agent ID` or `session ID`.
    static func subject(_ value: JSON?) -> String {
        if let agent = value?["agentId"] { return "agent \(Table.text(agent))" }
        return "session \(Table.text(value?["sessionId"]))"
    }

    static func amount(_ value: JSON?) -> String {
        value == nil || value == .null ? "no budget" : "\(Table.usd(value)) a day"
    }
}

/// `taas-capture budgets`: every budget with today's (UTC) reported spend.
struct Budgets: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the budgets with today's (UTC) reported spend and whether each is exceeded.")

    @OptionGroup var service: ServiceOptions

    func run() throws {
        let result = try service.call("taas.capture.budgets", JSONObject())
        if service.json { return printJSON(result) }
        let rows = (result["budgets"]?.arrayValue ?? []).map { item -> [String] in
            [
                SetBudget.subject(item["subject"]), Table.usd(item["usdPerDay"]), Table.usd(item["spentTodayUsd"]),
                item["exceeded"] == .bool(true) ? "EXCEEDED" : "", Table.timestamp(item["updatedAt"]),
            ]
        }
        Table.print(header: ["subject", "USD/day", "spent today", "", "set (UTC)"], rows: rows)
        Swift.print("\(Table.text(result["count"])) budgets, \(Table.text(result["exceeded"])) exceeded on \(Table.text(result["day"])) (UTC)")
    }
}
