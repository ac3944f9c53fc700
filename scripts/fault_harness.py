"""The parts scripts/test-faults is built from (standard library only): the fault shim, the service
under test, a JSON-RPC client, the record load, the health probe and the check of the database file.
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIM_SOURCE = os.path.join(REPO, "Tests", "FaultInjection", "faultshim.c")
CALL_TIMEOUT = 15.0  # seconds without an answer count as a hang


class Failure(Exception):
    """Something the service must not do."""


# ---- the shim ----------------------------------------------------------------------------------


def build_shim(directory):
    """Compiles Tests/FaultInjection/faultshim.c into DIRECTORY; returns the .so path."""
    output = os.path.join(directory, "faultshim.so")
    # cc where the system has one; else the clang of the Swift toolchain that built the service.
    compiler = shutil.which("cc") or shutil.which("clang")
    if compiler is None:
        raise SystemExit("cannot build the fault shim: no cc or clang on PATH")
    command = [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-o", output, SHIM_SOURCE, "-ldl", "-lpthread"]
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode != 0:
        raise SystemExit(f"cannot build the fault shim: {' '.join(command)}\n{built.stderr}")
    return output


# Runs under the shim in a child Python: the faults hit the prefix's files and nothing else, and clear.
SELF_TEST = r"""
import errno, json, os, socket, time
prefix, control = os.environ["TAAS_FAULT_PATH_PREFIX"], os.environ["TAAS_FAULT_CONTROL"]
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as error:
        return errno.errorcode[error.errno]
wal = os.open(prefix + "-wal", os.O_RDWR | os.O_CREAT, 0o600)
other = os.open(os.path.join(os.path.dirname(prefix), "unrelated"), os.O_RDWR | os.O_CREAT, 0o600)
left, right = socket.socketpair()
seen = {
    "wal write": attempt(lambda: os.write(wal, b"x")),
    "wal pwrite": attempt(lambda: os.pwrite(wal, b"x", 0)),
    "wal fsync": attempt(lambda: os.fsync(wal)),
    "wal ftruncate": attempt(lambda: os.ftruncate(wal, 0)),
    "other file write": attempt(lambda: os.write(other, b"x")),
    "socket write": attempt(lambda: os.write(left.fileno(), b"x")),
}
number = wal
os.close(wal)
again, spare = socket.socketpair()  # takes the lowest free number: the closed file's
seen["reused number is the socket's"] = again.fileno() == number
seen["reused number write"] = attempt(lambda: os.write(again.fileno(), b"x"))
with open(control + ".next", "w") as file:
    file.write("")
os.replace(control + ".next", control)
time.sleep(0.1)
wal = os.open(prefix + "-wal", os.O_RDWR)
seen["wal write after clearing"] = attempt(lambda: os.write(wal, b"x"))
print(json.dumps(seen))
"""
SELF_TEST_EXPECTED = {
    "wal write": "EIO", "wal pwrite": "EIO", "wal fsync": "EIO", "wal ftruncate": "ENOSPC",
    "other file write": "ok", "socket write": "ok", "reused number is the socket's": True,
    "reused number write": "ok", "wal write after clearing": "ok",
}


def self_test_shim(shim, directory):
    """Checks the shim in a child Python; returns what it got wrong ([] when right)."""
    os.makedirs(directory)
    control = Control(os.path.join(directory, "control"))
    control.set("write EIO 1.0\nfsync EIO 1.0\ntruncate ENOSPC 1.0")
    stats = os.path.join(directory, "stats")
    env = dict(os.environ, LD_PRELOAD=shim, TAAS_FAULT_PATH_PREFIX=os.path.join(directory, "captures.sqlite3"),
               TAAS_FAULT_CONTROL=control.path, TAAS_FAULT_STATS=stats)
    child = subprocess.run(["python3", "-c", SELF_TEST], env=env, capture_output=True, text=True, timeout=60)
    if child.returncode != 0:
        return [f"the shim's self-test exited {child.returncode}: {child.stderr[-2000:]}"]
    seen = json.loads(child.stdout)
    wrong = [f"{case}: got {seen.get(case)!r}, want {want!r}" for case, want in SELF_TEST_EXPECTED.items()
             if seen.get(case) != want]
    counted = read_stats(stats)
    if (counted.get("injected_write"), counted.get("injected_fsync"), counted.get("injected_truncate")) != (2, 1, 1):
        wrong.append(f"the stats do not count 2 write, 1 fsync and 1 truncate faults: {counted}")
    return wrong


class Control:
    """The shim's control file: what fails now. Replaced whole (rename), so the shim never reads half."""

    def __init__(self, path):
        self.path = path
        self.set("")

    def set(self, text):
        scratch = self.path + ".next"
        with open(scratch, "w") as file:
            file.write(text + "\n" if text else "")
        os.replace(scratch, self.path)


