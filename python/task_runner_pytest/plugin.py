"""The pytest side: the --task-runner-bin option, the task_runner and task_runner_factory
fixtures, and the stack's log in the report of a test that failed."""

import pytest

from .stack import Stack, find_bin_dir


def pytest_addoption(parser):
    group = parser.getgroup("task_runner", "Task Runner stacks (task_runner_pytest)")
    group.addoption("--task-runner-bin", metavar="DIR", default=None,
                    help="where the task-runner programs are (default: $TR_BIN_DIR, the prefix "
                         "this plugin was installed into, or PATH)")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for stack in getattr(item, "_stacks", []):
            report.sections.append((f"stack log ({stack.url})", stack.log()[-20000:]))


def stacks_of(node):
    """The stacks a test item made, whose logs its report carries if it fails."""
    if not hasattr(node, "_stacks"):
        node._stacks = []
    return node._stacks


class StackFactory:
    """make(overrides=None, env=None, start=True, **stack_arguments) -> a Stack in a directory of
    its own under `directory` (started unless start=False); shut_down_all() stops every one."""

    def __init__(self, directory, node, stack_class=Stack, name="stack", **defaults):
        self.directory = directory
        self.node = node
        self.stack_class = stack_class
        self.name = name
        self.defaults = defaults
        self.stacks = []

    def __call__(self, overrides=None, env=None, start=True, **arguments):
        stack = self.stack_class(self.directory / f"{self.name}{len(self.stacks)}", overrides, env,
                                 **{**self.defaults, **arguments})
        self.stacks.append(stack)
        stacks_of(self.node).append(stack)
        return stack.start() if start else stack

    def shut_down_all(self, **arguments):
        """Every stack is stopped, even when stopping one fails; the first failure is raised."""
        failure = None
        for stack in self.stacks:
            try:
                stack.shut_down(**arguments)
            except BaseException as error:  # noqa: B036 -- the others must stop too
                failure = failure or error
        if failure is not None:
            raise failure


@pytest.fixture
def task_runner_factory(request, tmp_path):
    """task_runner_factory(overrides={...}, env={...}) -> a started Stack with its own database,
    working directory and port; every one is stopped after the test."""
    bin_dir = find_bin_dir(request.config.getoption("task_runner_bin"))
    factory = StackFactory(tmp_path, request.node, name="task-runner", bin_dir=bin_dir)
    yield factory
    factory.shut_down_all()


@pytest.fixture
def task_runner(task_runner_factory):
    """A private stack for this test, with the builtin model (use_scripted_model() switches to
    the scripted LLM server): `url`, `submit`, `wait`, `run`, `db`, `work` ..."""
    return task_runner_factory()
