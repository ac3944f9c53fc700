#!/usr/bin/env python3
"""Small socket probes for scripts/bench (standard library only).

  bench-rpc.py wait SOCK TIMEOUT_MS       wait until the service answers taas.capture.health
  bench-rpc.py call SOCK JSON             send one request line, print the response line
  bench-rpc.py startup BIN DIR            ms from process start to the first answered request
  bench-rpc.py stall SOCK                 longest lastRoute latency while the service prunes
"""
import json
import os
import socket
import subprocess
import sys
import threading
import time

HEALTH = b'{"jsonrpc":"2.0","id":0,"method":"taas.capture.health","params":{}}\n'


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
                roundtrip(s, HEALTH, [b""])
                s.close()
                break
            except OSError:
                if proc.poll() is not None:
                    raise SystemExit("service exited during start-up")
                time.sleep(0.0005)
        print(f"{(time.monotonic() - t0) * 1000:.1f}")
    finally:
        proc.terminate()
        proc.wait()


def stall(path):
    done = threading.Event()
    worst = [0.0]
    count = [0]

    def reader():
        s = connect(path)
        buf = [b""]
        i = 0
        while not done.is_set():
            i += 1
            line = b'{"jsonrpc":"2.0","id":%d,"method":"taas.autorouter.lastRoute","params":{"sessionId":"oc:%016x"}}\n' % (i, i % 10000)
            t = time.monotonic()
            roundtrip(s, line, buf)
            worst[0] = max(worst[0], time.monotonic() - t)
            count[0] += 1
        s.close()

    th = threading.Thread(target=reader)
    th.start()
    time.sleep(0.5)
    worst[0] = 0.0
    s = connect(path)
    result = json.loads(roundtrip(s, b'{"jsonrpc":"2.0","id":1,"method":"taas.capture.prune","params":{}}\n', [b""]))
    s.close()
    time.sleep(0.2)
    done.set()
    th.join()
    r = result.get("result", {})
    print(json.dumps({"maxStallMs": round(worst[0] * 1000, 2), "deleted": r.get("deleted"),
                      "pruneMs": r.get("durationMs"), "lastRouteCalls": count[0]}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "wait":
        print(wait(sys.argv[2], int(sys.argv[3])).decode())
    elif cmd == "call":
        s = connect(sys.argv[2])
        print(roundtrip(s, sys.argv[3].encode() + b"\n", [b""]).decode())
    elif cmd == "startup":
        startup(sys.argv[2], sys.argv[3])
    elif cmd == "stall":
        stall(sys.argv[2])
    else:
        raise SystemExit(__doc__)