def read_stats(path):
    """The shim's counters ({'injected_write': n, …}); {} before its first line."""
    for _ in range(50):
        try:
            with open(path) as file:
                line = file.readline().strip()
        except FileNotFoundError:
            return {}
        if not line:
            return {}
        if line.endswith(" end"):  # else the shim was rewriting it: read again
            return {key: int(value) for key, value in
                    (word.split("=") for word in line.split()[1:-1])}
        time.sleep(0.01)
    raise Failure(f"unreadable shim stats in {path}")


def injected(before, after):
    """The faults injected between two stats readings, by op ({'write': 12})."""
    counts = {}
    for key, value in after.items():
        if key.startswith("injected_") and value - before.get(key, 0) > 0:
            counts[key[len("injected_"):]] = value - before.get(key, 0)
    return counts


# ---- the service -------------------------------------------------------------------------------


class Service:
    """One `taas-capture serve`, output to files, optionally under the shim."""

    def __init__(self, binary, directory, db, sock, arguments=(), environment=None):
        self.sock, self.db = sock, db
        self.log_path = os.path.join(directory, "serve.log")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TAAS_CAPTURE_", "OPENCLAW_", "LD_PRELOAD"))}
        env["HOME"] = directory
        env.update(environment or {})
        command = [binary, "serve", "--db", db, "--socket", sock, "--prune-interval", "0",
                   "--max-age", "0", "--max-per-session", "0", "--max-rows", "0", *arguments]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)

    def log(self, lines=30):
        with open(self.log_path, errors="replace") as file:
            return "".join(file.readlines()[-lines:])

    def wait_for_wal(self, size, timeout=30.0):
        """Waits until health reports a WAL of at least SIZE bytes (the load fills it)."""
        deadline = time.monotonic() + timeout
        with Client(self.sock) as client:
            while time.monotonic() < deadline:
                if client.call("taas.capture.health", {})["result"]["walBytes"] >= size:
                    return
                time.sleep(0.05)
        raise Failure(f"the WAL did not reach {size} bytes within {timeout}s")

    def wait_until_healthy(self, timeout=20.0):
        deadline = time.monotonic() + timeout
        problem = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise Failure(f"serve exited with {self.process.returncode} at start-up:\n{self.log()}")
            try:
                with Client(self.sock, timeout=2) as client:
                    health = client.call("taas.capture.health", {})
                if health.get("result", {}).get("status") == "ok":
                    return
                problem = f"health answered {health}"
            except OSError as error:
                problem = str(error)
            time.sleep(0.03)
        raise Failure(f"serve not healthy within {timeout}s ({problem}):\n{self.log()}")

    def terminate(self, timeout=15.0):
        """SIGTERM; the exit status, or Failure when it does not exit in time (then SIGKILL)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise Failure(f"serve still running {timeout}s after SIGTERM (killed):\n{self.log()}")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


# ---- the client --------------------------------------------------------------------------------


class Client:
    """One connection: a request line out, its answer line back (no pipelining)."""

    def __init__(self, path, timeout=CALL_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buffer = b""
        self.next_id = 0

    def call(self, method, params):
        """The whole response object. ConnectionError when the service closes, TimeoutError on a hang."""
        self.next_id += 1
        line = json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params})
        self.sock.sendall(line.encode() + b"\n")
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the service closed the connection")
            self.buffer += chunk
        answer, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(answer)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


# ---- load and probes ---------------------------------------------------------------------------


class Phase:
    """The round's current phase ('before', 'fault', 'after'), and when it began."""

    def __init__(self):
        self.name, self.started = "before", time.monotonic()

    def enter(self, name):
        self.name, self.started = name, time.monotonic()

    def now(self):
        return self.name, time.monotonic() - self.started


def record_params(session, key):
    return {
        "sessionId": session, "agentId": "fault-agent", "idempotencyKey": key,
        "headers": {"x-taas-autorouted": "true", "x-taas-autorouter-model": "model-a",
                    "x-taas-autorouter-mode": "algo-a", "x-request-id": key},
    }


