"""The C++ client library as someone else's program uses it: `cmake --install` into a temporary
prefix, the installed examples built out of tree from there, once with find_package(TaskRunner)
and once with pkg-config (nothing of the source or build tree on the include or library path),
then run: the HTTP ones against a real stack, the in-process one with no server at all, as root
and as an unprivileged user; the database file then holds the task, completed, with its steps."""

import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import BIN, SERVICE_UID

BUILD = BIN.parent
EXAMPLES = ("http_client", "in_process", "batch")


def cache_value(name):
    """A setting of the build under test (its CMakeCache.txt), "" when unset."""
    cache = BUILD / "CMakeCache.txt"
    found = re.search(rf"^{name}:\w+=(.*)$", cache.read_text(), re.M) if cache.exists() else None
    return found.group(1) if found else ""


# A sanitizer build's library expects the sanitizer runtime of the program that loads it: the
# consumers are then built by the same compiler with the same sanitizers.
COMPILER = cache_value("CMAKE_CXX_COMPILER") or "c++"
SANITIZERS = ((["-fsanitize=address,undefined"] if "ON" in (cache_value("TR_SANITIZE"),
                                                            cache_value("TR_FUZZ")) else [])
              + (["-fsanitize=fuzzer-no-link"] if cache_value("TR_FUZZ") == "ON" else []))
CMAKE_CONSUMER = [f"-DCMAKE_CXX_COMPILER={COMPILER}", f"-DCMAKE_CXX_FLAGS={' '.join(SANITIZERS)}",
                  f"-DCMAKE_EXE_LINKER_FLAGS={' '.join(SANITIZERS)}"]


def run(command, timeout=300, **kwargs):
    done = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)
    return done


