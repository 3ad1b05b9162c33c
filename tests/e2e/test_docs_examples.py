"""Every example of the README, docs/ and the man page is run by a test.

The fenced blocks of README.md and docs/*.md (and the .EX blocks of the man page's EXAMPLES) are
read with their language and place. Every block of a language that runs (sh, cpp, sql, json,
python, cmake; every man page example) is in RUNNERS, the one table of what runs it: a test of
this file, which runs it here against a real stack, or a test of another file, which must exist
and define that test. A new example that nobody runs fails test_every_example_is_run with its
file:line, so the documents cannot grow an unrun example.

The blocks run here are run as written, but for the places a reader's machine has and ours has
not: http://127.0.0.1:8080 becomes the stack's URL, build/bin/ the programs under test
($TR_BIN_DIR), data/task-runner.db the stack's database, config/production.cfg the stack's
configuration, and a placeholder (0f6c..., 3f2a9c1d04be, sk-...) the real value of the lines
before it. A `serve` line runs with TASK_RUNNER_CONFIG naming a configuration on a free port.
"""

import json
import os
import re
import subprocess
import sys
from collections import namedtuple
from pathlib import Path

import pytest

from conftest import BIN, ROOT, remember_secret, wait_until

THIS_FILE = "tests/e2e/test_docs_examples.py"
MAN_PAGE = "cli/task-runner.1"
# Languages whose blocks are examples to run; text and unlabelled blocks are output, diagrams
# and file layouts.
RUNNABLE = {"sh", "cpp", "sql", "json", "python", "cmake"}

Block = namedtuple("Block", "document line language heading text")


def markdown_blocks(document):
    """Every fenced block of a Markdown file (relative to ROOT), with the nearest heading."""
    found, heading, start, language, lines = [], "", None, None, []
    for number, line in enumerate((ROOT / document).read_text().splitlines(), 1):
        if start is None and re.match(r"#{1,6} ", line):
            heading = line.lstrip("#").strip()
        elif start is None and line.startswith("```"):
            start, language, lines = number, line[3:].strip() or "none", []
        elif start is not None and line.startswith("```"):
            found.append(Block(document, start, language, heading, "\n".join(lines) + "\n"))
            start = None
        elif start is not None:
            lines.append(line)
    assert start is None, f"{document}:{start}: a block that is never closed"
    return found


def man_page_blocks():
    """The man page's EXAMPLES (.EX ... .EE), as a reader sees them (roff escapes undone)."""
    path = ROOT / MAN_PAGE
    if not path.exists():
        return []
    found, section, start, lines = [], "", None, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith(".SH "):
            section = line[4:].strip().strip('"')
        elif section == "EXAMPLES" and line.strip() == ".EX":
            start, lines = number, []
        elif start is not None and line.strip() == ".EE":
            text = "\n".join(lines).replace("\\-", "-").replace("\\e", "\\") + "\n"
            found.append(Block(MAN_PAGE, start, "sh", "EXAMPLES", text))
            start = None
        elif start is not None:
            lines.append(line)
    return found


def all_blocks():
    documents = ["README.md"] + sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))
    return [b for d in documents for b in markdown_blocks(d)] + man_page_blocks()


# -- what runs each example ------------------------------------------------------------------------

def here(test):
    return (THIS_FILE, test)


AUDIT = "tests/e2e/test_audit.py"
CLI = "tests/e2e/test_cli.py"
DEPLOY = "tests/e2e/test_deploy.py"
EVERY_AUDIT_QUERY = (AUDIT, "test_every_query_in_the_document_gives_the_right_answer")
# CI (.ci/run) runs the README's second line as it is written: checked in check_runner.
CI_RUNS_THE_TEST_LINE = (".ci/run", "the README's second line")