class Writer(threading.Thread):
    """Records captures on its own connection until stopped, one unique key each. A retryable refusal is
    retried with the same key after a pause, as the plugin does; anything else moves on to a new key."""

    RETRY_PAUSE = 0.02

    def __init__(self, sock, session, prefix, phase, stop, service_may_die):
        super().__init__(daemon=True)
        self.sock, self.session, self.prefix = sock, session, prefix
        self.phase, self.stop, self.service_may_die = phase, stop, service_may_die
        self.acks = {}            # key -> id
        self.refusals = []        # (phase, seconds into it, retryable, message)
        self.late_duplicates = []  # keys first acknowledged as duplicate: a refusal that was stored anyway
        self.last_ack = None      # (phase, seconds into it) of the newest acknowledgement
        self.acks_in = {}         # phase -> acknowledgements answered in it
        self.problems = []

    def run(self):
        try:
            with Client(self.sock) as client:
                self.loop(client)
        except (ConnectionError, TimeoutError, OSError) as error:
            if not (self.service_may_die.is_set() and not isinstance(error, TimeoutError)):
                self.problems.append(f"{self.session}: {type(error).__name__}: {error} at {self.phase.now()}")

    def loop(self, client):
        sequence = 0
        while not self.stop.is_set():
            key = f"{self.prefix}-{sequence}"
            answer = client.call("taas.autorouter.record", record_params(self.session, key))
            if self.take(key, answer):
                sequence += 1
            else:
                time.sleep(self.RETRY_PAUSE)

    def take(self, key, answer):
        """Notes one answer; True when this key is done (acknowledged, or refused for good)."""
        result, error = answer.get("result"), answer.get("error")
        if result is not None:
            if result.get("recorded") is not True or not isinstance(result.get("id"), int):
                self.problems.append(f"{key}: unexpected result {result}")
                return True
            self.acks[key] = result["id"]
            self.last_ack = self.phase.now()
            self.acks_in[self.last_ack[0]] = self.acks_in.get(self.last_ack[0], 0) + 1
            if result.get("duplicate"):
                self.late_duplicates.append(key)
            return True
        phase, seconds = self.phase.now()
        if error and error.get("code") == -32000:
            retryable = (error.get("data") or {}).get("retryable")
            self.refusals.append((phase, seconds, retryable, error.get("message")))
            return retryable is not True
        self.problems.append(f"{key}: unexpected error {error} in phase {phase}")
        return True


class HealthProbe(threading.Thread):
    """Asks taas.capture.health every 100 ms on its own connection; keeps (phase, answer)."""

    def __init__(self, sock, phase, stop, service_may_die):
        super().__init__(daemon=True)
        self.sock, self.phase, self.stop, self.service_may_die = sock, phase, stop, service_may_die
        self.samples = []
        self.problems = []

    def run(self):
        try:
            with Client(self.sock) as client:
                while not self.stop.wait(0.1):
                    answer = client.call("taas.capture.health", {})
                    if "result" not in answer:
                        self.problems.append(f"health failed in phase {self.phase.name}: {answer}")
                        continue
                    self.samples.append((self.phase.name, answer["result"]))
        except (ConnectionError, TimeoutError, OSError) as error:
            if not (self.service_may_die.is_set() and not isinstance(error, TimeoutError)):
                self.problems.append(f"health: {type(error).__name__}: {error} in phase {self.phase.name}")


# ---- the database file -------------------------------------------------------------------------


def check_database(db, acks, scratch):
    """Copies the files to SCRATCH (the service is gone; a full disk leaves no room to open them in place),
    opens the copy as a new process would (WAL recovery included) and compares it with the acks
    ({key: id}). Returns integrity, stored rows, lost keys and rows stored that were never acknowledged."""
    os.makedirs(scratch)
    copy = os.path.join(scratch, os.path.basename(db))
    for suffix in ("", "-wal", "-journal"):  # not -shm: SQLite rebuilds it from the WAL
        if os.path.exists(db + suffix):
            shutil.copyfile(db + suffix, copy + suffix)
    try:
        connection = sqlite3.connect(copy, timeout=10)
        try:
            integrity = "; ".join(row[0] for row in connection.execute("PRAGMA integrity_check"))
            rows = dict(connection.execute(
                "SELECT dedupe_key, id FROM captures WHERE session_id LIKE 'oc:fault-%'"))
        finally:
            connection.close()
    except sqlite3.Error as error:
        return {"integrity": f"cannot read the file: {error}", "stored": 0, "lost": sorted(acks),
                "unacknowledged": []}
    lost = sorted(key for key, id in acks.items() if rows.get(key) != id)
    unacknowledged = sorted(key for key in rows if key not in acks)
    return {"integrity": integrity, "stored": len(rows), "lost": lost, "unacknowledged": unacknowledged}
