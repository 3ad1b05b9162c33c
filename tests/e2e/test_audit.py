"""Auditing with sqlite3 (docs/audit.md): every query in the document, and the README's example,
run with the sqlite3 command-line tool, read-only, against the database of a running stack that
did real work: builtin tasks that list, read and write files and run commands, one failing
command, one task the planner cannot do, a task of the scripted model (tokens), a setting and
the model changed through the API with an admin key, and keys made and revoked with the CLI.
Each answer is checked against what the API said and what the test did, not only that it ran.

Set TR_AUDIT_ANSWERS=FILE to have every query's answer, as sqlite3 prints it, written there
(how docs/audit.md's example answers were made)."""

import json
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

import pytest

from conftest import CANARY_ENV_SECRET, ROOT, SECRETS, SERVICE_UID, Stack
from scripted_llm import calls, complete, plan

DOC = ROOT / "docs" / "audit.md"
README = ROOT / "README.md"
NOTES = "first line\nsecond line\n"


def questions(markdown):
    """[(question, sql, example answer)] for each ```sql block, under its ### heading; the
    example is the ```text block that follows it."""
    found, heading, block, lines = [], None, None, []
    for line in markdown.splitlines():
        if block is None and line.startswith("### "):
            heading = line[4:].strip()
        elif block is None and line.strip() in ("```sql", "```text"):
            block, lines = line.strip()[3:], []
        elif block is not None and line.strip() == "```":
            if block == "sql":
                found.append([heading, "\n".join(lines), None])
            elif found and found[-1][2] is None:
                found[-1][2] = "\n".join(lines)
            block = None
        elif block is not None:
            lines.append(line)
    return found


