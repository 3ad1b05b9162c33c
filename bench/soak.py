#!/usr/bin/python3
"""Soak: thousands of tasks through the real stack while runners and the handler are killed.

    /usr/bin/python3 bench/soak.py [--bin build/bin] [--tasks 5000] [--kills 12] [--interval 8]

Starts `task-runner serve` (nginx, handlers, runner 1) on a free port with its own database, and a
second runner beside it. Client threads submit a mix of quick builtin tasks and short commands,
each under a task_id of their own, retrying the same request on 502, 503, 504 and refused
connections, as the README tells clients to. Meanwhile, every --interval seconds, one component
is killed with SIGKILL, in turn: runner 1, the handler, runner 2, the handler... (the launcher
restarts its own components; this script restarts runner 2). When every accepted task has ended,
it prints a report (Markdown):

- accepted: tasks answered 202 (or 200 for a retry of one accepted before);
- completed, and failed by error code;
- lost: accepted tasks with no row or not ended (must be 0);
- recorded twice: tasks with more than one final transition, or an attempt with more than one
  completion step (must be 0);
- executed twice: commands that ran more than once (each appends its task id to a file in the
  work directory), with their task ids: at-least-once execution made visible;
- PRAGMA integrity_check.

Not part of the test suite: it takes minutes. The README carries a run.
"""

import argparse
import collections
import http.client
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

RETRIED = {502, 503, 504}
TERMINAL = ("completed", "failed", "cancelled", "timeout")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config_text(port, directory):
    return f"""service = {{
    bind_address = "127.0.0.1:{port}"; log_level = "info"; handler_threads = 8;
    max_concurrent_tasks = 4;
    rate_limiting = {{ requests_per_minute = 1000000; burst_size = 100000; }};
}};
execution = {{ lease_seconds = 5; poll_interval_ms = 20; shutdown_grace_seconds = 5; }};
tools = {{ working_directory = "{directory}/work"; allowed_paths = ["{directory}/work"];
          command_timeout_seconds = 20; }};
storage = {{ database = "{directory}/data/task-runner.db"; }};
"""


def pids_of(predicate):
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if predicate([a.decode(errors="replace") for a in argv if a]):
                found.append(int(entry.name))
    return found