# The blocks run here, by (document, heading, how the block's first line starts).
INSTALL = ("README.md", "Task Runner", "apt-get update && apt-get install -y g++ cmake ")
ZHIPU_LINE = ("README.md", "Models", 'model = { provider = "zhipu"; model_name = "glm-4";')
MODEL_ENVIRONMENT = ("README.md", "Models", "TASK_RUNNER_MODEL_PROVIDER=openai TASK_RUNNER_MODEL_ENDPOINT=")
MODEL_PUT = ("README.md", "Models", "curl -X PUT http://127.0.0.1:8080/api/v1/config/model")
USING_IT = ("README.md", "Using it", "curl -s -X POST http://127.0.0.1:8080/api/v1/tasks")
KEYS = ("README.md", "API keys", "build/bin/task-runner keys create")
REQUEST_BODY = ("README.md", "Metrics", '{"task": "list the files in ."')
CRASH_SQL = ("README.md", "Crashes, stalls and what is guaranteed", "SELECT id, attempts, status FROM tasks")
TABLES_SQL = ("README.md", "Where the data lives", "-- what ran, how it ended")
BROKEN_FILE = ("README.md", "Configuration", "config/task-runner.cfg:23: execution.max_steps must be")
RETENTION = "tests/e2e/test_retention.py"
FUZZ_LONG_RUN = ("README.md", "Fuzzing", "tests/fuzz/long_run.sh build-asan 1800 fuzz-run")

# (document, heading, how the block's first line starts) -> the tests that run it.
RUNNERS = {
    INSTALL: [CI_RUNS_THE_TEST_LINE, here("test_the_first_command_serves_the_demo")],
    # Not a language that runs, but an example all the same: a line of the config file.
    ZHIPU_LINE: [here("test_the_model_from_the_config_file")],
    MODEL_ENVIRONMENT: [here("test_the_model_from_the_environment")],
    MODEL_PUT: [here("test_the_model_on_a_running_service")],
    USING_IT: [here("test_a_task_through_curl_and_its_row_in_sqlite3")],
    ("README.md", "Command line", 'task-runner task "list the files in ."'):
        [(CLI, "test_the_readme_command_line_examples_run")],
    ("README.md", "Command line", "printf 'list the files in .\\nrun the command: date -u\\n'"):
        [(CLI, "test_the_readme_command_line_examples_run")],
    KEYS: [here("test_keys_are_made_listed_and_revoked")],
    ("README.md", "Webhooks", "import hashlib"):
        [("tests/e2e/test_webhooks.py", "test_a_receiver_that_fails_twice_gets_three_signed_attempts")],
    REQUEST_BODY: [here("test_the_request_body_runs")],
    ("README.md", "C++ library", "#include <task_runner/client.h>"):
        [("tests/e2e/test_client_library.py", "test_the_readmes_program_and_commands_work_as_written")],
    ("README.md", "C++ library", "cmake --install build --prefix /opt/task-runner"):
        [("tests/e2e/test_client_library.py", "test_the_readmes_program_and_commands_work_as_written")],
    ("README.md", "C++ library", "cmake_minimum_required(VERSION 3.16)"):
        [("tests/e2e/test_client_library.py", "test_the_readmes_program_and_commands_work_as_written")],
    CRASH_SQL: [here("test_the_sql_of_the_readme_runs_on_a_real_database")],
    TABLES_SQL: [here("test_the_sql_of_the_readme_runs_on_a_real_database")],
    ("README.md", "Auditing with sqlite3", "SELECT owner, count(*) AS tasks"):
        [(AUDIT, "test_the_readme_example_is_one_of_the_documents_queries")],
    # What serve says about a broken file (output, not a command): produced here.
    BROKEN_FILE: [here("test_a_broken_file_is_refused_as_shown")],
    FUZZ_LONG_RUN: [here("test_the_long_fuzz_run")],
    ("README.md", "Testing your integration with pytest", "def test_the_nightly_report_is_written"):
        [("tests/e2e/test_pytest_plugin.py", "test_the_example_readme_says_what_the_readme_says"),
         ("tests/e2e/test_pytest_plugin.py", "test_the_example_project_passes_against_the_installed_plugin")],
    ("README.md", "Testing your integration with pytest", 'cmake --install build --prefix "$PREFIX"'):
        [("tests/e2e/test_pytest_plugin.py", "test_the_example_project_passes_against_the_installed_plugin")],
    ("docs/audit.md", "Auditing with sqlite3", "sqlite3 -readonly -header -column data/task-runner.db"):
        [(AUDIT, "test_the_documents_way_in_opens_the_database_read_only")],
    ("docs/audit.md", "Auditing with sqlite3", 'sqlite3 data/task-runner.db ".backup audit-copy.db"'):
        [(AUDIT, "test_an_auditor_copy_made_online_has_everything_but_the_model_key")],
    ("docs/audit.md", "What ran, when, for whom, with which model?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "How much did each owner use?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "Which commands ran, and how did they end?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "Which commands failed?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "Which files did tasks read or write?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "Who changed the configuration, the model or the keys?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "What failed, by day and error code?", "SELECT "): [EVERY_AUDIT_QUERY],
    ("docs/audit.md", "What exactly did the last failed task do?", "SELECT "): [EVERY_AUDIT_QUERY],
    # docs/deploy.md: its sh blocks, in a staging root or against the installed programs.
    ("docs/deploy.md", "1. Build and install", "cmake --install build --prefix /usr"):
        [(DEPLOY, "test_the_guides_install_commands_run_as_written")],
    ("docs/deploy.md", "1. Build and install", "systemd-sysusers /usr/lib/sysusers.d/"):
        [(DEPLOY, "test_the_guides_install_commands_run_as_written")],
    ("docs/deploy.md", "4. TLS and nginx", "task-runner nginx-site --tls-certificate"):
        [(DEPLOY, "test_a_task_runs_through_the_installed_programs_behind_nginx_with_tls")],
    ("docs/deploy.md", "5. The first task", "curl -s -H \"Authorization: Bearer $KEY\""):
        [(DEPLOY, "test_a_task_runs_through_the_installed_programs_behind_nginx_with_tls")],
    ("README.md", "Retention and backup", "build/bin/task-runner prune --older-than 90d --dry-run"):
        [(RETENTION, "test_the_readme_examples_run_as_written")],
    ("README.md", "Retention and backup", "build/bin/task-runner backup /var/backups/task-runner/"):
        [(RETENTION, "test_the_readme_examples_run_as_written")],
    ("README.md", "Retention and backup", "build/bin/task-runner restore /var/backups/task-runner/"):
        [(RETENTION, "test_the_readme_examples_run_as_written")],
    (MAN_PAGE, "EXAMPLES", 'task-runner task "list the files in ."'):
        [(CLI, "test_the_man_page_examples_run")],
    (MAN_PAGE, "EXAMPLES", "30 2 * * * task-runner submit"):
        [(CLI, "test_the_man_page_examples_run"),  # it is the shipped crontab's job line
         ("tests/e2e/test_cron.py", "test_the_crontab_command_twice_creates_the_batch_once")],
}


