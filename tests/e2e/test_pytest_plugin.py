"""The pytest plugin we ship (python/task_runner_pytest): installed with `cmake --install` into a
temporary prefix, it runs examples/pytest exactly as the README says; it finds the programs of
its prefix; a failing test's report carries the stack's log and nothing of a stack outlives its
test; and this suite's own task_runner fixture (the plugin's, with the suite's checks) works."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BIN, ROOT, wait_until

README = ROOT / "README.md"
EXAMPLE = ROOT / "examples" / "pytest"
PYTHON_DIR = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/dist-packages"


def section(text, title):
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def blocks(text, language):
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def readme_commands():
    (commands,) = blocks(section(README.read_text(), "Testing your integration with pytest"), "sh")
    return commands


def clean_environment(**extra):
    """The environment of a user's shell: Debian's python first, no TR_BIN_DIR unless given."""
    env = {k: v for k, v in os.environ.items() if k not in ("TR_BIN_DIR", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin:" + env.get("PATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A source tree's view (build and examples, as links) and a prefix the build was installed
    into, by the README's own lines; yields (tree, prefix, the lines' run)."""
    tree = tmp_path_factory.mktemp("tree")
    (tree / "build").symlink_to(BIN.parent)
    (tree / "examples").symlink_to(ROOT / "examples")
    prefix = tmp_path_factory.mktemp("prefix")
    basetemp = tmp_path_factory.mktemp("example-basetemp")
    done = subprocess.run(
        ["bash", "-ec", readme_commands()], cwd=tree, capture_output=True, text=True, timeout=600,
        env=clean_environment(PREFIX=str(prefix),
                              PYTEST_ADDOPTS=f"-p no:cacheprovider --basetemp={basetemp}"))
    return tree, prefix, done


def test_the_example_project_passes_against_the_installed_plugin(installed):
    _, prefix, done = installed
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b2 passed\b", done.stdout), done.stdout
    package = prefix / PYTHON_DIR / "task_runner_pytest"
    assert sorted(p.name for p in package.glob("*.py")) == \
        ["__init__.py", "_layout.py", "plugin.py", "scripted_llm.py", "stack.py"]
    assert (package / "_layout.py").read_text().endswith('BIN_FROM_PACKAGE = "../../../../bin"\n')


def test_the_example_readme_says_what_the_readme_says():
    (example_commands,) = blocks((EXAMPLE / "README.md").read_text(), "sh")
    assert example_commands == readme_commands()
    (snippet,) = blocks(section(README.read_text(), "Testing your integration with pytest"), "python")
    assert snippet in (EXAMPLE / "test_nightly_report.py").read_text()


def find_bin_dir(prefix, **env):
    return subprocess.run(
        ["/usr/bin/python3", "-c", "from task_runner_pytest.stack import find_bin_dir; print(find_bin_dir())"],
        capture_output=True, text=True, timeout=60, cwd="/",
        env=clean_environment(PYTHONPATH=str(prefix / PYTHON_DIR), **env))


def test_the_installed_plugin_finds_the_programs_of_its_prefix(installed):
    _, prefix, _ = installed
    for program in ("task-runner", "task-runner-fcgi", "task-runner-runner"):
        assert (prefix / "bin" / program).is_file(), program  # cmake --install put every one
    assert find_bin_dir(prefix).stdout.strip() == str(prefix / "bin")
    given = find_bin_dir(prefix, TR_BIN_DIR=str(BIN))
    assert given.stdout.strip() == str(BIN)  # the environment goes first
    hidden = prefix / "bin.hidden"
    (prefix / "bin").rename(hidden)
    try:
        missing = find_bin_dir(prefix)
        assert missing.returncode != 0 and "--task-runner-bin DIR or set TR_BIN_DIR" in missing.stderr
    finally:
        hidden.rename(prefix / "bin")


def test_a_failing_test_reports_the_stack_log_and_leaves_nothing_running(installed, tmp_path):
    _, prefix, _ = installed
    project = tmp_path / "project"
    project.mkdir()
    pid_file = tmp_path / "pids"
    (project / "test_failing.py").write_text(textwrap.dedent(f"""
        def test_fails(task_runner):
            with open({str(pid_file)!r}, "w") as out:
                out.write(" ".join(map(str, [task_runner.process.pid, *task_runner.component_pids()])))
            assert task_runner.run("run the command: exit 4")["status"] == "completed"
    """))
    done = subprocess.run(
        ["/usr/bin/python3", "-m", "pytest", "-p", "task_runner_pytest", "-p", "no:cacheprovider",
         f"--basetemp={tmp_path / 'basetemp'}", f"--task-runner-bin={BIN}", str(project)],
        capture_output=True, text=True, timeout=300, cwd=project,
        env=clean_environment(PYTHONPATH=str(prefix / PYTHON_DIR)))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 failed" in done.stdout
    assert re.search(r"stack log \(http://127\.0\.0\.1:\d+\)", done.stdout), done.stdout
    assert "event=task." in done.stdout  # the log itself
    pids = [int(pid) for pid in pid_file.read_text().split()]
    assert len(pids) >= 4  # the launcher, nginx (and its workers), the handlers, the runner
    # Reaped by init once their parents are gone: a moment, so polled.
    wait_until(lambda: not [pid for pid in pids if Path(f"/proc/{pid}").exists()], timeout=10,
               message="every process of the failed test's stack to be gone")


def test_this_suites_task_runner_fixture_is_the_plugins(task_runner):
    task = task_runner.run("write 'plugged in' to plugged.txt")
    assert task["status"] == "completed"
    assert (task_runner.work / "plugged.txt").read_text() == "plugged in"
    assert task_runner.db.execute("SELECT count(*) FROM steps WHERE task_id = ?",
                                  (task["task_id"],)).fetchone()[0] == len(task["steps"])
    assert task_runner.env["TR_E2E_CANARY"]  # the suite's Stack, with its canary
