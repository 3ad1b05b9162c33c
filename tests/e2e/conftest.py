"""Fixtures that start the real Task Runner stack for end-to-end tests.

Each stack is `task-runner serve` (nginx + FastCGI handlers + runner) with its own config,
database, working directory and run directory, listening on a free loopback port. Teardown
stops the launcher with SIGTERM, kills anything left in its process groups, and prints the
stack's log when a test failed. The machinery is the pytest plugin users get
(python/task_runner_pytest: Stack, the task_runner fixture); this file adds the suite's own
checks: the secrets canary, sanitizer reports, cgroups left behind.
"""

import errno
import os
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
# The stack machinery is the pytest plugin we ship (python/task_runner_pytest); this suite uses
# it from the source tree, with the checks below added.
sys.path.insert(0, str(ROOT / "python"))

import task_runner_pytest  # noqa: E402
# Names the tests import from here, and the plugin's hooks and task_runner fixture, registered
# by being in this module.
from task_runner_pytest import (TERMINAL, StackFactory, free_port, libconfig_value,  # noqa: E402,F401
                                pytest_addoption, pytest_runtest_makereport, render_config,
                                task_runner, wait_until)

BIN = Path(os.environ.get("TR_BIN_DIR", ROOT / "build" / "bin"))

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


class Stack(task_runner_pytest.Stack):
    """The plugin's stack (python/task_runner_pytest/stack.py) with this suite's checks: the
    environment canary, the scan of its directory at the end (STACK_DIRECTORIES), every key it
    makes remembered as a secret, and sanitizer reports checked when it shuts down."""

    def __init__(self, directory, overrides=None, env=None, user=None, bin_dir=BIN, wrapper=()):
        super().__init__(directory, overrides, dict({"TR_E2E_CANARY": CANARY_ENV_SECRET}, **(env or {})),
                         user, bin_dir, wrapper)
        STACK_DIRECTORIES.append(self.directory)

    def create_key(self, owner, scopes):
        key = super().create_key(owner, scopes)
        remember_secret(key)
        return key

    def shut_down(self, check_sanitizers=True):
        """Stops the stack and kills whatever it left behind (the plugin's), then fails on a
        sanitizer report (components report leaks as they exit)."""
        super().shut_down()
        if check_sanitizers:
            fail_on_sanitizer_reports(f"by the stack on {self.url} or while it ran")


@pytest.fixture
def make_stack(request, tmp_path):
    """make_stack(overrides={...}, env={...}) -> a started Stack, stopped after the test."""
    factory = StackFactory(tmp_path, request.node, Stack, name="stack")

    def make(overrides=None, env=None, start=True, user=None):
        return factory(overrides, env, start, user=user)

    yield make
    factory.shut_down_all(check_sanitizers=False)  # every one stopped first; no_sanitizer_reports checks after


@pytest.fixture
def task_runner_factory(request, tmp_path):
    """The plugin's fixture (and so its task_runner), with this suite's Stack."""
    factory = StackFactory(tmp_path, request.node, Stack, name="task-runner")
    yield factory
    factory.shut_down_all(check_sanitizers=False)


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