def first_line(block):
    return next((line for line in block.text.splitlines() if line.strip()), "")


def entries_of(block):
    return [key for key in RUNNERS
            if key[0] == block.document and key[1] == block.heading and first_line(block).startswith(key[2])]


def block(document, heading, starts):
    """The one block RUNNERS names with this key (what the tests here run)."""
    assert (document, heading, starts) in RUNNERS
    (found,) = [b for b in all_blocks() if (document, heading, starts) in entries_of(b)]
    return found


def check_runner(runner):
    """A problem with one runner of the table, or None."""
    path, test = runner
    if runner == CI_RUNS_THE_TEST_LINE:
        second = block(*INSTALL)
        line = second.text.splitlines()[1]
        return None if line in (ROOT / path).read_text().splitlines() else \
            f"{path} does not run the README's second line as written"
    if not (ROOT / path).is_file():
        return f"{path} does not exist"
    needle = test if test.startswith("def ") else f"def {test}("
    return None if needle in (ROOT / path).read_text() else f"{path} has no {needle}"


def test_every_example_is_run():
    problems = []
    for b in all_blocks():
        entries = entries_of(b)
        place = f"{b.document}:{b.line} ({b.heading}, {b.language}: {first_line(b)[:60]!r})"
        if b.language in RUNNABLE or b.document == MAN_PAGE:
            if not entries:
                problems.append(f"{place}: no test runs this example; run it in {THIS_FILE} or name "
                                "the test that does in its RUNNERS table")
            elif len(entries) > 1:
                problems.append(f"{place}: RUNNERS names it {len(entries)} times: {entries}")
        problems.extend(f"{place}: {p}" for e in entries for r in RUNNERS[e] if (p := check_runner(r)))
    matched = {e for b in all_blocks() for e in entries_of(b)}
    problems.extend(f"RUNNERS names a block that is not there (any more): {key}"
                    for key in RUNNERS if key not in matched)
    assert problems == [], "\n".join(problems)


