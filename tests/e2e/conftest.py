"""Fixtures that start the real Task Runner stack for end-to-end tests.

Each stack is `task-runner serve` (nginx + FastCGI handlers + runner) with its own config,
database, working directory and run directory, listening on a free loopback port. Teardown
stops the launcher with SIGTERM, kills anything left in its process groups, and prints the
stack's log when a test failed.
"""

import errno
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("TR_BIN_DIR", ROOT / "build" / "bin"))
TERMINAL = {"completed", "failed", "cancelled", "timeout"}

# The secrets canary: every stack runs with a recognisable secret in its environment, every model
# key the tests use is one of the recognisable fakes below or is remembered (remember_secret),
# and so is every API key a test makes. No response body (checked as it arrives), log line, step
# or database row outside where keys are stored may ever hold one (test_zz_secrets.py checks the
# logs and databases of every stack at the end). CANARY_MODEL_KEY is the model key of the
# stacks that need one but no model (model.provider = "builtin" ignores it).
CANARY_MODEL_KEY = "sk-canary-model-key-7f3a9c1e5b"
CANARY_ENV_SECRET = "canary-environment-secret-42d8e6"
SECRETS = [CANARY_MODEL_KEY, CANARY_ENV_SECRET]
STACK_DIRECTORIES = []  # every stack's directory, for the final scan
LEAKS = []              # (url, secret) of responses that carried one


def secrets_in(directory):
    """(place, secret) for every known secret in a stack's log, steps and database rows, except
    where keys belong: the value of config_overrides' model.api_key row (a model key set through
    the API)."""
    directory = Path(directory)
    found = []
    log = directory / "stack.log"
    if log.exists():
        text = log.read_text(errors="replace")
        found.extend((str(log), s) for s in SECRETS if s in text)
    database = directory / "data" / "task-runner.db"
    if not database.exists():
        return found
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')
            columns = [c[0] for c in cursor.description]
            for row in cursor:
                key_row = table == "config_overrides" and dict(zip(columns, row)).get("path") == "model.api_key"
                for column, value in zip(columns, row):
                    if (key_row and column == "value") or value is None:
                        continue
                    found.extend((f"{database}:{table}.{column}", s) for s in SECRETS if s in str(value))
    return found


def remember_secret(value):
    if value and value not in SECRETS:
        SECRETS.append(value)


def _watch_responses():
    """Every response the tests receive through requests, checked for the secrets known then."""
    send = requests.adapters.HTTPAdapter.send

    def checked(self, request, *args, **kwargs):
        response = send(self, request, *args, **kwargs)
        if "text/event-stream" not in response.headers.get("Content-Type", ""):
            body = response.content.decode("utf-8", "replace")
            LEAKS.extend((request.url, s) for s in SECRETS if s in body)
        return response
    requests.adapters.HTTPAdapter.send = checked


_watch_responses()


def _remember_scripted_keys():
    """The scripted model server's keys are fakes the suite uses: remembered as it is made."""
    import scripted_llm
    make = scripted_llm.ScriptedLLM.__init__

    def remembering(self, api_key="sk-test-key", *args, **kwargs):
        remember_secret(api_key)
        make(self, api_key, *args, **kwargs)
    scripted_llm.ScriptedLLM.__init__ = remembering


_remember_scripted_keys()

# Sanitizer reports: every program the suite starts (stack components, the CLI, handlers run as
# CGI) inherits these options, so with an AddressSanitizer/UndefinedBehaviorSanitizer build
# (build-asan) any report -- memory error, undefined behaviour, a leak at exit -- lands in
# SANITIZER_LOGS as report.<pid> instead of in a log nobody reads, and the process stops at once.
# A test after which a new report is there fails (no_sanitizer_reports), and so does the run
# (pytest_sessionfinish). Without sanitizers the options are ignored.
SANITIZER_LOGS = Path(tempfile.mkdtemp(prefix="tr-e2e-sanitizers-"))
SANITIZER_LOGS.chmod(0o1777)  # stacks run as an unprivileged user report here too
_report = SANITIZER_LOGS / "report"
os.environ["ASAN_OPTIONS"] = f"log_path={_report}:abort_on_error=1:detect_leaks=1:disable_coredump=1"
os.environ["UBSAN_OPTIONS"] = f"log_path={_report}:print_stacktrace=1:halt_on_error=1"
os.environ["LSAN_OPTIONS"] = f"suppressions={ROOT / 'tests' / 'lsan.supp'}"
REPORTED = set()  # reports a test has failed for already


def sanitizer_reports():
    """{path: text} of the reports not yet reported."""
    return {path: path.read_text(errors="replace") for path in sorted(SANITIZER_LOGS.iterdir())
            if path not in REPORTED}


