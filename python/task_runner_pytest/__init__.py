"""task_runner_pytest: test an integration against a real, private Task Runner stack.

Enable it with `-p task_runner_pytest` (or `pytest_plugins = ["task_runner_pytest"]` in your
top-level conftest.py); then a test asks for the `task_runner` fixture:

    def test_my_integration(task_runner):
        task = task_runner.run("write 'hello' to hello.txt")
        assert task["status"] == "completed"
        assert (task_runner.work / "hello.txt").read_text() == "hello"

`task_runner_factory(overrides={...})` makes more (or differently configured) stacks. The
programs are found through --task-runner-bin, $TR_BIN_DIR, the prefix this package was installed
into, or PATH. scripted_llm is the scripted model server the stacks can use in place of a real
model (Stack.use_scripted_model()), speaking the OpenAI and Anthropic wire formats.
"""

from .plugin import (StackFactory, pytest_addoption, pytest_runtest_makereport, stacks_of,
                     task_runner, task_runner_factory)
from .stack import (TERMINAL, Stack, find_bin_dir, free_port, libconfig_value, render_config,
                    wait_until)

__all__ = ["TERMINAL", "Stack", "StackFactory", "find_bin_dir", "free_port", "libconfig_value",
           "pytest_addoption", "pytest_runtest_makereport", "render_config", "stacks_of",
           "task_runner", "task_runner_factory", "wait_until"]