def test_the_table_catches_an_unrun_example(tmp_path, monkeypatch):
    """The check itself: a new block in a document, and an entry whose test is gone, are named."""
    readme = (ROOT / "README.md").read_text() + "\n## New\n\n```sh\nrm -rf /tmp/nothing-runs-this\n```\n"
    fake_root = tmp_path / "root"
    (fake_root / "docs").mkdir(parents=True)
    (fake_root / "README.md").write_text(readme)
    for path in [*(ROOT / "docs").glob("*.md"), ROOT / MAN_PAGE, ROOT / ".ci" / "run"]:
        if path.exists():
            (fake_root / path.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
            (fake_root / path.relative_to(ROOT)).write_text(path.read_text())
    for path, _ in {r for runners in RUNNERS.values() for r in runners}:
        if (ROOT / path).is_file() and not (fake_root / path).exists():
            (fake_root / path).parent.mkdir(parents=True, exist_ok=True)
            (fake_root / path).write_text((ROOT / path).read_text().replace(
                "def test_the_man_page_examples_run(", "def test_renamed("))
    monkeypatch.setattr(sys.modules[__name__], "ROOT", fake_root)
    with pytest.raises(AssertionError) as failure:
        test_every_example_is_run()
    lines = readme.splitlines()
    line = len(lines) - 2  # the ```sh line
    assert lines[line - 1] == "```sh"
    assert f"README.md:{line} (New, sh: 'rm -rf /tmp/nothing-runs-this'): no test runs" in str(failure.value)
    assert f"{CLI} has no def test_the_man_page_examples_run(" in str(failure.value)


# -- running the examples here ---------------------------------------------------------------------

def commands(text):
    """The block's commands: continued lines joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.split("   #")[0].strip() for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def comments(text):
    return [line.lstrip()[1:].strip() for line in text.splitlines() if line.lstrip().startswith("#")]


def places(command, stack):
    return (command.replace("http://127.0.0.1:8080", stack.url)
            .replace("build/bin/", f"{BIN}/")
            .replace("data/task-runner.db", str(stack.db_path))
            .replace("config/production.cfg", str(stack.config_path)))


def sh(command, cwd=None, **env):
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", command], capture_output=True, text=True,
                          timeout=60, cwd=cwd, stdin=subprocess.DEVNULL, env=dict(os.environ, **env))
    assert done.returncode == 0, f"{command}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def serve(stack, command, **env):
    """Runs a block's `serve` line (places rewritten) as the launcher of the unstarted `stack`,
    on the stack's configuration through TASK_RUNNER_CONFIG; returns once it is healthy. The
    stack's shut_down stops it as it stops any stack."""
    log = open(stack.log_path, "wb")
    stack.process = subprocess.Popen(
        ["bash", "-c", places(command, stack)], stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True, cwd=stack.directory,
        env=dict(stack.env, TASK_RUNNER_CONFIG=str(stack.config_path), **env))
    log.close()
    wait_until(stack._healthy, timeout=30, message=f"`{command}` to serve on {stack.url}")
    # bash ran the one command in its place, so the launcher is the process stopped at the end.
    assert Path(f"/proc/{stack.process.pid}/exe").resolve().name == "task-runner"
    stack.started_pids = stack.component_pids()
    return stack


def test_the_first_command_serves_the_demo(make_stack):
    """The first line's last command (installing and building are CI's): the stack starts, runs
    the demo task and prints its result, then keeps serving."""
    line = block(*INSTALL).text.splitlines()[0]
    command = line.rsplit(" && ", 1)[1]
    assert command == "build/bin/task-runner serve --demo"
    stack = make_stack(start=False)
    (stack.work / "README.md").write_text("# Demo project\n\nThis project shows the demo.\n\n## Use\n")
    serve(stack, command)
    wait_until(lambda: "The stack keeps serving on" in stack.log(), timeout=30, message="the demo's end")
    log = stack.log()
    assert "Demo task: read the file README.md and summarize it" in log
    assert "Demo project" in log and "This project shows the demo." in log, log
    (task,) = stack.get("/api/v1/tasks").json()["tasks"]
    assert task["status"] == "completed" and task["task"] == "read the file README.md and summarize it"
    assert stack.get("/health").status_code == 200  # still serving
    stack.shut_down()


def test_the_model_from_the_environment(make_stack):
    """The DeepSeek and Ollama lines, each serving until its configuration shows the provider,
    endpoint and model it set (and the key only as "set"); no model is called offline."""
    lines = commands(block(*MODEL_ENVIRONMENT).text)
    assert len(lines) == 2
    key = "sk-docs-example-deepseek-key-61c0"
    remember_secret(key)
    # What each sets (the local one's endpoint is its provider's default), and where it goes.
    expected = [
        ({"provider": "openai", "endpoint": "https://api.deepseek.com/v1", "model_name": "deepseek-chat",
          "api_key": "set"}, "https://api.deepseek.com/v1"),
        ({"provider": "local", "endpoint": "", "model_name": "qwen2.5", "api_key": "unset"},
         "http://127.0.0.1:11434/v1"),
    ]
    for line, (want, endpoint) in zip(lines, expected):
        assert "sk-..." in line or want["api_key"] == "unset"
        stack = serve(make_stack(start=False), line.replace("sk-...", key))
        config = stack.get("/api/v1/config")
        status = stack.get("/api/v1/status")
        assert config.status_code == 200 and status.status_code == 200
        model = config.json()["model"]
        assert {k: model[k] for k in want} == want, model
        sources = config.json()["sources"]
        assert sources["model.provider"] == "TASK_RUNNER_MODEL_PROVIDER"
        assert sources["model.model_name"] == "TASK_RUNNER_MODEL_NAME"
        # The status names the model the next task runs with.
        resolved = status.json()["model"]["resolved"]
        assert resolved == {"provider": want["provider"], "model": want["model_name"],
                            "endpoint": endpoint}, status.text
        for answer in (config, status):
            assert key not in answer.text
        stack.shut_down()
        assert key not in stack.log()


def test_the_model_from_the_config_file(make_stack):
    """The Zhipu line in a config file, its key from TASK_RUNNER_API_KEY as its comment says."""
    line = block(*ZHIPU_LINE).text
    key = "zhipu-docs-example-key-4b7e"
    remember_secret(key)
    stack = make_stack(start=False)
    stack.config_path.write_text(stack.config_path.read_text() + line)
    serve(stack, "build/bin/task-runner serve", TASK_RUNNER_API_KEY=key)
    config = stack.get("/api/v1/config").json()
    assert (config["model"]["provider"], config["model"]["model_name"], config["model"]["api_key"]) == \
        ("zhipu", "glm-4", "set"), config["model"]
    line_number = len(stack.config_path.read_text().splitlines())
    assert config["sources"]["model.provider"] == f"{stack.config_path}:{line_number}"
    assert config["sources"]["model.api_key"] == "TASK_RUNNER_API_KEY"
    resolved = stack.get("/api/v1/status").json()["model"]["resolved"]
    assert resolved == {"provider": "zhipu", "model": "glm-4",
                        "endpoint": "https://open.bigmodel.cn/api/paas/v4"}, resolved
    stack.shut_down()


def test_the_model_on_a_running_service(stack):
    """The three PUTs: OpenAI, then Anthropic, then back to what the file says; each answer and
    the configuration show the model set, the key never."""
    lines = commands(block(*MODEL_PUT).text)
    assert len(lines) == 3
    keys = {"sk-ant-...": "sk-ant-docs-example-key-0d4e", "sk-...": "sk-docs-example-openai-key-93b2"}
    for value in keys.values():
        remember_secret(value)
    before = stack.get("/api/v1/config").json()["model"]
    changes_before = stack.query("SELECT count(*) FROM config_changes")[0][0]
    try:
        answers = []
        for line in lines:
            for placeholder, value in keys.items():
                line = line.replace(f'"{placeholder}"', f'"{value}"')
            answers.append((sh(places(line, stack)), stack.get("/api/v1/config").json()["model"]))
        for answer, _ in answers:
            assert all(value not in answer for value in keys.values()), answer
        (openai, openai_config), (anthropic, anthropic_config), (reverted, reverted_config) = answers
        assert json.loads(openai)["model"]["provider"] == "openai", openai
        assert (openai_config["provider"], openai_config["model_name"], openai_config["api_key"]) == \
            ("openai", "gpt-4o-mini", "set")
        assert json.loads(anthropic)["model"]["provider"] == "anthropic", anthropic
        assert (anthropic_config["provider"], anthropic_config["model_name"], anthropic_config["max_tokens"],
                anthropic_config["api_key"]) == ("anthropic", "claude-3-5-sonnet-latest", 4000, "set")
        # Back to the file's setting: max_tokens, set by the second and not reverted, stays.
        assert {k: v for k, v in reverted_config.items() if k != "max_tokens"} == \
            {k: v for k, v in before.items() if k != "max_tokens"}, reverted
        # Each PUT is one recorded change, the key only as "(set)".
        changes = stack.query("SELECT change FROM config_changes ORDER BY id")[changes_before:]
        assert len(changes) == 3, changes
        assert all(value not in str(changes) for value in keys.values())
        assert "(set)" in changes[0][0]
    finally:
        stack.put("/api/v1/config/model", {"provider": None, "model_name": None, "api_key": None,
                                           "endpoint": None, "max_tokens": None})


def test_a_task_through_curl_and_its_row_in_sqlite3(stack):
    text = block(*USING_IT).text
    post, get, select = commands(text)
    (shown,) = comments(text)
    accepted = json.loads(sh(places(post, stack)))
    assert set(accepted) == set(json.loads(shown)) and accepted["status"] == "queued", accepted
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", accepted["created_at"])
    task_id = accepted["task_id"]
    stack.wait_for(task_id)
    assert "0f6c..." in get
    task = json.loads(sh(places(get.replace("0f6c...", task_id), stack)))
    assert task["task_id"] == task_id and task["status"] == "completed", task
    assert [s["tool"] for s in task["steps"] if s.get("tool")] == ["list_files"]
    rows = sh(places(select, stack)).splitlines()
    assert f"{task_id}|completed" in rows, rows


def listed_keys(output):
    """`keys list`'s table: {id: {column: value}}."""
    header, *rows = output.splitlines()
    columns = re.split(r"\s{2,}", header.strip())
    return {row.split()[0]: dict(zip(columns, re.split(r"\s{2,}", row.strip()))) for row in rows}


def test_keys_are_made_listed_and_revoked(stack):
    create, listing, revoke = commands(block(*KEYS).text)
    key = sh(places(create, stack)).strip()
    remember_secret(key)
    match = re.fullmatch(r"trk_([0-9a-f]+)_\S+", key)
    assert match, "keys create prints the key, and only the key"
    key_id = match.group(1)
    listed = sh(places(listing, stack))
    assert key.split("_")[2] not in listed
    assert listed_keys(listed)[key_id] == dict(listed_keys(listed)[key_id], OWNER="alice", SCOPES="read,submit",
                                               REVOKED="-")
    assert "3f2a9c1d04be" in revoke
    sh(places(revoke.replace("3f2a9c1d04be", key_id), stack))
    (revoked_at,) = stack.query("SELECT revoked_at FROM api_keys WHERE id = ?", (key_id,))[0]
    assert revoked_at is not None
    assert listed_keys(sh(places(listing, stack)))[key_id]["REVOKED"] == revoked_at


def test_the_request_body_runs(stack):
    body = json.loads(block(*REQUEST_BODY).text)
    (stack.work / "src").mkdir(exist_ok=True)
    (stack.work / "src" / "main.cpp").write_text("int main() {}\n")
    answer = stack.post("/api/v1/tasks", body)
    assert answer.status_code in (200, 202), answer.text
    task = stack.wait_for(body["task_id"])
    assert task["status"] == "completed", (task["error"], task["steps"])
    assert (task["priority"], task["metadata"]) == ("high", {"ticket": "OPS-12"})
    (listing,) = [s for s in task["steps"] if s.get("tool") == "list_files"]
    assert "main.cpp" in json.dumps(listing["output"]), listing


def sqlite3_json(database, sql):
    """What the sqlite3 command-line tool prints for `sql`, read-only, as JSON: one array of rows
    for each statement that has rows (it prints nothing for one without)."""
    done = subprocess.run(["sqlite3", "-readonly", "-bail", "-json", str(database), sql],
                          capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode == 0 and done.stderr == "", f"{sql}\n{done.stderr}"
    return done.stdout


def sqlite3_rows(database, statement):
    out = sqlite3_json(database, statement)
    return json.loads(out) if out.strip() else []


def test_the_sql_of_the_readme_runs_on_a_real_database(stack):
    task = stack.run("run the command: echo docs-example")
    assert task["status"] == "completed", task
    crashes = block(*CRASH_SQL).text
    # No task here ran twice: both queries answer, with no rows.
    assert sqlite3_json(stack.db_path, crashes) == ""
    tables = block(*TABLES_SQL).text
    assert "task_id = '...'" in tables
    # One query a line, each under its comment.
    statements = [line for line in tables.replace("'...'", f"'{task['task_id']}'").splitlines()
                  if not line.startswith("--")]
    assert len(statements) == 8 and all(s.startswith("SELECT ") for s in statements), statements
    tasks, commands_run, life, runners, *_ = [sqlite3_rows(stack.db_path, s) for s in statements]
    assert task["task_id"] in [row["id"] for row in tasks]
    assert {"json_extract(input, '$.command')": "echo docs-example", "status": "completed"}.items() <= \
        next(row for row in commands_run if row["task_id"] == task["task_id"]).items()
    assert [(row["from_status"], row["to_status"]) for row in life][-2:] == \
        [("queued", "running"), ("running", "completed")], life
    assert len(runners) == 1 and runners[0]["active_tasks"] >= 0


def test_a_broken_file_is_refused_as_shown(tmp_path):
    """A file with the problems the README shows, on the lines it shows, and the variable: serve
    names each with its place (in an order of its own) and exits non-zero."""
    shown = block(*BROKEN_FILE).text
    lines = ["execution = {"] + ["  # filler"] * 21 + ["  max_steps = 0;", "};", "service = {"] + \
        ["  # filler"] * 15 + ["  cros = {};", "};"]
    assert (lines[22], lines[40]) == ("  max_steps = 0;", "  cros = {};")  # lines 23 and 41
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "task-runner.cfg").write_text("\n".join(lines) + "\n")
    done = subprocess.run([str(BIN / "task-runner"), "serve", "--config", "config/task-runner.cfg"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                          env=dict(os.environ, TASK_RUNNER_LOG_LEVEL="loud"))
    assert done.returncode != 0
    said = [line.removeprefix("task-runner: ").replace(f"{tmp_path}/", "") for line in done.stderr.splitlines()]
    for line in shown.splitlines():
        start = line.split("...")[0]
        assert any(s == line or (line.endswith("...)") and s.startswith(start)) for s in said), (line, said)


def test_the_long_fuzz_run(tmp_path):
    """The long run, for two seconds of one target: the fuzz targets are built only with
    -DTR_FUZZ=ON (build-asan, which CI's e2e run tests); other builds skip it."""
    (line,) = commands(block(*FUZZ_LONG_RUN).text)
    assert line == "tests/fuzz/long_run.sh build-asan 1800 fuzz-run"
    if not (BIN / "fuzz_retry_after").exists():
        pytest.skip(f"{BIN} has no fuzz targets (built with -DTR_FUZZ=ON only)")
    out = tmp_path / "fuzz-run"
    command = line.replace("build-asan", str(BIN.parent)).replace(" 1800 ", " 2 ") \
        .replace("fuzz-run", str(out)) + " retry_after"
    done = sh(command, cwd=ROOT)
    assert re.search(r"^retry_after: 2 s from \d{4}-", done, re.M), done
    assert re.search(r"^stat::number_of_executed_units: \d+", done, re.M), done
    assert not list((out / "retry_after").glob("crash-*"))
