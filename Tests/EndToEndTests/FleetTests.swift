import Foundation
import XCTest

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The fleet on PostgreSQL (SPEC v2), end to end: real services forwarding to a real PostgreSQL server that
/// the tests start, stop, pause and crash; every count is read back from PostgreSQL with psql.
final class FleetTests: EndToEndTestCase {
    nonisolated(unsafe) private static var server: PostgresServer?

    override class func tearDown() {
        server?.shutdown()
        server = nil
        super.tearDown()
    }

    /// The class's server, started on first use (initdb takes a second or two).
    private func postgres() throws -> PostgresServer {
        if let server = Self.server { return server }
        let server = try PostgresServer()
        Self.server = server
        return server
    }

    override func tearDownWithError() throws {
        // A test that paused or stopped the server must not leave it so for the next.
        if let server = Self.server {
            server.resume()
            try? server.start()
        }
        try super.tearDownWithError()
    }

    // MARK: Helpers

    private func forwardingService(
        _ name: String, url: String, extra: [String] = [], environment: [String: String] = [:]
    ) throws -> ServiceProcess {
        let directory = workDirectory + "/" + name
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return try startService(
            socket: directory + "/s.sock", db: directory + "/c.sqlite3",
            arguments: ["--forward", url, "--host-id", name, "--forward-batch", "50", "--forward-timeout", "2s"] + extra,
            environment: environment)
    }

    private func health(_ service: ServiceProcess) throws -> JSON {
        try connect(service).result("taas.capture.health", [:])
    }