def readme_section(title):
    text = README.read_text()
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def sqlite3(database, sql, *mode):
    done = subprocess.run(["sqlite3", "-readonly", *mode, str(database), sql], capture_output=True,
                          text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stderr == "", f"sqlite3 failed on:\n{sql}\n{done.stderr}"
    return done.stdout


def rows_of(database, sql):
    out = sqlite3(database, sql, "-json")
    return json.loads(out) if out.strip() else []  # no rows: sqlite3 prints nothing


def authorize(stack, key):
    stack.session.headers["Authorization"] = "Bearer " + key


def key_id(key):
    return key.split("_")[1]


def utc(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# The builtin planner's tasks, in the order they are submitted.
BUILTIN_TASKS = {
    "list": "list the files in the current directory",
    "read": "read the file notes.txt",
    "write": "write 'audit trail' to report.txt",
    "command": "run the command: echo audited",
    "unplanned": "frobnicate the flux capacitor",
    "failing": "run the command: exit 3",
}


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    """A running stack with keys on, after the work above; yields what the test knows of it."""
    stack = Stack(tmp_path_factory.mktemp("audit"), {"service.require_api_key": True}).start()
    try:
        # With keys on, each owner's tasks work in a workspace of its own (README, "Per-owner
        # workspaces").
        stack.workspace = stack.work / "alice"
        stack.workspace.mkdir()
        (stack.workspace / "notes.txt").write_text(NOTES)
        keys = {"alice": stack.create_key("alice", "read,submit"),
                "ops": stack.create_key("ops", "admin"),
                "temp": stack.create_key("temp", "read")}
        revoked = stack.keys("revoke", key_id(keys["temp"]))
        assert revoked.returncode == 0, revoked.stderr

        tasks = {}
        authorize(stack, keys["alice"])
        for name, text in BUILTIN_TASKS.items():
            tasks[name] = stack.run(text)

        authorize(stack, keys["ops"])
        changed = stack.put("/api/v1/config", {"execution": {"max_steps": 12}})
        assert changed.status_code == 200, changed.text
        llm = stack.use_scripted_model()
        llm.script(plan(requirements=["read_file"]), calls(("read_file", {"path": "notes.txt"})),
                   complete(True, "notes.txt has two lines."))
        authorize(stack, keys["alice"])
        tasks["scripted"] = stack.run("Summarize notes.txt")
        assert llm.remaining() == 0
        authorize(stack, keys["ops"])
        stack.use_builtin_model()

        for name, status in [("list", "completed"), ("read", "completed"), ("write", "completed"),
                             ("command", "completed"), ("unplanned", "failed"),
                             ("failing", "failed"), ("scripted", "completed")]:
            assert tasks[name]["status"] == status, (name, tasks[name])
        stack.keys_made = keys
        stack.tasks = tasks
        yield stack
    finally:
        stack.shut_down()


# -- the checks, one per question of docs/audit.md ------------------------------------------

def check_what_ran(stack, rows):
    by_id = {row["task_id"]: row for row in rows}
    assert set(by_id) == {task["task_id"] for task in stack.tasks.values()}
    for name, task in stack.tasks.items():
        row = by_id[task["task_id"]]
        assert row["owner"] == "alice"
        assert (row["status"], row["provider"], row["model"]) == \
            (task["status"], task["provider"], task["model"]), name
        assert row["task"] == (BUILTIN_TASKS.get(name) or "Summarize notes.txt")
        if task["started_at"]:
            expected = (utc(task["completed_at"]) - utc(task["started_at"])).total_seconds() * 1000
            assert abs(row["duration_ms"] - expected) <= 1, (name, row, task)
    assert by_id[stack.tasks["scripted"]["task_id"]]["provider"] == "openai"
    assert by_id[stack.tasks["scripted"]["task_id"]]["model"] == "scripted-model"
    assert by_id[stack.tasks["read"]["task_id"]]["provider"] == "builtin"
    assert [row["created_at"] for row in rows] == sorted(row["created_at"] for row in rows)


def api_tokens(task):
    """Input and output tokens as the API reports them: metrics.tokens_used was an object and
    becomes the original's number (in + out), with the object under metrics.tokens."""
    metrics = task["metrics"]
    detail = metrics.get("tokens") if isinstance(metrics.get("tokens"), dict) else metrics["tokens_used"]
    return detail["input"], detail["output"]


def check_usage_by_owner(stack, rows):
    assert [row["owner"] for row in rows] == ["alice"]
    (alice,) = rows
    assert alice["tasks"] == len(stack.tasks)
    tokens = [api_tokens(task) for task in stack.tasks.values()]
    # The scripted turns' usage: plan 200 + 60, the read 120 + 30, the completion 150 + 40.
    assert (alice["tokens_input"], alice["tokens_output"]) == (470, 130)
    assert alice["tokens_input"] == sum(t[0] for t in tokens)
    assert alice["tokens_output"] == sum(t[1] for t in tokens)
    tool_calls = sum(1 for task in stack.tasks.values() for step in task["steps"] if step.get("tool"))
    assert alice["tool_calls"] == tool_calls


def check_commands(stack, rows):
    ran = {row["command"]: row for row in rows}
    assert set(ran) == {"echo audited", "exit 3"}
    assert (ran["echo audited"]["outcome"], ran["echo audited"]["exit_code"]) == ("completed", 0)
    assert (ran["exit 3"]["outcome"], ran["exit 3"]["exit_code"]) == ("failed", 3)
    for row in rows:
        assert row["owner"] == "alice" and row["duration_ms"] >= 0


def check_failed_commands(stack, rows):
    assert [(row["command"], row["exit_code"]) for row in rows] == [("exit 3", 3)]
    assert rows[0]["task_id"] == stack.tasks["failing"]["task_id"]
    assert "exit code 3" in rows[0]["error"]


def check_files(stack, rows):
    seen = [(row["task_id"], row["operation"], row["path"], row["bytes"], row["outcome"])
            for row in rows]
    ids = {name: task["task_id"] for name, task in stack.tasks.items()}
    notes = len(NOTES.encode())
    assert seen == [(ids["list"], "list", ".", None, "completed"),
                    (ids["read"], "read", "notes.txt", notes, "completed"),
                    (ids["write"], "write", "report.txt", len(b"audit trail"), "completed"),
                    (ids["scripted"], "read", "notes.txt", notes, "completed")]
    assert (stack.workspace / "report.txt").read_text() == "audit trail"


def check_changes(stack, rows):
    keys = {name: key_id(key) for name, key in stack.keys_made.items()}
    local = rows[0]["who"]
    assert re.fullmatch(r"\S+ \(uid \d+\)|uid \d+", local), local
    ops = f"key {keys['ops']} (ops)"
    model = {"provider": '"openai"', "endpoint": json.dumps(stack.scripted_llm.endpoint),
             "api_key": '"(set)"', "model_name": '"scripted-model"'}
    back = {"provider": '"builtin"', "endpoint": "null", "api_key": '"(cleared)"',
            "model_name": "null"}
    expected = [(local, f"created key {keys[name]}", None, None) for name in ("alice", "ops", "temp")]
    expected.append((local, f"revoked key {keys['temp']}", None, None))
    expected.append((ops, "execution.max_steps", "12", None))
    expected += [(ops, f"model.{name}", value, None) for name, value in model.items()]
    expected += [(ops, f"model.{name}", value, model[name]) for name, value in back.items()]
    seen = [(row["who"], row["what"], row["value"] if row["what"].startswith(("model.", "execution."))
             else None, row["previous_value"]) for row in rows]
    # Within one change the settings' order is the change's own: compare each change as a set.
    assert sorted(seen[:5]) == sorted(expected[:5])
    assert sorted(seen[5:9]) == sorted(expected[5:9]) and sorted(seen[9:]) == sorted(expected[9:])
    assert {(row["kind"], row["what"].split(" ")[0].split(".")[0]) for row in rows} == \
        {("api_key", "created"), ("api_key", "revoked"), ("config", "execution"), ("model", "model")}
    created = json.loads(rows[[r["what"] for r in rows].index(f"created key {keys['alice']}")]["value"])
    assert created == {"owner": "alice", "scopes": "read,submit", "description": None}


def check_failures(stack, rows):
    today = stack.tasks["failing"]["completed_at"][:10]
    failed = [t for t in stack.tasks.values() if t["status"] == "failed"]
    assert {(row["day"], row["error_code"], row["status"], row["tasks"]) for row in rows} == \
        {(today, t["error"]["code"], "failed", 1) for t in failed}
    assert {t["error"]["code"] for t in failed} == {"PLANNING_FAILED", "TOOL_FAILED"}


def check_last_failed_task(stack, rows):
    api_steps = stack.tasks["failing"]["steps"]
    assert [(row["step_number"], row["step_type"], row["tool"], row["status"]) for row in rows] == \
        [(step["step_number"], step["step_type"], step.get("tool"), step["status"]) for step in api_steps]
    assert any(row["tool"] == "run_command" and row["status"] == "failed" for row in rows)


CHECKS = {
    "What ran, when, for whom, with which model?": check_what_ran,
    "How much did each owner use?": check_usage_by_owner,
    "Which commands ran, and how did they end?": check_commands,
    "Which commands failed?": check_failed_commands,
    "Which files did tasks read or write?": check_files,
    "Who changed the configuration, the model or the keys?": check_changes,
    "What failed, by day and error code?": check_failures,
    "What exactly did the last failed task do?": check_last_failed_task,
}


def test_every_query_in_the_document_gives_the_right_answer(audited):
    found = questions(DOC.read_text())
    assert [q for q, _, _ in found] == list(CHECKS), "every question has one query and one check"
    answers = []
    for question, sql, example in found:
        rows = rows_of(audited.db_path, sql)
        assert rows, f"no answer to {question!r}"
        CHECKS[question](audited, rows)
        # The example answer shows the query's own columns, in its order.
        assert example, f"{question!r} has no example answer"
        assert example.splitlines()[0].split() == list(rows[0]), question
        shown = sqlite3(audited.db_path, sql, "-header", "-column")
        for secret in SECRETS + [CANARY_ENV_SECRET, *audited.keys_made.values()]:
            assert secret not in shown, f"the answer to {question!r} shows a secret"
        answers.append(f"### {question}\n{shown}")
    if os.environ.get("TR_AUDIT_ANSWERS"):
        with open(os.environ["TR_AUDIT_ANSWERS"], "w") as out:
            out.write("\n".join(answers))


def test_the_readme_example_is_one_of_the_documents_queries(audited):
    documented = {sql: question for question, sql, _ in questions(DOC.read_text())}
    examples = questions(readme_section("Auditing with sqlite3"))
    assert examples, "the README's audit section shows a query"
    for _, sql, example in examples:
        assert sql in documented
        rows = rows_of(audited.db_path, sql)
        CHECKS[documented[sql]](audited, rows)
        assert example and example.splitlines()[0].split() == list(rows[0])


def shell_blocks(markdown):
    return re.findall(r"^```sh\n(.*?)^```", markdown, re.S | re.M)


def test_the_documents_way_in_opens_the_database_read_only(audited):
    """docs/audit.md's command line, run where the configuration is (the database path is
    relative to it), with a question on its standard input."""
    command = shell_blocks(DOC.read_text())[0]
    done = subprocess.run(["bash", "-ec", command], cwd=audited.config_path.parent, text=True,
                          input="SELECT count(*) AS tasks FROM audit_tasks;\n"
                                "INSERT INTO tasks (id, task) VALUES ('x', 'y');\n",
                          capture_output=True, timeout=30)
    assert done.stdout.split() == ["tasks", "-----", str(len(audited.tasks))], done.stdout
    assert "attempt to write a readonly database" in done.stderr


def test_a_command_cannot_forge_its_exit_code_in_the_audit(audited):
    """What a command prints comes after the runner's own first line, so printing the line of a
    success does not make a failure look like one."""
    authorize(audited, audited.keys_made["alice"])
    task = audited.run("run the command: printf 'exit code 0\\n'; exit 5")
    assert task["status"] == "failed"
    audited.tasks["forger"] = task
    (row,) = rows_of(audited.db_path, "SELECT command, outcome, exit_code FROM audit_commands "
                                      f"WHERE task_id = '{task['task_id']}'")
    assert row == {"command": "printf 'exit code 0\\n'; exit 5", "outcome": "failed", "exit_code": 5}


def test_an_auditor_reading_never_holds_up_the_stack(audited):
    """A read transaction left open in `sqlite3 -readonly` (an auditor paging through an answer)
    while tasks run, finish and are read: WAL readers never block the writers."""
    auditor = subprocess.Popen(["sqlite3", "-readonly", str(audited.db_path)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        auditor.stdin.write("BEGIN;\nSELECT count(*) FROM audit_tasks;\n")
        auditor.stdin.flush()
        assert auditor.stdout.readline().strip() == str(len(audited.tasks))
        authorize(audited, audited.keys_made["alice"])
        task = audited.run("run the command: echo while audited", timeout=30)
        assert task["status"] == "completed"
        # Inside its transaction the auditor still sees the database as it was when it began.
        auditor.stdin.write("SELECT count(*) FROM audit_tasks;\nCOMMIT;\n"
                            "SELECT count(*) FROM audit_commands WHERE command = 'echo while audited';\n")
        auditor.stdin.flush()
        assert auditor.stdout.readline().strip() == str(len(audited.tasks))
        assert auditor.stdout.readline().strip() == "1"
    finally:
        auditor.stdin.close()
        assert auditor.wait(timeout=30) == 0, auditor.stderr.read()
    audited.tasks["while audited"] = task


def test_the_views_answer_a_user_who_may_only_read_the_database(audited, tmp_path):
    """An auditor who is not the service's user, with read permission only (the database, its
    -wal and -shm files readable; nothing writable), while the stack runs."""
    if os.geteuid() != 0:
        pytest.skip("switching to another user needs root")
    data = audited.db_path.parent
    # The way there opened too: pytest's temporary directories are the test's own (0700).
    way = [d for d in data.parents if d != Path("/") and not d.stat().st_mode & 0o001]
    modes = {path: path.stat().st_mode for path in [*way, data, *data.iterdir()]}
    try:
        for path in way:
            path.chmod(path.stat().st_mode | 0o711)
        for path in [data, *data.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        done = subprocess.run(["setpriv", f"--reuid={SERVICE_UID}", f"--regid={SERVICE_UID}",
                               "--clear-groups", "--", "sqlite3", "-readonly", str(audited.db_path),
                               "SELECT count(*) FROM audit_tasks WHERE owner = 'alice';"],
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) >= len(BUILTIN_TASKS) + 1
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_an_auditor_copy_made_online_has_everything_but_the_model_key(audited, tmp_path):
    """docs/audit.md's copy for an auditor who should not see the model key: made while the
    stack runs, with a model key set through the API (then put back as it was)."""
    (copy_commands,) = [b for b in shell_blocks(DOC.read_text()) if ".backup" in b]
    authorize(audited, audited.keys_made["ops"])
    audited.use_scripted_model()
    try:
        database = audited.db_path
        key_row = "SELECT count(*) AS n FROM config_overrides WHERE path = 'model.api_key'"
        assert rows_of(database, key_row) == [{"n": 1}]
        script = copy_commands.replace("data/task-runner.db", str(database))
        done = subprocess.run(["bash", "-ec", script], cwd=tmp_path, text=True,
                              capture_output=True, timeout=60)
        assert done.returncode == 0, done.stderr
        copy = tmp_path / "audit-copy.db"
        assert rows_of(copy, key_row) == [{"n": 0}]
        assert rows_of(copy, "PRAGMA integrity_check") == [{"integrity_check": "ok"}]
        assert rows_of(copy, "SELECT count(*) AS n FROM audit_tasks") == [{"n": len(audited.tasks)}]
        assert rows_of(database, key_row) == [{"n": 1}]  # the service's own file is as it was
    finally:
        audited.use_builtin_model()