class Soak:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.bin).resolve()
        self.directory = Path(tempfile.mkdtemp(prefix="task-runner-soak."))
        (self.directory / "work").mkdir()
        os.chmod(self.directory / "work", 0o777)  # the sandbox's user appends to runs.log
        self.port = free_port()
        self.config = self.directory / "task-runner.cfg"
        self.config.write_text(config_text(self.port, self.directory))
        self.log = open(self.directory / "stack.log", "ab")
        self.launcher = None
        self.second_runner = None
        self.accepted = set()
        self.lock = threading.Lock()
        self.retries = collections.Counter()
        self.kills = collections.Counter()
        self.stop_killing = threading.Event()

    # -- the stack ----------------------------------------------------------------------------

    def start(self):
        self.launcher = subprocess.Popen([str(self.bin / "task-runner"), "serve", "--config", str(self.config)],
                                         stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        deadline = time.monotonic() + 30
        while not self.healthy():
            if self.launcher.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"soak: the stack did not start; see {self.directory}/stack.log")
            time.sleep(0.1)
        self.start_second_runner()

    def start_second_runner(self):
        self.second_runner = subprocess.Popen([str(self.bin / "task-runner-runner"), "--config", str(self.config)],
                                              stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
                                              start_new_session=True)

    def healthy(self):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            connection.request("GET", "/health")
            return connection.getresponse().status == 200
        except OSError:
            return False

    def stop(self):
        self.stop_killing.set()
        for process in (self.second_runner, self.launcher):
            if process and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()

    def runner_pids(self):
        config = str(self.config)
        return pids_of(lambda argv: len(argv) >= 3 and argv[0].endswith("task-runner-runner")
                       and argv[1] == "--config" and argv[2] == config)

    def handler_pids(self):
        config = str(self.config)
        return pids_of(lambda argv: argv and argv[0].endswith("task-runner-fcgi") and config in argv)

    # -- the clients --------------------------------------------------------------------------

    def task_text(self, task_id, n):
        if n % 10 < 3:  # a short command, which says when it ran, then takes a moment
            return f"run the command: echo {task_id} >> runs.log; sleep 0.5"
        return ["list the files in .", "read the file seed.txt", f"write '{n}' to out/{task_id}.txt"][n % 3]

    def submit(self, task_id, text):
        body = json.dumps({"task": text, "task_id": task_id})
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                connection.request("POST", "/api/v1/tasks", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = "refused"
            if status in (200, 202):
                with self.lock:
                    self.accepted.add(task_id)
                return
            if status in RETRIED or status == "refused":
                with self.lock:
                    self.retries[status] += 1
                time.sleep(0.05)
                continue
            raise SystemExit(f"soak: POST answered {status} for {task_id}")

    def client(self, numbers, pace):
        for n in numbers:
            started = time.monotonic()
            task_id = str(uuid.uuid4())
            self.submit(task_id, self.task_text(task_id, n))
            left = pace - (time.monotonic() - started)
            if left > 0:
                time.sleep(left)

    # -- the killer ---------------------------------------------------------------------------

    def killer(self):
        targets = ["runner 1", "handler", "runner 2", "handler"]
        for turn in range(self.args.kills * 2):
            if self.stop_killing.wait(self.args.interval):
                return
            target = targets[turn % len(targets)]
            if target == "handler":
                pids = self.handler_pids()
            elif target == "runner 2":
                pids = [self.second_runner.pid] if self.second_runner.poll() is None else []
            else:
                pids = [p for p in self.runner_pids() if p != self.second_runner.pid]
            if not pids:
                continue  # being restarted just now
            os.kill(random.choice(pids), signal.SIGKILL)
            self.kills["runner" if target.startswith("runner") else "handler"] += 1
            if target == "runner 2":
                self.second_runner.wait()
                self.start_second_runner()

    # -- the run ------------------------------------------------------------------------------

    def run(self):
        (self.directory / "work" / "seed.txt").write_text("soak\n")
        (self.directory / "work" / "out").mkdir()
        os.chmod(self.directory / "work" / "out", 0o777)
        self.start()
        started = time.monotonic()
        clients = self.args.clients
        window = self.args.kills * 2 * self.args.interval + self.args.interval
        pace = window * clients / self.args.tasks  # seconds per task per client: spread over the kills
        threads = [threading.Thread(target=self.client, args=(range(i, self.args.tasks, clients), pace))
                   for i in range(clients)]
        killer = threading.Thread(target=self.killer)
        for thread in threads + [killer]:
            thread.start()
        for thread in threads:
            thread.join()
        killer.join()
        submitted_in = time.monotonic() - started
        db = sqlite3.connect(f"file:{self.directory}/data/task-runner.db?mode=ro", uri=True, timeout=30)
        deadline = time.monotonic() + 600
        while True:
            open_tasks = db.execute("SELECT count(*) FROM tasks WHERE status NOT IN "
                                    "('completed', 'failed', 'cancelled', 'timeout')").fetchone()[0]
            if open_tasks == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        report = self.report(db, submitted_in, elapsed)
        db.close()
        return report

    def report(self, db, submitted_in, elapsed):
        rows = {task_id: (status, code, attempts) for task_id, status, code, attempts in
                db.execute("SELECT id, status, error_code, attempts FROM tasks")}
        lost = sorted(t for t in self.accepted if t not in rows or rows[t][0] not in TERMINAL)
        by_status = collections.Counter(rows[t][0] for t in self.accepted if t in rows)
        failed_by_code = collections.Counter(rows[t][1] for t in self.accepted if t in rows and rows[t][0] != "completed")
        recorded_twice = [t for (t,) in db.execute(
            "SELECT task_id FROM task_transitions WHERE to_status IN ('completed', 'failed', 'cancelled', 'timeout') "
            "GROUP BY task_id HAVING count(*) > 1 UNION "
            "SELECT task_id FROM steps WHERE step_type = 'completion' AND status = 'completed' "
            "GROUP BY task_id, attempt HAVING count(*) > 1")]
        runs = collections.Counter((self.directory / "work" / "runs.log").read_text().split())
        executed_twice = sorted(t for t, n in runs.items() if n > 1)
        commands = sum(1 for t in self.accepted if rows.get(t) and t in runs)
        retried = sum(1 for t in self.accepted if t in rows and rows[t][2] > 1)
        integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
        restarts = self.launcher_restarts()
        lines = [
            f"| tasks accepted | {len(self.accepted)} (submitted over {submitted_in:.0f} s, all ended after {elapsed:.0f} s) |",
            f"| kills (SIGKILL) | {self.kills['runner']} of runners, {self.kills['handler']} of the handler |",
            f"| client retries | " + ", ".join(f"{n} × {s}" for s, n in sorted(self.retries.items(), key=str)) + " |",
            f"| completed | {by_status['completed']} |",
            f"| failed, by code | " + (", ".join(f"{code}: {n}" for code, n in sorted(failed_by_code.items(), key=str)) or "0") + " |",
            f"| lost | {len(lost)} |",
            f"| recorded twice | {len(recorded_twice)} |",
            f"| run by more than one attempt | {retried} |",
            f"| commands executed twice | {len(executed_twice)} of {commands}" +
            (f": {', '.join(executed_twice[:10])}{' ...' if len(executed_twice) > 10 else ''}" if executed_twice else "") + " |",
            f"| launcher restarts | {restarts} |",
            f"| integrity_check | {integrity} |",
        ]
        ok = not lost and not recorded_twice and integrity == "ok"
        return "| | |\n|---|---|\n" + "\n".join(lines), ok

    def launcher_restarts(self):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            connection.request("GET", "/api/v1/status")
            components = json.loads(connection.getresponse().read()).get("components", {})
            return ", ".join(f"{name} {info.get('restarts', 0)}" for name, info in sorted(components.items()))
        except (OSError, ValueError):
            return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default="build/bin")
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--kills", type=int, default=12, help="kills of each kind (runners, handler)")
    parser.add_argument("--interval", type=float, default=8.0, help="seconds between two kills")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--keep", action="store_true", help="keep the directory (database, logs)")
    args = parser.parse_args()
    soak = Soak(args)
    try:
        report, ok = soak.run()
    finally:
        soak.stop()
        if not args.keep:
            shutil.rmtree(soak.directory, ignore_errors=True)
    print(report)
    if args.keep:
        print(f"\nkept: {soak.directory}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
