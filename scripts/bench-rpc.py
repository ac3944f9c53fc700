#!/usr/bin/env python3
"""Small socket probes for scripts/bench (standard library only).

  bench-rpc.py wait SOCK TIMEOUT_MS       wait until the service answers taas.capture.health
  bench-rpc.py call SOCK JSON             send one request line, print the response line
  bench-rpc.py startup BIN DIR            ms from process start to the first answered lastRoute
  bench-rpc.py stall SOCK [METHOD PARAMS] longest lastRoute latency while one call runs (default:
                                          taas.capture.prune {}), and how long that call took
  bench-rpc.py pages SOCK AGENT SESSION   taas.capture.page per view (overview 30d and 24h, the agent's and the
                                          session's 30d): median and worst of 5 calls, and the longest lastRoute
                                          stall meanwhile
  bench-rpc.py forwarded TIMEOUT_MS SOCK...  ms until every service's health.forward shows lag 0 and a mark
                                          equal to its newest capture id (the fleet has everything)
  bench-rpc.py lagwatch SOCK STOPFILE     samples health.forward.lagCaptures every 50 ms until STOPFILE
                                          exists; prints {"samples","p50","p95","max"}
  bench-rpc.py folded SOCK TIMEOUT_MS     ms until health.statsRollupsBehind is 0 (every capture folded into
                                          the stats rollups, as on a database the service has run on)
  bench-rpc.py load DB ROWS SESSIONS FIRST_MS STEP_MS
                                          appends ROWS captures straight into a database the service
                                          created (and is not running on): session i % SESSIONS,
                                          capturedAt FIRST_MS + i * STEP_MS, unique request ids

Loading through the socket would take minutes per million rows and measure nothing the table reports;
`load` fills the same schema in seconds (indexes dropped, rows inserted in id order, indexes rebuilt).
"""
import json
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import time

HEALTH = b'{"jsonrpc":"2.0","id":0,"method":"taas.capture.health","params":{}}\n'
# The start-up probe is the plugin's first question after a gateway restart; `health` would time a
# count(*) over the whole table instead.
FIRST_QUESTION = b'{"jsonrpc":"2.0","id":0,"method":"taas.autorouter.lastRoute","params":{"sessionId":"oc:0000000000000001"}}\n'


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def roundtrip(sock, line, buf):
    sock.sendall(line)
    while b"\n" not in buf[0]:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed")
        buf[0] += chunk
    out, _, buf[0] = buf[0].partition(b"\n")
    return out


def wait(path, timeout_ms):
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        try:
            s = connect(path)
            line = roundtrip(s, HEALTH, [b""])
            s.close()
            return line
        except OSError:
            time.sleep(0.001)
    raise SystemExit(f"no answer on {path} within {timeout_ms} ms")


def startup(binary, directory):
    sock = os.path.join(directory, "c.sock")
    t0 = time.monotonic()
    proc = subprocess.Popen([binary, "serve", "--socket", sock, "--db", os.path.join(directory, "c.sqlite3"),
                             "--log-level", "warning", "--max-age", "0", "--max-per-session", "0", "--max-rows", "0"])
    try:
        while True:
            try:
                s = connect(sock)
                answer = roundtrip(s, FIRST_QUESTION, [b""])
                s.close()
                if b'"result"' not in answer:
                    raise SystemExit(f"start-up probe failed: {answer!r}")
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("service exited during start-up")
                time.sleep(0.0005)
        print(f"{(time.monotonic() - t0) * 1000:.1f}")
    finally:
        proc.terminate()
        proc.wait()