def fail_on_sanitizer_reports(when):
    reports = sanitizer_reports()
    REPORTED.update(reports)
    if reports:
        pytest.fail(f"sanitizer reports {when}:\n" + "\n".join(
            f"--- {path.name}\n{text[-8000:]}" for path, text in reports.items()), pytrace=False)


# Who commands run as when a stack runs as root, and the user a stack runs as when a test asks
# for one that is not root.
SANDBOX_UID = 65533
SERVICE_UID = 64000


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
    """One running stack; `url`, `db_path`, `work` (the tasks' working directory)."""

    def __init__(self, directory, overrides=None, env=None, user=None, bin_dir=BIN, wrapper=()):
        """`user`: the uid to run the stack as (default: the test's own, root in CI); `bin_dir`:
        where its programs are; `wrapper`: a command line that runs the launcher (its args
        follow)."""
        self.directory = Path(directory)
        self.user = user
        self.bin_dir = Path(bin_dir)
        self.wrapper = list(wrapper)
        STACK_DIRECTORIES.append(self.directory)
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
        self.env = dict(os.environ, TR_E2E_CANARY=CANARY_ENV_SECRET, **(env or {}))
        self.process = None
        self.started_pids = []
        self.session = requests.Session()

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

    def shut_down(self, check_sanitizers=True):
        """Stops the stack, and kills whatever it left behind whatever happened meanwhile; then
        fails on a sanitizer report (components report leaks as they exit)."""
        try:
            self.stop()
        finally:
            self.kill_leftovers()
        if check_sanitizers:
            fail_on_sanitizer_reports(f"by the stack on {self.url} or while it ran")

    def kill_leftovers(self):
        if self.process is None:
            return
        for pid in set(self.started_pids) | set(self.component_pids()):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    # -- API keys (made on the server machine, with the CLI) ---------------------------------

    def keys(self, *args):
        """`task-runner keys ARGS` against this stack's database; the finished process."""
        return subprocess.run([str(BIN / "task-runner"), "keys", *args, "--config", str(self.config_path)],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    def create_key(self, owner, scopes):
        """A new key for `owner` with `scopes` ("read,submit"), as the CLI prints it."""
        done = self.keys("create", "--owner", owner, "--scopes", scopes)
        assert done.returncode == 0, done.stderr
        remember_secret(done.stdout.strip())
        return done.stdout.strip()

    # -- API helpers -------------------------------------------------------------------------

    def post(self, path, body=None, raw=None, **kwargs):
        if raw is not None:
            # A raw body is JSON too (malformed, perhaps) unless the test says what it is.
            headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
            return self.session.post(self.url + path, data=raw, timeout=10, headers=headers, **kwargs)
        return self.session.post(self.url + path, json=body, timeout=10, **kwargs)

    def get(self, path, **kwargs):
        return self.session.get(self.url + path, timeout=10, **kwargs)

    def submit(self, task, **fields):
        response = self.post("/api/v1/tasks", dict(task=task, **fields))
        assert response.status_code == 202, response.text
        return response.json()["task_id"]

    def wait_for(self, task_id, timeout=30):
        def terminal():
            task = self.get(f"/api/v1/tasks/{task_id}").json()
            return task if task["status"] in TERMINAL else None
        return wait_until(terminal, timeout=timeout, message=f"task {task_id} to finish")

    def run(self, task, timeout=30, **fields):
        return self.wait_for(self.submit(task, **fields), timeout=timeout)

    def query(self, sql, params=()):
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql, params).fetchall()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for stack in getattr(item, "_stacks", []):
            report.sections.append((f"stack log ({stack.url})", stack.log()[-20000:]))


@pytest.fixture
def make_stack(request, tmp_path):
    """make_stack(overrides={...}, env={...}) -> a started Stack, stopped after the test."""
    stacks = []
    request.node._stacks = stacks

    def make(overrides=None, env=None, start=True, user=None):
        stack = Stack(tmp_path / f"stack{len(stacks)}", overrides, env, user)
        stacks.append(stack)
        return stack.start() if start else stack

    yield make
    for stack in stacks:  # every one stopped first; no_sanitizer_reports checks after
        stack.shut_down(check_sanitizers=False)


@pytest.fixture(scope="module")
def stack(request, tmp_path_factory):
    """A stack shared by the tests of one module, with the default test settings."""
    started = Stack(tmp_path_factory.mktemp("stack")).start()
    yield started
    started.shut_down()


