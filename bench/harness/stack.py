"""A private Task Runner stack (task-runner serve: nginx, handlers, one runner) from build/bin,
with its own database in a temporary directory, API keys required, rate limits raised so they
measure the service and not the limit. Extra runner processes are started by hand with the
same config, as the launcher starts its own (cli/stack.cpp)."""
import os
import shutil
import signal
import sqlite3
import subprocess
import time

import requests

from . import procs
from .workload import body


class Stack:
    def __init__(self, bin_dir, synchronous="full", max_concurrent=10, database=None,
                 handler_threads=16):
        self.bin = os.path.abspath(bin_dir)
        self.dir = procs.temp_dir("task-runner-bench.")
        self.work = os.path.join(self.dir, "work")
        # With API keys on, the key's owner ("bench") works in <working_directory>/bench.
        self.workspace = os.path.join(self.work, "bench")
        os.makedirs(self.workspace)
        with open(os.path.join(self.workspace, "notes.txt"), "w") as f:  # what TEN_STEPS reads
            f.write("".join(f"note {i}: the nightly report ran\n" for i in range(20)))
        os.makedirs(os.path.join(self.dir, "data"))
        self.db_path = os.path.join(self.dir, "data", "task-runner.db")
        if database:  # a prepared database (the million), copied so the cache stays as it was
            shutil.copyfile(database, self.db_path)
        self.port = procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(self.dir, "task-runner.cfg")
        self.log = os.path.join(self.dir, "stack.log")
        with open(self.config, "w") as f:
            f.write(config_text(self, synchronous, max_concurrent, handler_threads))
        self.launcher = None
        self.extra_runners = []
        self.key = None
        self.session = requests.Session()

    def cli(self, *args):
        result = subprocess.run([os.path.join(self.bin, "task-runner"), *args, "--config",
                                 self.config], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"bench: task-runner {' '.join(args)} exited {result.returncode}: "
                               f"{result.stderr.strip()}")
        return result.stdout

    def start(self):
        self.cli("migrate")
        self.key = self.cli("keys", "create", "--owner", "bench", "--scopes",
                            "read,submit").strip()
        self.session.headers["Authorization"] = f"Bearer {self.key}"
        self.launcher = procs.start("task-runner serve", [os.path.join(self.bin, "task-runner"),
                                    "serve", "--config", self.config], self.log)
        procs.wait_until("the stack answering /health", self.healthy, 60,
                         process=self.launcher, log_path=self.log)
        procs.wait_until("the runner process", lambda: self.runner_pids(), 30)
        return self

    def healthy(self):
        try:
            return requests.get(self.url + "/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        for runner in self.extra_runners:
            procs.stop(runner)
            procs.forget(runner)
        if self.launcher:
            procs.stop(self.launcher, grace=40)
            procs.forget(self.launcher)
        self.launcher = None

    def _component_pids(self, program):
        found = []
        pending = [self.launcher.pid] + [r.pid for r in self.extra_runners]
        while pending:
            pid = pending.pop()
            argv = procs.command_line(pid)
            if argv and os.path.basename(argv[0]).decode(errors="replace") == program and \
                    b"--watchdog" not in argv:
                found.append(pid)
            else:
                pending.extend(procs.children(pid))
        return sorted(found)

    def runner_pids(self):
        return self._component_pids("task-runner-runner")

    def handler_pids(self):
        return self._component_pids("task-runner-fcgi")

    def pause_runners(self, attempts=20):
        """SIGSTOP the runners outside a write: stopped inside one (a heartbeat, a lease), they
        would hold SQLite's lock and every POST would wait. So a submission must go through
        while they are stopped; if it does not within 2 s, they run on a moment and are stopped
        again."""
        for _ in range(attempts):
            for pid in self.runner_pids():
                os.kill(pid, signal.SIGSTOP)
            try:
                self.submit(body(self.workspace, "list the files in ."), timeout=2)
                return
            except requests.RequestException:
                self.resume_runners()
                time.sleep(0.3)
        raise RuntimeError("bench: no moment found to pause the runners outside a write")

    def resume_runners(self):
        for pid in self.runner_pids():
            os.kill(pid, signal.SIGCONT)

    def add_runner(self):
        # The launcher's private run directory, as its own runner was told it.
        argv = procs.command_line(self.runner_pids()[0])
        run_dir = argv[argv.index(b"--run-dir") + 1].decode()
        runner = procs.start("extra runner", [os.path.join(self.bin, "task-runner-runner"),
                             "--config", self.config, "--run-dir", run_dir],
                             os.path.join(self.dir, f"runner{len(self.extra_runners) + 2}.log"))
        self.extra_runners.append(runner)
        return runner

    def submit(self, body, timeout=30):
        answer = self.session.post(self.url + "/api/v1/tasks", data=body, timeout=timeout,
                                   headers={"Content-Type": "application/json"})
        if answer.status_code != 202:
            raise RuntimeError(f"bench: POST /api/v1/tasks answered {answer.status_code}: "
                               f"{answer.text[:300]}")
        return answer.json()["task_id"]

    def db(self):
        connection = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        connection.execute("PRAGMA busy_timeout = 30000")
        return connection

    def count(self, where):
        with self.db() as db:
            return db.execute(f"SELECT count(*) FROM tasks WHERE {where}").fetchone()[0]

    def wait_finished(self, total, timeout, interval=0.02):
        """Seconds until `total` tasks are finished (completed, failed, cancelled)."""
        start = time.monotonic()
        procs.wait_until(f"{total} tasks finished", lambda: self.count(
            "status IN ('completed', 'failed', 'cancelled', 'timeout')") >= total, timeout,
            interval)
        return time.monotonic() - start


def config_text(stack, synchronous, max_concurrent, handler_threads):
    return f"""
service = {{
    bind_address = "127.0.0.1:{stack.port}"; log_level = "warn";
    handler_threads = {handler_threads}; max_concurrent_tasks = {max_concurrent};
    require_api_key = true;
    rate_limiting = {{ requests_per_minute = 1000000; burst_size = 1000000; }};
}};
model = {{ provider = "builtin"; }};
tools = {{ working_directory = "{stack.work}"; allowed_paths = ["{stack.work}"]; }};
storage = {{ database = "{stack.db_path}"; synchronous = "{synchronous}"; }};
"""