class LastRouteWatch:
    """A second connection asking lastRoute in a closed loop: the longest answer while it runs is the stall a
    call on another connection caused. `start()` warms it up, then measures only the calls sent after that;
    `stop()` ends it. It runs in a process of its own: as a thread it shared the interpreter's lock with the
    caller, so the time the caller spent reading and parsing a large answer (a dashboard page) could be counted
    as the service's stall. `count`: the calls answered from the end of the warm-up to `stop()`."""

    def __init__(self, path):
        ctx = multiprocessing.get_context("fork")
        self.measuring, self.done = ctx.Event(), ctx.Event()
        self._worst, self._count = ctx.Value("d", 0.0), ctx.Value("q", 0)
        self.worst, self.count = 0.0, 0
        self.process = ctx.Process(target=self._loop, args=(path,), daemon=True)

    def _loop(self, path):
        s = connect(path)
        buf = [b""]
        i, worst, count = 0, 0.0, 0
        while not self.done.is_set():
            i += 1
            line = b'{"jsonrpc":"2.0","id":%d,"method":"taas.autorouter.lastRoute","params":{"sessionId":"oc:%016x"}}\n' % (i, i % 10000)
            measured = self.measuring.is_set()
            t = time.monotonic()
            roundtrip(s, line, buf)
            if measured:
                worst = max(worst, time.monotonic() - t)
                count += 1
        s.close()
        self._worst.value, self._count.value = worst, count

    def start(self):
        self.process.start()
        time.sleep(0.5)
        if not self.process.is_alive():
            raise SystemExit(f"the lastRoute watcher failed at its start (exit {self.process.exitcode})")
        self.measuring.set()

    def stop(self):
        time.sleep(0.2)
        self.done.set()
        self.process.join()
        if self.process.exitcode != 0:
            raise SystemExit(f"the lastRoute watcher failed (exit {self.process.exitcode})")
        self.worst, self.count = self._worst.value, self._count.value
        return round(self.worst * 1000, 2)


def stall(path, method="taas.capture.prune", params="{}"):
    watch = LastRouteWatch(path)
    watch.start()
    s = connect(path)
    started = time.monotonic()
    request = ('{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}\n' % (method, params)).encode()
    result = json.loads(roundtrip(s, request, [b""]))
    call_ms = (time.monotonic() - started) * 1000
    s.close()
    worst = watch.stop()
    r = result.get("result", {})
    print(json.dumps({"maxStallMs": worst, "deleted": r.get("deleted"),
                      "pruneMs": r.get("durationMs"), "callMs": round(call_ms, 1),
                      "groups": len(r.get("groups") or []), "lastRouteCalls": watch.count}))