    /// Waits until `service` has forwarded everything it stores; returns its final health.
    @discardableResult
    private func waitUntilForwarded(_ service: ServiceProcess, timeout: Double = 60) throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSON = .null
        while Date() < deadline {
            last = try health(service)
            let forward = last["forward"]
            // Ids here run 1…N (no test that waits on this prunes first), so the mark reaching the count is
            // "everything"; the lag alone may be a poll old.
            if forward?["lagCaptures"]?.int == 0, forward?["state"] == "forwarding",
                let through = forward?["lastForwardedId"]?.int, let captures = last["captures"]?.int, through >= captures
            {
                return last
            }
            usleep(100_000)
        }
        throw ServiceError(description: "not forwarded within \(timeout)s: \(last.encoded)")
    }

    private func waitForForwardState(
        _ service: ServiceProcess, kind: String, state: String = "retrying", timeout: Double = 30
    ) throws -> JSON {
        let deadline = Date().addingTimeInterval(timeout)
        var last: JSON = .null
        while Date() < deadline {
            last = try health(service)
            if last["forward"]?["lastErrorKind"]?.string == kind, last["forward"]?["state"]?.string == state {
                return last["forward"] ?? .null
            }
            usleep(100_000)
        }
        throw ServiceError(description: "forward never reached \(state)/\(kind): \(last.encoded)")
    }

    /// Records `count` captures on `service` from one connection, pipelined 25 at a time; returns how many were
    /// acknowledged (stops at the first failure: the service may have been killed).
    @discardableResult
    private func recordBatch(_ service: ServiceProcess, session: String, count: Int) -> Int {
        Self.recordBatch(socket: service.socketPath, session: session, count: count)
    }

    private static func recordBatch(socket: String, session: String, count: Int) -> Int {
        guard let client = try? LineClient.connect(path: socket) else { return 0 }
        var acked = 0
        var sent = 0
        while sent < count {
            let n = min(25, count - sent)
            var lines = ""
            for i in 0..<n {
                let params: JSON = [
                    "sessionId": .string(session), "agentId": "fleet-agent",
                    "headers": autoroutedHeaders(model: "model-\((sent + i) % 3)", requestId: "\(session)-\(sent + i)"),
                ]
                lines += Request.line("taas.autorouter.record", params, id: .int(Int64(sent + i))) + "\n"
            }
            guard (try? client.send(Array(lines.utf8))) != nil else { return acked }
            for _ in 0..<n {
                guard let answer = try? client.readJSON(timeout: 10), answer["result"]?["recorded"] == true else { return acked }
                acked += 1
            }
            sent += n
        }
        return acked
    }

    /// One unlabelled sample from the service's /metrics.
    private func metric(_ name: String, port: Int) throws -> Double? {
        let text = try String(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!, encoding: .utf8)
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ")[1])
        }
        return nil
    }

    /// Per host in PostgreSQL: (rows, distinct ids, max id).
    private func fleetCounts(_ pg: PostgresServer, _ db: String, host: String) throws -> (rows: Int, distinct: Int, maxId: Int) {
        let text = try pg.psql(
            db, "SELECT count(*), count(DISTINCT id), coalesce(max(id), 0) FROM taas_capture.captures WHERE host_id = '\(host)'")
        let parts = text.split(separator: "|").compactMap { Int($0) }
        guard parts.count == 3 else { throw ServiceError(description: "psql answered \(text)") }
        return (parts[0], parts[1], parts[2])
    }

    // MARK: Tests

    func testThreeHostsUnderLoadForwardEveryCaptureExactlyOnceThroughAPostgresRestartAndAKill() throws {
        let pg = try postgres()
        let db = try pg.createDatabase()
        let url = pg.url(database: db)
        var services = try (1...3).map { try forwardingService("h\($0)", url: url) }
        let acked = Locked([String: Int]())
        // Two writers per host, 600 captures each, while PostgreSQL restarts and h2 is killed mid-forward.
        let sockets = services.map(\.socketPath)
        let writers = sockets.enumerated().flatMap { index, socket in
            (0..<2).map { writer in
                spawnThread {
                    let n = Self.recordBatch(socket: socket, session: "oc:fleet-h\(index + 1)-w\(writer)", count: 600)
                    acked.withLock { $0["h\(index + 1)", default: 0] += n }
                }
            }
        }
        usleep(400_000)
        try pg.stop("immediate")  // as if it crashed, mid-batch
        usleep(1_500_000)
        try pg.start()
        usleep(300_000)
        services[1].killHard()
        for done in writers { XCTAssertEqual(done.wait(timeout: .now() + 120), .success) }
        services[1] = try forwardingService("h2", url: url)
        let more = recordBatch(services[1], session: "oc:fleet-h2-after", count: 200)
        XCTAssertEqual(more, 200)

        for (index, service) in services.enumerated() {
            let host = "h\(index + 1)"
            let final = try waitUntilForwarded(service)
            let local = Int(try XCTUnwrap(final["captures"]?.int))
            let counts = try fleetCounts(pg, db, host: host)
            XCTAssertEqual(counts.rows, local, "\(host): every local capture is in PostgreSQL")
            XCTAssertEqual(counts.distinct, counts.rows, "\(host): no capture twice")
            XCTAssertEqual(Int64(counts.maxId), final["forward"]?["lastForwardedId"]?.int, "\(host): the mark is the last id")
            XCTAssertGreaterThanOrEqual(Int64(local), Int64(acked.current[host] ?? 0), "\(host): every acknowledged capture is stored")
            if host != "h2" { XCTAssertEqual(local, 1200) }
        }
        XCTAssertEqual(try pg.count(db, "SELECT count(*) FROM taas_capture.hosts"), 3)
        // The outage was logged once per service as a pause and once as a resume, not per retry.
        for service in [services[0], services[2]] {
            XCTAssertEqual(service.log.components(separatedBy: "forwarding paused").count - 1, 1, service.log)
            XCTAssertEqual(service.log.components(separatedBy: "forwarding resumed").count - 1, 1, service.log)
        }
    }

    func testAPausedPostgresIsWaitedOutAndLoggedOnce() throws {
        let pg = try postgres()
        let db = try pg.createDatabase()
        let metricsPort = try PostgresServer.freePort()
        let service = try forwardingService(
            "paused", url: pg.url(database: db),
            extra: ["--forward-timeout", "500ms", "--metrics-listen", "127.0.0.1:\(metricsPort)"])
        XCTAssertEqual(recordBatch(service, session: "oc:paused-1", count: 40), 40)
        try waitUntilForwarded(service)
        XCTAssertEqual(try metric("taas_capture_forward_up", port: metricsPort), 1)
        XCTAssertEqual(try metric("taas_capture_forwarded_through_id", port: metricsPort), 40)

        pg.pause()
        let started = Date()
        XCTAssertEqual(recordBatch(service, session: "oc:paused-2", count: 60), 60, "recording goes on")
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "records do not wait for a stopped PostgreSQL")
        let paused = try waitForForwardState(service, kind: "timeout")
        XCTAssertEqual(paused["lagCaptures"]?.int, 60)
        XCTAssertEqual(try metric("taas_capture_forward_up", port: metricsPort), 0)
        XCTAssertEqual(try metric("taas_capture_forward_lag_captures", port: metricsPort), 60)
        usleep(2_500_000)  // several more deadlines pass while it stays stopped
        pg.resume()

        let final = try waitUntilForwarded(service)
        XCTAssertEqual(final["forward"]?["lastError"], .null)
        XCTAssertEqual(try fleetCounts(pg, db, host: "paused").rows, 100)
        XCTAssertEqual(try fleetCounts(pg, db, host: "paused").distinct, 100)
        let log = service.log
        XCTAssertEqual(log.components(separatedBy: "forwarding paused").count - 1, 1, log)
        XCTAssertEqual(log.components(separatedBy: "forwarding resumed").count - 1, 1, log)

        // A service stops promptly, and cleanly, even while PostgreSQL is stopped mid-conversation.
        pg.pause()
        XCTAssertEqual(recordBatch(service, session: "oc:paused-3", count: 10), 10)
        _ = try waitForForwardState(service, kind: "timeout")
        let stopping = Date()
        XCTAssertEqual(service.terminate(timeout: 15), 0)
        XCTAssertLessThan(Date().timeIntervalSince(stopping), 3, "shutdown does not wait out a stopped PostgreSQL")
        pg.resume()
        XCTAssertEqual(service.log.components(separatedBy: "forwarding paused").count - 1, 2, "no outage logged for the shutdown itself")
    }

    func testWrongPasswordUnknownDatabaseAndANewerSchemaAreReportedClearlyWithoutSecrets() throws {
        let pg = try postgres()
        let secret = "wrong-pw-\(UInt32.random(in: 1000...9999))"
        let badPassword = try forwardingService("badpw", url: pg.url(database: "postgres", password: secret))
        let noDatabase = try forwardingService("nodb", url: pg.url(database: "no_such_database"))
        let newer = try pg.createDatabase("newer")
        try pg.psql(
            newer,
            "CREATE SCHEMA taas_capture; CREATE TABLE taas_capture.schema_version (version INTEGER NOT NULL); "
                + "INSERT INTO taas_capture.schema_version VALUES (99)")
        let tooNew = try forwardingService("newer", url: pg.url(database: newer))
        for service in [badPassword, noDatabase, tooNew] { recordBatch(service, session: "oc:errors", count: 5) }

        let auth = try waitForForwardState(badPassword, kind: "authentication")
        XCTAssertTrue(auth["lastError"]?.string?.contains("refused the login") ?? false, auth.encoded)
        XCTAssertEqual(auth["lagCaptures"], .null, "never connected, so never counted")
        let unknown = try waitForForwardState(noDatabase, kind: "unknownDatabase")
        XCTAssertTrue(unknown["lastError"]?.string?.contains("no_such_database") ?? false, unknown.encoded)
        let refused = try waitForForwardState(tooNew, kind: "schemaTooNew", state: "refused")
        XCTAssertTrue(refused["lastError"]?.string?.contains("version 99") ?? false, refused.encoded)
        XCTAssertEqual(try pg.psql(newer, "SELECT to_regclass('taas_capture.captures') IS NULL"), "t", "nothing written")

        for service in [badPassword, noDatabase, tooNew] {
            let health = try self.health(service)
            XCTAssertFalse(health.encoded.contains(secret) || health.encoded.contains(pg.password), "no password in health")
            XCTAssertFalse(service.log.contains(secret) || service.log.contains(pg.password), "no password in the log")
            XCTAssertEqual(health["forward"]?["target"]?.string?.contains("postgres@/"), true, health.encoded)
        }
        let cli = try runCLI(["fleet", "stats", "--postgres", pg.url(database: "postgres", password: secret)])
        XCTAssertEqual(cli.status, 1)
        XCTAssertTrue(cli.stderr.contains("refused the login"), cli.stderr)
        XCTAssertFalse(cli.stderr.contains(secret), cli.stderr)
    }

    func testAPasswordInTheForwardFlagIsWarnedOfAndNeverLogged() throws {
        // Nothing listens here: only the start-up warning matters.
        let url = "postgresql://postgres:s3cret-word@/fleet?host=\(workDirectory)/no-postgres&port=5432"
        let flagged = try forwardingService("flag", url: url)
        XCTAssertTrue(flagged.log.contains("the --forward URL holds a password"), flagged.log)
        XCTAssertFalse(flagged.log.contains("s3cret-word"), "the password itself is never logged")
        flagged.terminate()

        let directory = workDirectory + "/env"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let fromEnvironment = try startService(
            socket: directory + "/s.sock", db: directory + "/c.sqlite3", arguments: ["--host-id", "env"],
            environment: ["TAAS_CAPTURE_FORWARD": url])
        XCTAssertEqual(try health(fromEnvironment)["forward"]?["hostId"], "env", "forwarding from the variable")
        XCTAssertFalse(fromEnvironment.log.contains("holds a password"), fromEnvironment.log)
        XCTAssertFalse(fromEnvironment.log.contains("s3cret-word"))
    }

    func testRetentionKeepsUnforwardedCapturesUnlessMaxRowsForcesItAndCountsThose() throws {
        // Nothing listens here: the forwarder keeps retrying and nothing is ever forwarded.
        let away = "postgresql://postgres@/fleet?host=\(workDirectory)/no-postgres&port=5432"
        let service = try forwardingService("away", url: away)
        let client = try connect(service)
        for i in 0..<10 { try client.record(session: "oc:old", capturedAt: 1_610_000_000_000 + Int64(i)) }  // January 2021
        let db = service.dbPath
        let aged = try runCLI(["prune", "--db", db, "--max-age", "1d", "--max-per-session", "1", "--max-rows", "0", "--json"])
        XCTAssertEqual(aged.status, 0, aged.stderr)
        XCTAssertEqual(try aged.json()["deleted"], 0, "age and per-session rules wait for the fleet")

        let forced = try runCLI(["prune", "--db", db, "--max-age", "0", "--max-per-session", "0", "--max-rows", "4", "--json"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertEqual(try forced.json()["deleted"], 6)
        XCTAssertEqual(try forced.json()["unforwardedDropped"], 6)
        XCTAssertEqual(try health(service)["forward"]?["droppedUnforwarded"], 6)

        // Without --forward, retention no longer waits.
        service.terminate()
        let plain = try startService(socket: service.socketPath, db: db)
        XCTAssertEqual(try health(plain)["forward"], .null)
        let free = try runCLI(["prune", "--db", db, "--max-age", "1d", "--max-per-session", "0", "--max-rows", "0", "--json"])
        XCTAssertEqual(try free.json()["deleted"], 4)
    }

    func testFleetQueriesAnswerAcrossHostsAndPruneDropsWholeMonths() throws {
        let pg = try postgres()
        let db = try pg.createDatabase()
        let url = pg.url(database: db)
        let h1 = try forwardingService("h1", url: url)
        let h2 = try forwardingService("h2", url: url)
        let t0 = nowMs() - 60_000
        let c1 = try connect(h1)
        let c2 = try connect(h2)
        try c1.record(session: "oc:s1", agent: "shared", capturedAt: t0, model: "m1")
        try c2.record(session: "oc:s2", agent: "shared", capturedAt: t0 + 1, model: "m2")
        try c1.record(session: "oc:s1", agent: "shared", capturedAt: t0 + 2, model: "m1b")
        try c2.record(session: "oc:s2", agent: "shared", capturedAt: t0 + 3, model: "m3")
        try c1.record(session: "oc:s1", agent: "old", capturedAt: 1_610_000_000_000, model: "old")
        try c1.record(session: "oc:s1", agent: "old", capturedAt: 1_610_000_000_001, model: "old")
        try waitUntilForwarded(h1)
        try waitUntilForwarded(h2)

        let last = try runCLI(["fleet", "last-route", "--postgres", url, "--agent-id", "shared", "--json"]).json()
        XCTAssertEqual(last["hostId"], "h2")
        XCTAssertEqual(last["capture"]?["hostId"], "h2")
        XCTAssertEqual(last["capture"]?["autorouterModel"], "m3")
        XCTAssertEqual(last["sessionId"], "oc:s2")
        let onH1 = try runCLI(["fleet", "last-route", "--postgres", url, "--agent-id", "shared", "--host-id", "h1", "--json"]).json()
        XCTAssertEqual(onH1["capture"]?["autorouterModel"], "m1b")

        var seen: [String] = []
        var cursor: String?
        repeat {
            var arguments = ["fleet", "history", "--postgres", url, "--agent-id", "shared", "--limit", "1", "--json"]
            if let cursor { arguments += ["--cursor", cursor] }
            let page = try runCLI(arguments).json()
            seen += (page["captures"]?.array ?? []).map { "\($0["hostId"]?.string ?? "?"):\($0["autorouterModel"]?.string ?? "?")" }
            cursor = page["nextCursor"]?.string
        } while cursor != nil && seen.count < 10
        XCTAssertEqual(seen, ["h2:m3", "h1:m1b", "h2:m2", "h1:m1"], "newest first across hosts, each once")

        let stats = try runCLI(["fleet", "stats", "--postgres", url, "--json"]).json()
        XCTAssertEqual(stats["total"], 6)
        XCTAssertEqual(stats["hosts"], 2)
        XCTAssertEqual(stats["byHost"], ["h1": 4, "h2": 2])
        XCTAssertEqual(stats["byModel"]?["old"], 2)
        let table = try runCLI(["fleet", "stats", "--postgres", url])
        XCTAssertTrue(table.stdout.contains("hosts:") && table.stdout.contains("h1"), table.stdout)

        let dry = try runCLI(["fleet", "prune", "--postgres", url, "--max-age", "90d", "--dry-run", "--json"]).json()
        XCTAssertEqual(dry["droppedPartitions"], ["captures_y2021m01"])
        XCTAssertEqual(dry["droppedCaptures"], 2)
        XCTAssertEqual(try runCLI(["fleet", "stats", "--postgres", url, "--json"]).json()["total"], 6, "a dry run drops nothing")
        let pruned = try runCLI(["fleet", "prune", "--postgres", url, "--max-age", "90d", "--json"]).json()
        XCTAssertEqual(pruned["droppedCaptures"], 2)
        XCTAssertEqual(try runCLI(["fleet", "stats", "--postgres", url, "--json"]).json()["total"], 4)
        XCTAssertEqual(
            try pg.psql(db, "SELECT to_regclass('taas_capture.captures_y2021m01') IS NULL"), "t", "the partition is gone")

        // Forwarded captures are the local retention's again.
        let local = try runCLI(["prune", "--db", h1.dbPath, "--max-age", "1d", "--max-per-session", "0", "--max-rows", "0", "--json"])
        XCTAssertEqual(try local.json()["deleted"], 2)

        let hosts = try runCLI(["fleet", "hosts", "--postgres", url, "--json"]).json()
        XCTAssertEqual(hosts["hosts"]?.array?.compactMap { $0["hostId"]?.string }, ["h1", "h2"])
        let doctor = try runCLI(["doctor", "--socket", h1.socketPath, "--db", h1.dbPath, "--postgres", url, "--host-id", "h1", "--json"])
        let checks = try doctor.json()["checks"]?.array ?? []
        let fleetCheck = checks.first { $0["name"] == "fleet database" }
        XCTAssertEqual(fleetCheck?["ok"], true, doctor.stdout)
        XCTAssertTrue(fleetCheck?["detail"]?.string?.contains("0 local captures behind") ?? false, doctor.stdout)
        XCTAssertEqual(checks.first { $0["name"] == "forwarder" }?["ok"], true, doctor.stdout)
    }

    func testForwardingOverTLSAndWithThePasswordFromPgpass() throws {
        let pg = try postgres()
        let db = try pg.createDatabase()
        // 127.0.0.1 takes only TLS (hostssl), so rows arriving prove the forwarder used it.
        let tls = try forwardingService("tls", url: pg.tcpURL(database: db, sslmode: "require"))
        recordBatch(tls, session: "oc:tls", count: 30)
        try waitUntilForwarded(tls)
        XCTAssertEqual(try fleetCounts(pg, db, host: "tls").rows, 30)
        let plain = try runCLI(["fleet", "stats", "--postgres", pg.tcpURL(database: db, sslmode: "disable")])
        XCTAssertEqual(plain.status, 1)
        XCTAssertTrue(plain.stderr.contains("no encryption"), plain.stderr)

        // No password in the URL: ~/.pgpass (owner-only, as libpq requires) supplies it.
        let pgpass = homeDirectory + "/.pgpass"
        try "*:\(pg.port):\(db):postgres:\(pg.password)\n".write(toFile: pgpass, atomically: true, encoding: .utf8)
        chmod(pgpass, 0o600)
        let fromFile = try forwardingService("pgpass", url: pg.url(database: db, password: ""))
        recordBatch(fromFile, session: "oc:pgpass", count: 10)
        try waitUntilForwarded(fromFile)
        XCTAssertEqual(try fleetCounts(pg, db, host: "pgpass").rows, 10)
        chmod(pgpass, 0o644)
        let ignored = try runCLI(["fleet", "stats", "--postgres", pg.url(database: db, password: "")])
        XCTAssertEqual(ignored.status, 1, "a .pgpass others can read is ignored, as libpq does")
        XCTAssertTrue(ignored.stderr.contains("password"), ignored.stderr)
    }

    func testAMarkMovedBackIsFollowedAndRowsAlreadyThereAreNotDuplicated() throws {
        let pg = try postgres()
        let db = try pg.createDatabase()
        let service = try forwardingService("moved", url: pg.url(database: db))
        XCTAssertEqual(recordBatch(service, session: "oc:moved-1", count: 30), 30)
        try waitUntilForwarded(service)
        // As after PostgreSQL was restored from a backup taken before the last batches: the mark is behind
        // rows that are there. The forwarder must resend from the mark and store each row once.
        try pg.psql(db, "UPDATE taas_capture.hosts SET forwarded_through = 10 WHERE host_id = 'moved'")
        XCTAssertEqual(recordBatch(service, session: "oc:moved-2", count: 20), 20)
        try waitUntilForwarded(service)
        let counts = try fleetCounts(pg, db, host: "moved")
        XCTAssertEqual(counts.rows, 50)
        XCTAssertEqual(counts.distinct, 50)
        XCTAssertEqual(try pg.count(db, "SELECT forwarded_through FROM taas_capture.hosts WHERE host_id = 'moved'"), 50)
        XCTAssertTrue(service.log.contains("moved under the forwarder"), service.log)
    }
}