class SmallTmpfs:
    """A tmpfs of `size_mb` mounted on `path`: a disk that really fills (ENOSPC) and really turns
    read-only (EROFS), for putting a stack's database (or anything else) on."""

    def __init__(self, path, size_mb):
        self.path = Path(path)
        self.size_mb = size_mb
        self.filler = self.path / "filler"
        self.mounted = False

    def mount(self):
        self.path.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size_mb}m,mode=0700", "tmpfs",
                               str(self.path)], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            pytest.skip(f"mount -t tmpfs failed: {done.stderr.strip()}")
        self.mounted = True
        return self

    def free_bytes(self):
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def fill(self):
        """Writes the filler file until no byte is left (ENOSPC at every size down to one);
        returns how many bytes it added. Call it again to take what was freed meanwhile."""
        written = 0
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            chunk = 1 << 20
            while chunk:
                try:
                    written += os.write(fd, b"\0" * chunk)
                except OSError as error:
                    if error.errno != errno.ENOSPC:
                        raise
                    chunk //= 2
        finally:
            os.close(fd)
        return written

    def free(self):
        """Removes the filler: the disk has room again."""
        self.filler.unlink(missing_ok=True)

    def remount(self, read_only):
        """Remounts read-only (or back). The kernel refuses (EBUSY) while any file on it is open
        for writing, so a running stack's disk cannot be made read-only: stop the stack first."""
        done = subprocess.run(["mount", "-o", "remount," + ("ro" if read_only else "rw"), str(self.path)],
                              capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise OSError(f"mount -o remount of {self.path}: {done.stderr.strip()}")

    def unmount(self):
        if not self.mounted:
            return
        if subprocess.run(["umount", str(self.path)], capture_output=True, timeout=30).returncode != 0:
            # Still held (a process outlived its stack): detached now, freed when it lets go.
            subprocess.run(["umount", "--lazy", str(self.path)], check=True, capture_output=True, timeout=30)
        self.mounted = False


@pytest.fixture
def small_tmpfs():
    """small_tmpfs(path, size_mb=32) -> a SmallTmpfs mounted on `path` (made if missing), with
    fill(), free(), free_bytes() and remount(read_only). Every one is unmounted at teardown, even
    when the test failed. Skips the test unless it runs as root (or the mount fails). Request it
    before make_stack, so that stacks on it are stopped before it is unmounted."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted = []

    def mount(path, size_mb=32):
        disk = SmallTmpfs(path, size_mb)
        mounted.append(disk)
        return disk.mount()

    yield mount
    for disk in reversed(mounted):
        disk.unmount()


# Module-scoped stacks: "stack" here, "secured" (test_auth.py), "credentialed" (test_edge.py).
SHARED_STACKS = ("stack", "secured", "credentialed")


@pytest.fixture(autouse=True)
def attach_shared_stack_log(request):
    """A failing test's report carries the log of the shared stack it used."""
    used = [name for name in SHARED_STACKS if name in request.fixturenames]
    if used:
        request.node._stacks = [request.getfixturevalue(name) for name in used]
    yield


@pytest.fixture(autouse=True)
def no_sanitizer_reports():
    """A test fails when a program reported a sanitizer error while it ran (its own stacks have
    stopped by then: autouse fixtures are torn down last; a module's shared stack checks as it
    stops, after the module's last test)."""
    yield
    fail_on_sanitizer_reports("during this test")


def pytest_sessionfinish(session, exitstatus):
    """Whatever reported after the last check (a shared stack stopping late) fails the run."""
    reports = {path: path.read_text(errors="replace") for path in sorted(SANITIZER_LOGS.iterdir())}
    for path, text in reports.items():
        print(f"\n--- sanitizer report {path}\n{text[-8000:]}")
    if reports:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        SANITIZER_LOGS.rmdir()


@pytest.fixture(autouse=True)
def no_secret_in_responses():
    """A test fails when a response it received carried a secret."""
    before = len(LEAKS)
    yield
    assert LEAKS[before:] == [], f"responses carried secrets: {LEAKS[before:]}"


def task_runner_cgroups():
    """This machine's cgroup directories of runners (task-runner.<pid>.<random>)."""
    found = []
    for mount in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = mount.split(" - ")
        if len(fields) != 2 or not fields[1].startswith(("cgroup ", "cgroup2 ")):
            continue
        point = Path(fields[0].split()[4])
        found.extend(p for p in point.rglob("task-runner.*") if p.is_dir())
    return found


@pytest.fixture(scope="session", autouse=True)
def no_cgroups_left_behind():
    """Runners remove their groups when they stop, and the next runner removes those of one
    that was killed; whatever a killed runner left at the very end is removed here."""
    yield
    for group in sorted(task_runner_cgroups(), key=lambda p: -len(p.parts)):
        pid = int(group.name.split(".")[1])
        if Path(f"/proc/{pid}").exists():
            continue
        for child in sorted((p for p in group.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
            child.rmdir()
        group.rmdir()