def pages(path, agent, session, rounds=5):
    """Times taas.capture.page for each view (median and worst of ROUNDS calls, one connection) while a second
    connection asks lastRoute in a closed loop; prints one JSON object with the figures and the longest stall."""
    views = {
        "overview30d": {"view": "overview", "range": "30d"},
        "overview24h": {"view": "overview", "range": "24h"},
        "agent30d": {"view": "agent", "agentId": agent, "range": "30d"},
        "session30d": {"view": "session", "sessionId": session, "range": "30d"},
    }
    watch = LastRouteWatch(path)
    watch.start()
    s = connect(path)
    buf = [b""]
    out = {}
    for name, params in views.items():
        times = []
        for i in range(rounds):
            request = json.dumps({"jsonrpc": "2.0", "id": i + 1, "method": "taas.capture.page", "params": params})
            started = time.monotonic()
            answer = json.loads(roundtrip(s, request.encode() + b"\n", buf))
            times.append((time.monotonic() - started) * 1000)
            if "html" not in answer.get("result", {}):
                raise SystemExit(f"taas.capture.page {params} answered {answer}")
        times.sort()
        out[name + "Ms"] = round(times[len(times) // 2], 1)
        out[name + "WorstMs"] = round(times[-1], 1)
    s.close()
    out["maxStallMs"] = watch.stop()
    print(json.dumps(out))


def forward_state(path):
    s = connect(path)
    health = json.loads(roundtrip(s, HEALTH, [b""]))["result"]
    s.close()
    forward = health.get("forward") or {}
    forward["captures"] = health.get("captures")
    return forward


def folded(path, timeout_ms):
    started = time.monotonic()
    deadline = started + timeout_ms / 1000
    while time.monotonic() < deadline:
        s = connect(path)
        health = json.loads(roundtrip(s, HEALTH, [b""]))["result"]
        s.close()
        if health.get("statsRollupsBehind", 0) == 0:
            return round((time.monotonic() - started) * 1000)
        time.sleep(0.05)
    raise SystemExit(f"the rollups of {path} were not caught up within {timeout_ms} ms")


def newest_id(path):
    """The newest capture id of the service on PATH (its database is c.sqlite3 beside the socket)."""
    db = os.path.join(os.path.dirname(path), "c.sqlite3")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    (value,) = con.execute("SELECT coalesce(max(id), 0) FROM captures").fetchone()
    con.close()
    return value


def forwarded(timeout_ms, paths):
    started = time.monotonic()
    pending = set(paths)
    newest = {p: newest_id(p) for p in paths}
    while pending:
        if (time.monotonic() - started) * 1000 > timeout_ms:
            raise SystemExit(f"not forwarded within {timeout_ms} ms: {[forward_state(p) for p in pending]}")
        for p in list(pending):
            f = forward_state(p)
            # The bench's databases hold ids 1..N or a suffix of them, so the mark at the newest id is "all";
            # the lag alone may be a poll old.
            if f.get("state") == "forwarding" and f.get("lagCaptures") == 0 and (f.get("lastForwardedId") or 0) >= newest[p]:
                pending.discard(p)
        time.sleep(0.02)
    print(round((time.monotonic() - started) * 1000))


def lagwatch(path, stopfile):
    samples = []
    while not os.path.exists(stopfile):
        lag = forward_state(path).get("lagCaptures")
        if lag is not None:
            samples.append(lag)
        time.sleep(0.05)
    samples.sort()
    pick = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] if samples else None
    print(json.dumps({"samples": len(samples), "p50": pick(0.5), "p95": pick(0.95), "max": samples[-1] if samples else None}))


def load(db, rows, sessions, first_ms, step_ms):
    con = sqlite3.connect(db, isolation_level=None)
    # The service's database is in WAL mode; a rollback journal that is off makes the bulk load one
    # sequential write. The service switches the file back to WAL when it opens it.
    con.execute("PRAGMA journal_mode = DELETE")
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -262144")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'captures' "
                          "AND sql IS NOT NULL").fetchall()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute(f"DROP INDEX {name}")
    con.execute(
        """WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
           INSERT INTO captures (session_id, agent_id, captured_at, taas_request_id, taas_trace_id,
               openclaw_turn_id, openclaw_attempt, autorouter_model, autorouter_algo, autorouter_algo_source,
               thinking_applied, routed_context_window, dedupe_key)
           SELECT printf('oc:%016x', i % ?2), 'agent-' || (i % 100), ?3 + i * ?4, 'req-bulk-' || i || '-' || ?3,
               'trace-abc', 't1', '1', 'anthropic/claude-sonnet-4', 'best_fit', 'org', 'medium', 200000,
               'req-bulk-' || i || '-' || ?3
           FROM n""", (rows, sessions, first_ms, step_ms))
    # Schema 5: the service sets route_changed on insert; every loaded capture has the same model (no change).
    if any(row[1] == "route_changed" for row in con.execute("PRAGMA table_info(captures)")):
        con.execute("UPDATE captures SET route_changed = 0 WHERE route_changed IS NULL")
    for _, sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    print(rows)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "wait":
        print(wait(sys.argv[2], int(sys.argv[3])).decode())
    elif cmd == "call":
        s = connect(sys.argv[2])
        print(roundtrip(s, sys.argv[3].encode() + b"\n", [b""]).decode())
    elif cmd == "startup":
        startup(sys.argv[2], sys.argv[3])
    elif cmd == "load":
        load(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == "folded":
        print(folded(sys.argv[2], int(sys.argv[3])))
    elif cmd == "forwarded":
        forwarded(int(sys.argv[2]), sys.argv[3:])
    elif cmd == "lagwatch":
        lagwatch(sys.argv[2], sys.argv[3])
    elif cmd == "pages":
        pages(sys.argv[2], sys.argv[3], sys.argv[4])
    elif cmd == "stall":
        stall(*sys.argv[2:5])
    else:
        raise SystemExit(__doc__)
