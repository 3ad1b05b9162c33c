"""The secrets canary, run last (files are collected in name order): after every other test,
no log line, step or database row of any stack the suite started holds a key it used (the
canaries of conftest.py, every model key the tests configured, every API key they made),
except where keys belong: config_overrides' model.api_key value (a model key set through the API). Response
bodies were checked as they arrived (conftest.no_secret_in_responses); stacks whose directory
a test removes are checked before it does (test_sandbox.user_jail)."""

import pytest

from conftest import STACK_DIRECTORIES, secrets_in


def test_no_secret_is_in_any_log_step_or_row():
    if len(STACK_DIRECTORIES) < 5:
        pytest.skip("run with the rest of the suite: it checks what the other tests left")
    leaks = [leak for directory in STACK_DIRECTORIES for leak in secrets_in(directory)]
    assert leaks == []
