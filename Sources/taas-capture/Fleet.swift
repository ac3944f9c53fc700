import AffinityCore
import ArgumentParser
import CaptureServer
import CaptureStore
import FleetStore
import Foundation
import Logging

/// `taas-capture fleet …`: the fleet's questions, answered from its PostgreSQL across hosts (SPEC v2 "The fleet
/// on PostgreSQL").
struct Fleet: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask the fleet's PostgreSQL: which model served an agent on any host, history, stats, retention.",
        subcommands: [FleetLastRoute.self, FleetHistory.self, FleetStats.self, FleetHosts.self, FleetPrune.self]
    )
}

/// `--postgres`, `--host-id`, `--json` and the deadline, shared by every fleet command.
struct FleetOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The fleet's PostgreSQL (default: $TAAS_CAPTURE_FORWARD); password from the URL or ~/.pgpass.", valueName: "url"))
    var postgres: String?
    @Option(help: "Only captures forwarded by this host.") var hostId: String?
    @Flag(help: "Print the result as one line of JSON.") var json = false
    @Option(help: "Give up on PostgreSQL after this long.") var timeout = CLIDuration(milliseconds: 15_000)

    func target() throws -> PostgresTarget {
        guard let url = postgres ?? ProcessInfo.processInfo.environment["TAAS_CAPTURE_FORWARD"].flatMap({ $0.isEmpty ? nil : $0 })
        else { throw ValidationError("name the fleet's PostgreSQL with --postgres URL (or TAAS_CAPTURE_FORWARD)") }
        do {
            return try PostgresTarget(url: url)
        } catch {
            throw ValidationError("--postgres: \(error.message)")
        }
    }

    var deadline: Duration { .milliseconds(timeout.milliseconds) }

    /// Connects, runs `body`, closes; every failure becomes one line without credentials.
    func withFleet<T: Sendable>(_ body: (FleetConnection) async throws(FleetError) -> T) async throws -> T {
        let target = try target()
        var logger = Logger(label: "taas-capture")
        logger.logLevel = .critical
        do throws(FleetError) {
            let connection = try await FleetConnection.open(target, timeout: deadline, logger: logger)
            do throws(FleetError) {
                let result = try await body(connection)
                await connection.close()
                return result
            } catch {
                await connection.close()
                throw error
            }
        } catch {
            throw CLIFailure(error.message)
        }
    }
}

/// Prints `text` (one line of JSON) when `--json`, else returns it parsed for a table.
private func emit(_ text: String, json: Bool) throws -> JSON? {
    if json {
        print(text)
        return nil
    }
    return try JSONParser.parse(text)
}

struct FleetLastRoute: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "last-route", abstract: "The newest routed capture of an agent or session on any host.")

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var selector: SelectorOptions

    func run() async throws {
        guard let (chosen, label) = try selector.resolved() else {
            throw ValidationError("name an --agent-id, --session-id, --workspace-dir or --local-session-id")
        }
        let found = try await fleet.withFleet { (c) throws(FleetError) in
            try await FleetQueries.lastRoute(chosen, hostId: fleet.hostId, on: c, timeout: fleet.deadline)
        }
        guard let result = try emit(FleetResults.lastRoute(chosen, found), json: fleet.json) else { return }
        guard let capture = result["capture"], !capture.isNull else { return print("no capture in the fleet for \(label)") }
        Table.print(pairs: [
            ("host", Table.text(capture["hostId"])), ("agent", Table.text(capture["agentId"])),
            ("session", Table.text(capture["sessionId"])), ("model", Table.text(capture["autorouterModel"])),
            ("algorithm", Table.text(capture["autorouterAlgo"])), ("algorithm source", Table.text(capture["autorouterAlgoSource"])),
            ("captured at (UTC)", Table.timestamp(capture["capturedAt"])), ("capture id", Table.text(capture["id"])),
        ])
    }
}

struct FleetHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Captures of an agent or session across hosts, newest first.")

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var selector: SelectorOptions
    @Option(help: "Captures per page (1-1000).") var limit = HistoryQuery.defaultLimit
    @Option(help: "The nextCursor of the previous page.") var cursor: String?
    @Option(help: "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).") var since: TimeBound?
    @Option(help: "Only captures before this time (ms since epoch, or a duration ago).") var until: TimeBound?

    func validate() throws {
        guard HistoryQuery.limits.contains(limit) else {
            throw ValidationError("--limit takes \(HistoryQuery.limits.lowerBound) to \(HistoryQuery.limits.upperBound)")
        }
    }

    func run() async throws {
        guard let (chosen, _) = try selector.resolved() else {
            throw ValidationError("name an --agent-id, --session-id, --workspace-dir or --local-session-id")
        }
        let query = HistoryQuery(
            selector: chosen, limit: limit, cursor: cursor, since: since?.milliseconds, until: until?.milliseconds)
        let page = try await fleet.withFleet { (c) throws(FleetError) in
            try await FleetQueries.history(query, hostId: fleet.hostId, on: c, timeout: fleet.deadline)
        }
        guard let result = try emit(FleetResults.history(chosen, page), json: fleet.json) else { return }
        let captures = result["captures"]?.arrayValue ?? []
        Table.print(header: ["host"] + Table.captureHeader, rows: captures.map { [Table.text($0["hostId"])] + Table.captureRow($0) })
        if let next = result["nextCursor"]?.stringValue { print("next page: --cursor \(next)") }
    }
}

