#!/usr/bin/env python3
"""Writes a fixture database for the migration tests with an older taas-capture binary, through its socket:
240 captures over 12 sessions and 5 agents, 3 served models, usage and cost, 2 algorithm pins, the rollups
folded, then a clean stop (the WAL checkpointed into the file).

  scripts/make-schema-fixture.py OLD_BINARY Tests/Fixtures/schemaN-captures.sqlite3
"""
import json, os, socket, subprocess, sys, time, signal
binary, out = sys.argv[1], sys.argv[2]
import tempfile
d = tempfile.mkdtemp(prefix="taas-fixture.")

sock, db = d + "/s.sock", d + "/db.sqlite3"
p = subprocess.Popen([binary, "serve", "--socket", sock, "--db", db, "--log-level", "warning"])
for _ in range(100):
    if os.path.exists(sock): break
    time.sleep(0.1)
time.sleep(0.3)
s = socket.socket(socket.AF_UNIX); s.connect(sock); f = s.makefile("rwb")
def call(method, params, i=[0]):
    i[0] += 1
    f.write((json.dumps({"jsonrpc": "2.0", "id": i[0], "method": method, "params": params}) + "\n").encode()); f.flush()
    r = json.loads(f.readline())
    assert "result" in r, r
    return r["result"]
base = 1_764_000_000_000  # 2025-11-24
models = ["qwen3-coder", "claude-sonnet-4", "gpt-5"]
for i in range(240):
    session = "oc:%016x" % (i % 12)
    params = {"sessionId": session, "agentId": "agent-%d" % (i % 5), "capturedAt": base + i * 900_000,
              "headers": {"x-taas-autorouted": "true", "x-taas-autorouter-model": models[(i // 7) % 3],
                          "x-taas-autorouter-mode": "balanced", "x-request-id": "req-%d" % i},
              "usage": {"input": 100 + i, "output": 20, "cacheRead": 3 * i, "cacheWrite": 5}, "provider": "cloudsigma",
              "requestedModel": "cloudsigma/auto", "costUsd": round(0.001 * (i % 17), 6), "cacheSavedUsd": 0.0005,
              "durationMs": 1000 + i, "outcome": "ok" if i % 11 else "error"}
    call("taas.autorouter.record", params)
call("taas.autorouter.setAlgorithm", {"agentId": "agent-1", "algorithm": "ttft"})
call("taas.autorouter.setAlgorithm", {"sessionId": "oc:%016x" % 3, "algorithm": "cost"})
time.sleep(3)
print(call("taas.capture.health", {}))
s.close()
p.send_signal(signal.SIGTERM); p.wait(timeout=30)
assert not os.path.exists(db + "-wal") or os.path.getsize(db + "-wal") == 0, "WAL left"
os.replace(db, out)
