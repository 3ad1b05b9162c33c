"""A private Task Runner stack for a test: `task-runner serve` (nginx, the FastCGI handlers, the
runner) with its own config, database, working directory and run directory, listening on a free
loopback port. Stopping it sends the launcher SIGTERM and then kills whatever is left in the
process groups it started, so no component outlives the test.

    stack = Stack(tmp_path / "stack").start()
    task = stack.run("write 'hello' to hello.txt")
    assert (stack.work / "hello.txt").read_text() == "hello"
    stack.shut_down()
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path

import requests

TERMINAL = {"completed", "failed", "cancelled", "timeout"}
PACKAGE = Path(__file__).resolve().parent


def wait_until(condition, timeout=10.0, interval=0.05, message="condition"):
    """Polls `condition` until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def installed_bin_dir():
    """The bin directory of the prefix this package was installed into (cmake --install writes
    _layout.py with the way there), if the programs are there."""
    try:
        from ._layout import BIN_FROM_PACKAGE
    except ImportError:  # the source tree: no installed layout
        return None
    directory = (PACKAGE / BIN_FROM_PACKAGE).resolve()
    return directory if (directory / "task-runner").exists() else None


def find_bin_dir(explicit=None):
    """Where the programs are: `explicit` (--task-runner-bin), $TR_BIN_DIR, the installed
    prefix's bin, or the directory of `task-runner` on PATH."""
    for candidate in (explicit, os.environ.get("TR_BIN_DIR"), installed_bin_dir()):
        if candidate:
            return Path(candidate)
    on_path = shutil.which("task-runner")
    if on_path:
        return Path(on_path).resolve().parent
    raise FileNotFoundError("task_runner_pytest: cannot find the task-runner programs; pass "
                            "--task-runner-bin DIR or set TR_BIN_DIR (the build's bin directory)")


def libconfig_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(libconfig_value(v) for v in value) + "]"
    return json.dumps(str(value))


def render_config(settings):
    """{"tools.max_output_bytes": 2048, ...} -> libconfig text with nested groups."""
    tree = {}
    for path, value in settings.items():
        node = tree
        *groups, leaf = path.split(".")
        for group in groups:
            node = node.setdefault(group, {})
        node[leaf] = value

    def emit(node, indent):
        lines = []
        for key, value in node.items():
            if isinstance(value, dict):
                lines.append(f"{indent}{key} = {{")
                lines.extend(emit(value, indent + "    "))
                lines.append(f"{indent}}};")
            else:
                lines.append(f"{indent}{key} = {libconfig_value(value)};")
        return lines

    return "\n".join(emit(tree, "")) + "\n"