struct FleetStats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Counts across hosts (all, or of an agent or session) by model, algorithm and host.")

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var selector: SelectorOptions
    @Option(help: "Only captures at or after this time (ms since epoch, or a duration ago such as 1d).") var since: TimeBound?
    @Option(help: "Only captures before this time (ms since epoch, or a duration ago).") var until: TimeBound?

    func run() async throws {
        let chosen = try selector.resolved()?.0
        let stats = try await fleet.withFleet { (c) throws(FleetError) in
            try await FleetQueries.stats(
                chosen, hostId: fleet.hostId, since: since?.milliseconds, until: until?.milliseconds, on: c,
                timeout: fleet.deadline)
        }
        guard let result = try emit(FleetResults.stats(stats), json: fleet.json) else { return }
        Table.print(pairs: [
            ("captures", Table.text(result["total"])), ("hosts", Table.text(result["hosts"])),
            ("sessions", Table.text(result["sessions"])), ("agents", Table.text(result["agents"])),
            ("first (UTC)", Table.timestamp(result["firstCapturedAt"])), ("last (UTC)", Table.timestamp(result["lastCapturedAt"])),
        ] + Table.usagePairs(result["usage"]))
        for (title, key) in [("host", "byHost"), ("model", "byModel"), ("algorithm", "byAlgo")] {
            guard let counts = result[key]?.objectValue, counts.count > 0 else { continue }
            print("")
            let rows = counts.entries.sorted { ($0.value.integerValue ?? 0) > ($1.value.integerValue ?? 0) }
            Table.print(header: [title, "captures"], rows: rows.map { [$0.key, Table.text($0.value)] })
        }
    }
}

struct FleetHosts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hosts", abstract: "Every forwarding host: how far it has forwarded and when it last did.")

    @OptionGroup var fleet: FleetOptions

    func run() async throws {
        let hosts = try await fleet.withFleet { (c) throws(FleetError) in try await FleetQueries.hosts(on: c, timeout: fleet.deadline) }
        if fleet.json {
            let items = hosts.map { h -> JSON in
                .object(JSONObject([
                    ("hostId", .string(h.hostId)), ("forwardedThrough", .int(h.forwardedThrough)),
                    ("firstSeenAt", .int(h.firstSeenAt)), ("lastForwardAt", h.lastForwardAt.map(JSON.int) ?? .null),
                ]))
            }
            return printJSON(.object(JSONObject([("hosts", .array(items))])))
        }
        Table.print(
            header: ["host", "forwarded through id", "last forward (UTC)", "first seen (UTC)"],
            rows: hosts.map {
                [$0.hostId, String($0.forwardedThrough), Table.timestamp($0.lastForwardAt.map(JSON.int)), Table.timestamp(.int($0.firstSeenAt))]
            })
    }
}

struct FleetPrune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune", abstract: "Drop the fleet's month partitions older than --max-age (whole partitions only).")

    @OptionGroup var fleet: FleetOptions
    @Option(help: "Drop every month that ended more than this long ago.") var maxAge: CLIDuration
    @Flag(help: "Count what would be dropped, drop nothing.") var dryRun = false

    func validate() throws {
        guard maxAge.milliseconds > 0 else { throw ValidationError("--max-age must be more than 0") }
    }

    func run() async throws {
        let report = try await fleet.withFleet { (c) throws(FleetError) in
            try await FleetQueries.prune(
                maxAgeMs: maxAge.milliseconds, now: WallClock.unixMillis(), dryRun: dryRun, on: c, timeout: fleet.deadline)
        }
        if fleet.json { return print(FleetResults.prune(report)) }
        let verb = dryRun ? "would drop" : "dropped"
        print("\(verb) \(report.droppedPartitions.count) partition(s) with \(report.droppedCaptures) captures; \(report.keptPartitions) kept")
        for name in report.droppedPartitions { print("  \(name)") }
    }
}
