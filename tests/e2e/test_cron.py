"""examples/cron: the crontab's own command, run as cron would run it, against a real stack.

The command is taken from examples/cron/crontab (its one job line, with cron's % rule applied)
and run by /bin/sh with cron's small environment: HOME, LOGNAME, SHELL and the crontab's PATH
(with this build's bin directory first, where an installed task-runner would be). The server and
key come from the user's client.conf, as the crontab says. Every exit status it documents is
produced here: 0 (twice: the second run creates nothing), 1, 2 with file:line, 3 (unreachable,
wrong key), 4 (the lock is held).
"""

import fcntl
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, ROOT

CRON = ROOT / "examples" / "cron"


def crontab_job(path=CRON / "crontab"):
    """(environment assignments, command) of the crontab's one job line, as cron reads it."""
    env, jobs = {}, []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        assignment = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)", line)
        if assignment:
            env[assignment.group(1)] = assignment.group(2)
            continue
        fields = line.split(None, 5)
        assert len(fields) == 6, f"not a job line: {line}"
        jobs.append(fields[5])
    assert len(jobs) == 1, jobs
    # cron(8): an unescaped % ends the command (the rest is its stdin); \% is a literal %.
    command = jobs[0]
    assert not re.search(r"(?<!\\)%", command), "an unescaped % would cut the command"
    return env, command.replace("\\%", "%")