class Stack:
    """One stack: `url`, `db_path`, `work` (the tasks' working directory), `config_path`,
    `log_path`; submit/wait/run and get/post for the API, `db` (a read-only sqlite3 connection to
    its database), use_scripted_model() to put the scripted LLM server in place of the model."""

    def __init__(self, directory, overrides=None, env=None, user=None, bin_dir=None, wrapper=()):
        """`overrides`: settings over the test defaults ({"execution.max_steps": 3}); `env`: added
        to the environment; `user`: the uid to run the stack as (default: the test's own);
        `bin_dir`: where its programs are (default: find_bin_dir()); `wrapper`: a command line that
        runs the launcher (its args follow)."""
        self.directory = Path(directory)
        self.user = user
        self.bin_dir = Path(bin_dir) if bin_dir else find_bin_dir()
        self.wrapper = list(wrapper)
        self.work = self.directory / "work"
        self.work.mkdir(parents=True, exist_ok=True)
        self.db_path = self.directory / "data" / "task-runner.db"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        settings = {
            "service.bind_address": f"127.0.0.1:{self.port}",
            "service.handler_threads": 4,
            "service.max_concurrent_tasks": 4,
            "service.log_level": "info",
            "execution.poll_interval_ms": 20,
            "execution.shutdown_grace_seconds": 5,
            "tools.working_directory": str(self.work),
            "tools.allowed_paths": [str(self.work)],
            "tools.command_timeout_seconds": 20,
            "storage.database": str(self.db_path),
            # Tests poll hard; the rate-limit tests set their own limits.
            "service.rate_limiting.requests_per_minute": 1000000,
            "service.rate_limiting.burst_size": 100000,
        }
        settings.update(overrides or {})
        self.config_path = self.directory / "task-runner.cfg"
        self.config_path.write_text(render_config(settings))
        self.log_path = self.directory / "stack.log"
        self.env = dict(os.environ, **(env or {}))
        self.process = None
        self.started_pids = []
        self.session = requests.Session()
        self.scripted_llm = None  # the scripted model server, once use_scripted_model() made it
        self._db = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        log = open(self.log_path, "wb")
        command = [*self.wrapper, str(self.bin_dir / "task-runner"), "serve", "--config",
                   str(self.config_path)]
        if self.user is not None:
            # Its whole directory is its own, as an operator would set it up.
            for path in [self.directory, *self.directory.rglob("*")]:
                os.chown(path, self.user, self.user, follow_symlinks=False)
            command = ["setpriv", f"--reuid={self.user}", f"--regid={self.user}", "--clear-groups",
                       "--", *command]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=self.env, start_new_session=True, cwd=self.directory)
        log.close()
        wait_until(self._healthy, timeout=30, message=f"the stack on {self.url} to be healthy")
        self.started_pids = self.component_pids()  # still known if the launcher dies first
        return self

    def _healthy(self):
        if self.process.poll() is not None:
            raise AssertionError(f"the launcher exited with {self.process.returncode}:\n{self.log()}")
        try:
            return self.session.get(self.url + "/health", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def component_pids(self):
        """The launcher's children and their children (nginx workers), by /proc."""
        children = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                children.setdefault(int(fields[1]), []).append(int(entry.name))
            except (OSError, IndexError):
                continue
        found, frontier = [], [self.process.pid]
        while frontier:
            pid = frontier.pop()
            for child in children.get(pid, []):
                found.append(child)
                frontier.append(child)
        return found

    def stop(self, timeout=30):
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise

    def shut_down(self):
        """Stops the stack, and kills whatever it left behind whatever happened meanwhile; closes
        `db` and stops the scripted model server."""
        try:
            self.stop()
        finally:
            self.kill_leftovers()
            if self._db is not None:
                self._db.close()
                self._db = None
            if self.scripted_llm is not None:
                self.scripted_llm.stop()
                self.scripted_llm = None

    def kill_leftovers(self):
        if self.process is None:
            return
        for pid in set(self.started_pids) | set(self.component_pids()):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass  # gone already, or not a group leader: nothing of ours to kill there

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- API keys (made on the server machine, with the CLI) ---------------------------------

    def keys(self, *args):
        """`task-runner keys ARGS` against this stack's database; the finished process."""
        return subprocess.run([str(self.bin_dir / "task-runner"), "keys", *args, "--config",
                               str(self.config_path)],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    def create_key(self, owner, scopes):
        """A new key for `owner` with `scopes` ("read,submit"), as the CLI prints it."""
        done = self.keys("create", "--owner", owner, "--scopes", scopes)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    # -- the API -----------------------------------------------------------------------------

    def post(self, path, body=None, raw=None, **kwargs):
        if raw is not None:
            # A raw body is JSON too (malformed, perhaps) unless the test says what it is.
            headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
            return self.session.post(self.url + path, data=raw, timeout=10, headers=headers, **kwargs)
        return self.session.post(self.url + path, json=body, timeout=10, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.session.put(self.url + path, json=body, timeout=10, **kwargs)

    def get(self, path, **kwargs):
        return self.session.get(self.url + path, timeout=10, **kwargs)

    def submit(self, task, **fields):
        """Submits a task (fields as the API's: priority, context, metadata ...); its id."""
        response = self.post("/api/v1/tasks", dict(task=task, **fields))
        assert response.status_code == 202, response.text
        return response.json()["task_id"]

    def wait_for(self, task_id, timeout=30):
        """The task, as GET /api/v1/tasks/ID answers, once it has finished."""
        def terminal():
            task = self.get(f"/api/v1/tasks/{task_id}").json()
            return task if task["status"] in TERMINAL else None
        return wait_until(terminal, timeout=timeout, message=f"task {task_id} to finish")

    wait = wait_for

    def run(self, task, timeout=30, **fields):
        """submit, then wait: the finished task."""
        return self.wait_for(self.submit(task, **fields), timeout=timeout)

    # -- the database ------------------------------------------------------------------------

    @property
    def db(self):
        """A read-only sqlite3 connection to the stack's database (WAL: it never blocks the
        stack), closed when the stack shuts down."""
        if self._db is None:
            self._db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10,
                                       check_same_thread=False)
        return self._db

    def query(self, sql, params=()):
        """The rows of one query, on a connection of its own."""
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()

    # -- the model ---------------------------------------------------------------------------

    def use_scripted_model(self, wire="openai", api_key="sk-scripted-model-key",
                           model_name="scripted-model"):
        """Puts the scripted LLM server (scripted_llm.py) in place of the model, from the next
        task on, through PUT /api/v1/config; returns it, to script:
        `stack.use_scripted_model().script(plan(), calls(...), complete())`. `wire`: openai or
        anthropic. The server is made once per stack and stopped with it."""
        if self.scripted_llm is None:
            from .scripted_llm import ScriptedLLM
            self.scripted_llm = ScriptedLLM(api_key=api_key)
        self._set_model({"provider": wire, "endpoint": self.scripted_llm.endpoint,
                         "api_key": self.scripted_llm.api_key, "model_name": model_name})
        return self.scripted_llm

    def use_builtin_model(self):
        """Back to the offline builtin planner, from the next task on."""
        self._set_model({"provider": "builtin", "endpoint": None, "api_key": None,
                         "model_name": None})

    def _set_model(self, model):
        response = self.put("/api/v1/config", {"model": model})
        assert response.status_code == 200, response.text
