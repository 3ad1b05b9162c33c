# The plugin installed with Task Runner (`cmake --install`): its task_runner fixture starts a
# private stack for each test that asks for it.
pytest_plugins = ["task_runner_pytest"]
