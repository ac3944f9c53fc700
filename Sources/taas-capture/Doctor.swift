import AffinityCore
import ArgumentParser
import CaptureServer
import ServiceClient
import CaptureStore
import FleetStore
import Foundation
import Logging

/// `taas-capture doctor`: checks the socket, permissions, schema, integrity and the running service.
struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the socket, file permissions, schema, database integrity and the service's health.",
        discussion: "Exit status 0 when every check passes, 1 otherwise.")

    @Option(help: "The service's socket (default: $TAAS_CAPTURE_SOCKET or STATE/taas-capture/capture.sock).")
    var socket: String?
    @OptionGroup var database: DatabaseOptions
    @Flag(help: "Check only the database file (for when the service is stopped).") var offline = false
    @Flag(help: "Print {\"ok\", \"checks\": [{\"name\",\"ok\",\"detail\"}]} as JSON.") var json = false
    @Option(help: ArgumentHelp(
        "Also check the fleet's PostgreSQL: reachable, schema version, this host's lag (default: $TAAS_CAPTURE_FORWARD).",
        valueName: "url"))
    var postgres: String?
    @Option(help: "This host's fleet id, for the lag (default: host: + sha16(hostname)).") var hostId: String?
    @Flag(help: "First empty the stats rollups and fold every capture into them again (after captures were deleted by hand).")
    var rebuildRollups = false

    struct Check {
        let name: String
        let ok: Bool
        let detail: String
        /// What to do about a failed check, when there is one thing to do.
        var next: String? = nil
    }

    /// What to do with a database SQLite reports damaged (README, "A damaged database").
    static let salvageAdvice = "stop the service, run 'taas-capture salvage --from DB --to NEW', then serve on NEW (README: \"A damaged database\")"

    func run() async throws {
        let socketPath = StatePaths().socketPath(flag: socket)
        let dbPath = database.databasePath
        var checks: [Check] = []
        if rebuildRollups { checks.append(rebuild(dbPath)) }
        checks += permissionChecks(directory: (dbPath as NSString).deletingLastPathComponent, mode: 0o700, label: "database directory")
        checks += databaseChecks(dbPath)
        if !offline {
            checks += permissionChecks(directory: (socketPath as NSString).deletingLastPathComponent, mode: 0o700, label: "socket directory")
            checks += serviceChecks(socketPath)
        }
        if let url = postgres ?? ProcessInfo.processInfo.environment["TAAS_CAPTURE_FORWARD"].flatMap({ $0.isEmpty ? nil : $0 }) {
            checks.append(await fleetCheck(url: url, dbPath: dbPath))
        }
        let failed = checks.filter { !$0.ok }
        let next = Array(Set(failed.compactMap(\.next))).sorted()
        if json {
            let list = checks.map {
                JSON.object(JSONObject([
                    "name": .string($0.name), "ok": .bool($0.ok), "detail": .string($0.detail),
                    "next": $0.next.map(JSON.string) ?? .null,
                ]))
            }
            printJSON(.object(JSONObject([
                "ok": .bool(failed.isEmpty), "problems": .int(Int64(failed.count)), "checks": .array(list),
                "next": .array(next.map(JSON.string)),
            ])))
        } else {
            for check in checks { print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.detail)") }
            print(Self.summary(failed: failed, of: checks.count, next: next))
        }
        if !failed.isEmpty { throw ExitCode(1) }
    }

    /// The last lines: how many checks failed, which, and what to do next.
    static func summary(failed: [Check], of total: Int, next: [String]) -> String {
        guard !failed.isEmpty else { return "all \(total) checks passed" }
        let names = failed.map(\.name).joined(separator: ", ")
        var text = "\(failed.count) of \(total) checks failed: \(names)"
        for step in next { text += "\nnext: \(step)" }
        return text
    }

    /// `--rebuild-rollups`, safe while the service runs (each batch is one short write transaction).
    private func rebuild(_ path: String) -> Check {
        do throws(StoreError) {
            // A reader first: it refuses a missing file, which the writer would create.
            try CaptureReader(path: path).close()
            let writer = try CaptureWriter(path: path, durability: .normal)
            defer { writer.close() }
            let progress = TerminalProgress(json: json)
            let folded = try writer.rebuildRollups { progress.update("rebuilding the stats rollups: \($0) captures folded") }
            progress.finish()
            return Check(name: "rebuild stats rollups", ok: true, detail: "\(folded) capture ids folded")
        } catch {
            return Check(name: "rebuild stats rollups", ok: false, detail: error.message)
        }
    }

    private func permissionChecks(directory: String, mode: Int, label: String) -> [Check] {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: directory) else {
            return [Check(name: label, ok: false, detail: "missing")]
        }
        return [modeCheck(label, attributes, expected: mode)]
    }

    private func modeCheck(_ name: String, _ attributes: [FileAttributeKey: Any], expected: Int) -> Check {
        let mode = (attributes[.posixPermissions] as? Int ?? 0) & 0o777
        let owner = (attributes[.ownerAccountID] as? NSNumber)?.uint32Value
        let mine = owner == getuid()
        let detail = "mode \(String(mode, radix: 8))\(mine ? "" : ", owned by uid \(owner.map(String.init) ?? "?")")"
        return Check(name: name, ok: mode & ~expected == 0 && mine, detail: detail + (mode & ~expected == 0 ? "" : " (expected \(String(expected, radix: 8)))"))
    }

    private func databaseChecks(_ path: String) -> [Check] {
        var checks: [Check] = []
        for suffix in ["", "-wal", "-shm"] {
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path + suffix) else {
                if suffix.isEmpty { return [Check(name: "database", ok: false, detail: "missing (the service creates it on start)")] }
                continue
            }
            checks.append(modeCheck("database file\(suffix)", attributes, expected: 0o600))
        }
        let reader: CaptureReader
        do throws(StoreError) {
            reader = try CaptureReader(path: path)
        } catch {
            return checks + [databaseFailure(error)]
        }
        defer { reader.close() }
        do throws(StoreError) {
            let health = try reader.health()
            let behind = health.rollupsBehind > 0 ? ", \(health.rollupsBehind) not yet in the stats rollups" : ""
            checks.append(
                Check(name: "schema", ok: true, detail: "version \(health.schemaVersion), \(health.captures) captures\(behind)"))
            let audit = try reader.rollupAudit()
            let agree = audit.counted == audit.stored && audit.sessionsCounted == audit.sessionsStored
            checks.append(
                Check(
                    name: "stats rollups", ok: agree,
                    detail: agree
                        ? "\(audit.counted) captures folded"
                        : "they count \(audit.counted) captures"
                            + (audit.sessionsCounted == audit.sessionsStored
                                ? "" : " (by session \(audit.sessionsCounted) of \(audit.sessionsStored))")
                            + " where \(audit.stored) are stored (captures deleted by hand?)",
                    next: agree ? nil : "run 'taas-capture doctor --rebuild-rollups'"))
        } catch {
            checks.append(databaseFailure(error))
        }
        // Whatever the reads above found, the integrity check says how much is damaged.
        checks.append(integrityCheck(reader))
        return checks
    }

    /// A database that cannot be read, with the step its error calls for.
    private func databaseFailure(_ error: StoreError) -> Check {
        Check(name: "database", ok: false, detail: error.message, next: error.isDamage ? Self.salvageAdvice : nil)
    }

    /// `PRAGMA integrity_check`, summarised: how many problems (SQLite stops listing at 100), the first three.
    private func integrityCheck(_ reader: CaptureReader) -> Check {
        let lines: [String]
        do throws(StoreError) {
            lines = try reader.integrityCheck()
        } catch {
            return Check(
                name: "integrity", ok: false, detail: "the check itself stopped: \(error.message)", next: Self.salvageAdvice)
        }
        if lines == ["ok"] { return Check(name: "integrity", ok: true, detail: "ok") }
        let detail = CaptureReader.problemsText(lines, showing: 3, clippedAt: 160)
        return Check(name: "integrity", ok: false, detail: detail, next: Self.salvageAdvice)
    }

    /// The running service's storage fault, from `health.storage`.
    private func storageCheck(_ storage: JSON) -> Check {
        let error = storage["error"]?.stringValue ?? "?"
        let since = storage["since"]?.integerValue.map { Date(timeIntervalSince1970: Double($0) / 1000) }
        let detail = "\(error); since \(since.map { ISO8601DateFormatter().string(from: $0) } ?? "?"), "
            + "\(Table.text(storage["failedWrites"])) records refused"
        let kind = storage["kind"]?.stringValue
        let damaged = kind == "corrupt" || kind == "notADatabase"
        return Check(
            name: "storage", ok: false, detail: detail,
            next: damaged ? Self.salvageAdvice : "free space or mend the disk: the service records again by itself once a write succeeds")
    }

    /// The running forwarder, from `health.forward`.
    private func forwarderCheck(_ forward: JSON) -> Check {
        let state = forward["state"]?.stringValue ?? "?"
        var detail = "\(state) to \(Table.text(forward["target"])) as \(Table.text(forward["hostId"])), "
            + "through id \(Table.text(forward["lastForwardedId"])), lag \(Table.text(forward["lagCaptures"])) captures"
        if let dropped = forward["droppedUnforwarded"]?.integerValue, dropped > 0 {
            detail += ", \(dropped) removed by maxRows before forwarding"
        }
        if let error = forward["lastError"]?.stringValue { detail += "; last error: \(error)" }
        return Check(name: "forwarder", ok: state == "forwarding", detail: detail)
    }

    /// The fleet's PostgreSQL itself: reachable, its schema version against this binary's, and how far this
    /// host's captures are behind its mark there.
    private func fleetCheck(url: String, dbPath: String) async -> Check {
        let target: PostgresTarget
        do {
            target = try PostgresTarget(url: url)
        } catch {
            return Check(name: "fleet database", ok: false, detail: error.message)
        }
        var logger = Logger(label: "taas-capture")
        logger.logLevel = .critical
        let id = hostId ?? requesterHostId(hostname: ProcessInfo.processInfo.hostName)
        do throws(FleetError) {
            let connection = try await FleetConnection.open(target, timeout: .seconds(10), logger: logger)
            defer { Task { await connection.close() } }
            let version = try await FleetSchema.version(connection, timeout: .seconds(10))
            let hosts = version > 0 ? try await FleetQueries.hosts(on: connection, timeout: .seconds(10)) : []
            let mark = hosts.first { $0.hostId == id }?.forwardedThrough
            var detail = "\(target) reachable, schema version \(version) (this binary knows \(FleetSchema.latestVersion))"
            if let mark {
                let lag = (try? localCount(after: mark, dbPath: dbPath)).map(String.init) ?? "?"
                detail += "; \(id) forwarded through id \(mark), \(lag) local captures behind"
            } else {
                detail += "; \(id) has not forwarded yet"
            }
            return Check(name: "fleet database", ok: version <= FleetSchema.latestVersion, detail: detail)
        } catch {
            return Check(name: "fleet database", ok: false, detail: error.message)
        }
    }

    private func localCount(after id: Int64, dbPath: String) throws(StoreError) -> Int {
        let reader = try CaptureReader(path: dbPath)
        defer { reader.close() }
        return try reader.countCaptures(after: id)
    }

    private func serviceChecks(_ path: String) -> [Check] {
        var checks: [Check] = []
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else {
            return [Check(name: "socket", ok: false, detail: "missing: is 'taas-capture serve' running?")]
        }
        let isSocket = (attributes[.type] as? FileAttributeType) == .typeSocket
        checks.append(isSocket ? modeCheck("socket", attributes, expected: 0o600) : Check(name: "socket", ok: false, detail: "not a socket"))
        do {
            let client = try CaptureClient(socketPath: path, timeoutSeconds: 5)
            let health = try client.call("taas.capture.health")
            let detail = "status \(Table.text(health["status"])), version \(Table.text(health["version"])), \(Table.text(health["captures"])) captures, durability \(Table.text(health["durability"])), up \(Table.text(health["uptimeMs"])) ms"
            checks.append(Check(name: "service", ok: health["status"]?.stringValue == "ok", detail: detail))
            if let storage = health["storage"], storage["ok"]?.boolValue == false {
                checks.append(storageCheck(storage))
            }
            if let forward = health["forward"], !forward.isNull { checks.append(forwarderCheck(forward)) }
        } catch {
            checks.append(Check(name: "service", ok: false, detail: "\(error)"))
        }
        return checks
    }
}