class CronUser:
    """A home directory set up as examples/cron/README.md says, and cron's way of running."""

    def __init__(self, home, url, key=None):
        self.home = Path(home)
        (self.home / "cron").mkdir(parents=True, exist_ok=True)
        shutil.copy(CRON / "nightly.tasks", self.home / "cron" / "nightly.tasks")
        self.write_client_conf(url, key)
        self.env, self.command = crontab_job()

    def write_client_conf(self, url, key):
        conf = self.home / ".config" / "task-runner" / "client.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text(f'url = "{url}";\n' + (f'key = "{key}";\n' if key else ""))
        conf.chmod(0o600)

    def run(self, timeout=120):
        """Runs the job line; (exit status, what it appended to the log)."""
        log = self.home / "cron" / "nightly.log"
        before = log.read_text() if log.exists() else ""
        env = {"HOME": str(self.home), "LOGNAME": "cron-test", "SHELL": "/bin/sh",
               "PATH": f"{BIN}:{self.env['PATH']}",
               # a sanitizer build's reports, as the suite collects them everywhere
               **{k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")}}
        done = subprocess.run(["/bin/sh", "-c", self.command], env=env, cwd=self.home,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
        assert done.stdout == "" and done.stderr == "", "the job's output goes to its log"
        after = log.read_text()
        return done.returncode, after[len(before):]


def counts(stack):
    return stack.query("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM batches)")[0]


def test_the_crontab_has_one_job_that_runs_submit_with_a_lock_safe_id():
    env, command = crontab_job()
    assert "/usr/bin" in env["PATH"]
    assert command.startswith("task-runner submit ")
    assert '--id-prefix "nightly-$(date -u +%F)"' in command


@pytest.fixture
def secured(make_stack):
    return make_stack({"service.require_api_key": True})


def test_the_crontab_command_twice_creates_the_batch_once(secured, tmp_path):
    key = secured.create_key("cron", "read,submit")
    user = CronUser(tmp_path / "home", secured.url, key)

    status, log = user.run()
    assert status == 0, log
    assert "3 tasks submitted" in log
    ids = re.findall(r"(nightly-\d{4}-\d{2}-\d{2}-\d+)\s+completed", log)
    assert len(ids) == 3, log
    assert "nightly.tasks:2 " in log and "nightly.tasks:4 " in log  # the tasks' lines
    tasks, batches = counts(secured)
    assert (tasks, batches) == (3, 1)
    finished = secured.query("SELECT id, status, batch_seq FROM tasks ORDER BY batch_seq")
    assert [row[1] for row in finished] == ["completed"] * 3
    assert [row[0] for row in finished] == ids

    status, log = user.run()
    assert status == 0, log
    assert "submitted before, nothing new created" in log
    assert re.findall(r"(nightly-\d{4}-\d{2}-\d{2}-\d+)\s+completed", log) == ids
    assert counts(secured) == (tasks, batches), "the second run created something"
    # The key was in client.conf only: never in the log.
    assert key not in log and key not in (user.home / "cron" / "nightly.log").read_text()

    # 4: a run still holding the lock (held here as that run's flock) makes this one do nothing.
    locks = list((user.home / ".local" / "state" / "task-runner" / "locks").glob("nightly.tasks-*.lock"))
    assert len(locks) == 1, locks
    with open(locks[0], "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        status, log = user.run(timeout=20)
    assert status == 4, log
    assert f"another run holds the lock {locks[0]}" in log
    assert counts(secured) == (tasks, batches)

    # 3: the wrong key, then no server at all; nothing is created either way.
    user.write_client_conf(secured.url, "trk_000000000000_" + "0" * 43)
    status, log = user.run()
    assert status == 3 and "AUTHENTICATION_ERROR" in log, log
    user.write_client_conf("http://127.0.0.1:1", key)
    status, log = user.run()
    assert status == 3 and "127.0.0.1:1" in log, log
    assert key not in (user.home / "cron" / "nightly.log").read_text()

    # 2: a file the server refuses (a bad priority on its line 3), and one that is not JSON.
    user.write_client_conf(secured.url, key)
    tasks_file = user.home / "cron" / "nightly.tasks"
    tasks_file.write_text('{"tasks": [\n  {"task": "list the files in ."},\n'
                          '  {"task": "list the files in .", "priority": "urgent"}\n]}\n')
    status, log = user.run()
    assert status == 2, log
    assert f"{tasks_file}:3: INVALID_REQUEST: tasks[1]: priority must be one of" in log
    tasks_file.write_text('{"tasks": [\n  {"task": "list the files in ."},\n  {"task": }\n]}\n')
    status, log = user.run()
    assert status == 2, log
    assert f"{tasks_file}:3: " in log
    assert counts(secured) == (tasks, batches)


def test_the_crontab_command_exits_one_when_a_task_does_not_complete(make_stack, tmp_path):
    # The same shipped file, on a server that runs no commands: its second task fails, and the
    # sequential batch cancels the third.
    stack = make_stack({"tools.enable_command_execution": False})
    user = CronUser(tmp_path / "home", stack.url)
    status, log = user.run()
    assert status == 1, log
    assert re.search(r"nightly\.tasks:2\s+nightly-\S+-1\s+completed", log), log
    assert re.search(r"nightly\.tasks:3\s+nightly-\S+-2\s+failed", log), log
    assert re.search(r"nightly\.tasks:4\s+nightly-\S+-3\s+cancelled", log), log


def test_the_readme_setup_block_puts_the_files_where_the_job_looks(tmp_path):
    text = (CRON / "README.md").read_text()
    blocks = re.findall(r"```sh\n(.*?)```", text, re.S)
    assert len(blocks) == 1
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run(["/bin/sh", "-ec", blocks[0]], cwd=ROOT, env=dict(os.environ, HOME=str(home)),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert (home / "cron" / "nightly.tasks").read_text() == (CRON / "nightly.tasks").read_text()
    conf = home / ".config" / "task-runner" / "client.conf"
    assert conf.stat().st_mode & 0o777 == 0o600


def test_two_keys_submitting_the_same_file_each_get_their_own_tasks(make_stack, tmp_path):
    # Task ids are global on a server: ids derived from the content alone would make the second
    # key's run a 409 (exit 2) for good, and tell it the first key had submitted that file.
    secured = make_stack({"service.require_api_key": True})
    keys = {owner: secured.create_key(owner, "read,submit") for owner in ("alice", "bob")}
    tasks = tmp_path / "shared.tasks"
    tasks.write_text("list the files in .\nrun the command: echo shared\n")
    ids = {}
    for owner, key in [*keys.items(), ("alice", keys["alice"])]:
        env = dict(os.environ, TASK_RUNNER_KEY=key, XDG_STATE_HOME=str(tmp_path / owner))
        done = subprocess.run([str(BIN / "task-runner"), "submit", str(tasks), "--server", secured.url,
                               "--wait", "60", "--output", "json"], capture_output=True, text=True,
                              timeout=120, env=env, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert [t["status"] for t in report["tasks"]] == ["completed", "completed"]
        ids.setdefault(owner, []).append([t["task_id"] for t in report["tasks"]])
    assert ids["alice"][0] == ids["alice"][1]  # alice's second run: the same tasks, nothing new
    assert not set(ids["alice"][0]) & set(ids["bob"][0])
    owners = secured.query("SELECT owner, count(*) FROM tasks GROUP BY owner ORDER BY owner")
    assert [tuple(row) for row in owners] == [("alice", 2), ("bob", 2)]