def checked(command, **kwargs):
    done = run(command, **kwargs)
    assert done.returncode == 0, f"{command}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def scratch():
    """A directory outside pytest's 0700 ones, so an unprivileged user can run what is in it."""
    directory = Path(tempfile.mkdtemp(prefix="tr-e2e-client-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def prefix(scratch):
    prefix = scratch / "prefix"
    checked(["cmake", "--install", BUILD, "--prefix", prefix])
    return prefix


@pytest.fixture(scope="module")
def consumers(prefix, scratch):
    """{"find_package": dir, "pkg-config": dir}, each holding the three examples, built from the
    installed example sources."""
    sources = prefix / "share" / "doc" / "task_runner" / "examples"
    built = {}
    cmake_build = scratch / "find-package"
    checked(["cmake", "-S", sources / "consumer", "-B", cmake_build, f"-DCMAKE_PREFIX_PATH={prefix}",
             *CMAKE_CONSUMER])
    checked(["cmake", "--build", cmake_build, "-j2"])
    built["find_package"] = cmake_build
    pkg_build = scratch / "pkg-config"
    pkg_build.mkdir()
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = checked(["pkg-config", "--cflags", "--libs", "task-runner-client"], env=env).stdout.split()
    libdir = checked(["pkg-config", "--variable=libdir", "task-runner-client"], env=env).stdout.strip()
    for example in EXAMPLES:
        checked([COMPILER, *SANITIZERS, "-std=c++17", "-Wall", "-Werror", sources / f"{example}.cpp", "-o",
                 pkg_build / example, *flags, f"-Wl,-rpath,{libdir}"])
    built["pkg-config"] = pkg_build
    return built


def test_the_install_has_a_versioned_library_headers_and_both_package_files(prefix):
    lib = prefix / "lib"
    assert (lib / "libtask-runner-client.so").resolve().name == "libtask-runner-client.so.0.1.0"
    assert os.readlink(lib / "libtask-runner-client.so.0") == "libtask-runner-client.so.0.1.0"
    assert (lib / "cmake" / "TaskRunner" / "TaskRunnerConfig.cmake").exists()
    assert (lib / "pkgconfig" / "task-runner-client.pc").exists()
    assert (prefix / "bin" / "task-runner-runner").exists()  # the in-process runner's watchdog
    # The headers need nothing but themselves and the standard library.
    headers = sorted((prefix / "include" / "task_runner").glob("*.h"))
    assert [h.name for h in headers] == ["client.h", "error.h", "types.h"]
    for header in headers:
        for name in re.findall(r"#include [<\"]([^>\"]+)", header.read_text()):
            assert name.startswith("task_runner/") or "." not in name, f"{header}: {name}"
    # Only the public API leaves the shared library.
    symbols = checked(["nm", "-DC", "--defined-only", lib / "libtask-runner-client.so"]).stdout
    names = [line.split(" ", 2)[2] for line in symbols.splitlines() if line.count(" ") >= 2]
    assert names and all("task_runner::" in n or n == "TASK_RUNNER_CLIENT_0" for n in names), names


@pytest.mark.parametrize("build", ["find_package", "pkg-config"])
def test_the_http_example_runs_a_task_on_a_real_stack(consumers, build, stack):
    done = run([consumers[build] / "http_client", stack.url, "list the files in ."], timeout=60)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    task_id = re.search(r"^task (\S+): completed$", done.stdout, re.M).group(1)
    assert re.search(r"^  step 1 \S+ \S+: completed$", done.stdout, re.M), done.stdout
    assert stack.get(f"/api/v1/tasks/{task_id}").json()["status"] == "completed"


@pytest.mark.parametrize("build", ["find_package", "pkg-config"])
def test_the_batch_example_runs_its_tasks_in_order(consumers, build, stack):
    done = run([consumers[build] / "batch", stack.url, "list the files in .", "run the command: echo one"], timeout=120)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    batch_id = re.search(r"^batch (\S+): 2 tasks$", done.stdout, re.M).group(1)
    assert "batch completed: 2 of 2 completed" in done.stdout
    rows = stack.query("SELECT status FROM tasks WHERE batch_id = ? ORDER BY batch_seq", (batch_id,))
    assert rows == [("completed",), ("completed",)]


def test_an_unreachable_server_is_exit_status_3(consumers):
    done = run([consumers["find_package"] / "http_client", "http://127.0.0.1:9"], timeout=60)
    assert done.returncode == 3, done
    assert "127.0.0.1:9" in done.stderr


def in_process_users():
    return [None, SERVICE_UID] if os.geteuid() == 0 else [None]


@pytest.mark.parametrize("build", ["find_package", "pkg-config"])
@pytest.mark.parametrize("user", in_process_users(), ids=lambda u: "own-user" if u is None else f"uid-{u}")
def test_the_in_process_example_executes_a_task_with_no_server(consumers, build, user, scratch):
    tmp_path = Path(tempfile.mkdtemp(prefix="in-process-", dir=scratch))
    work = tmp_path / "work"
    work.mkdir()
    (work / "README.md").write_text("# A project of the in-process test\n")
    data = tmp_path / "data"
    data.mkdir()
    command = [consumers[build] / "in_process", data / "tasks.db", work, "list the files in ."]
    if user is not None:
        for path in (tmp_path, work, data, work / "README.md"):
            os.chown(path, user, user)
        command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", "--", *command]
    done = run(command, timeout=120, cwd=tmp_path)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    task_id = re.search(r"^task (\S+) submitted$", done.stdout, re.M).group(1)
    assert "status: completed" in done.stdout
    assert re.search(r"^  step \d+ list_files: completed$", done.stdout, re.M), done.stdout
    with sqlite3.connect(f"file:{data / 'tasks.db'}?mode=ro", uri=True) as db:
        status, metadata = db.execute("SELECT status, metadata FROM tasks WHERE id = ?",
                                      (task_id,)).fetchone()
        steps = db.execute("SELECT tool, status FROM steps WHERE task_id = ? AND tool IS NOT NULL",
                           (task_id,)).fetchall()
        runner = db.execute("SELECT sandbox, stopped_at IS NOT NULL FROM runners").fetchall()
    assert status == "completed"
    assert '"example":"in_process"' in metadata.replace(" ", "")
    assert ("list_files", "completed") in steps
    assert runner == [("bubblewrap", 1)]  # its own runner, in the sandbox, stopped at the end


def readme_blocks():
    """The code blocks of the README's "C++ library" section: {"cpp": text, "sh": ..., "cmake": ...}."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("\n## C++ library\n", 1)[1].split("\n## ", 1)[0]
    return dict(re.findall(r"```(\w+)\n(.*?)```", section, re.S))


def test_the_readmes_program_and_commands_work_as_written(stack, scratch):
    blocks = readme_blocks()
    assert set(blocks) == {"cpp", "sh", "cmake"}
    directory = Path(tempfile.mkdtemp(prefix="readme-", dir=scratch))
    (directory / "app.cpp").write_text(blocks["cpp"])
    # The commands as written, but for the places: this build, a prefix of the test's, the stack.
    script = (blocks["sh"].replace("cmake --install build", f"cmake --install {BUILD}")
              .replace("/opt/task-runner", str(directory / "prefix"))
              .replace("http://127.0.0.1:8080", stack.url)
              .replace("c++ -std=c++17", " ".join([COMPILER, *SANITIZERS, "-std=c++17"])))
    done = run(["bash", "-euxo", "pipefail", "-c", script], timeout=300, cwd=directory)
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("completed: ")]
    assert len(lines) == 2, done.stdout  # over HTTP, then in-process
    with sqlite3.connect(f"file:{directory / 'tasks.db'}?mode=ro", uri=True) as db:
        assert db.execute("SELECT status FROM tasks").fetchall() == [("completed",)]
    # The CMake project, as written, builds the same program from the same prefix.
    (directory / "CMakeLists.txt").write_text(blocks["cmake"])
    checked(["cmake", "-S", directory, "-B", directory / "build",
             f"-DCMAKE_PREFIX_PATH={directory / 'prefix'}", *CMAKE_CONSUMER])
    checked(["cmake", "--build", directory / "build"])
    assert run([directory / "build" / "app", stack.url], timeout=60).returncode == 0
