"""API keys and scopes: who may call what, who sees whose tasks, and where a key may (not) be seen.

Keys are made with `task-runner keys create`, as an operator would; requests go through nginx to
the handlers with `Authorization: Bearer KEY` or `X-API-Key: KEY`.
"""

import base64
import hashlib
import json
import os
import re
import sqlite3
import stat

import pytest
import requests

from conftest import ROOT, TERMINAL, Stack, wait_until

LONG_COMMAND = "run the command: sleep 30"


def create_key(stack, owner, scopes):
    done = stack.keys("create", "--owner", owner, "--scopes", scopes)
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout
    key = done.stdout.strip()
    assert re.fullmatch(r"trk_[0-9a-f]{12}_[0-9a-f]{64}", key), key
    return key


def key_id(key):
    return key.split("_")[1]


def key_secret(key):
    return key.split("_")[2]


def call(stack, method, path, key=None, header="bearer", body=None, raw=None, headers=None, timeout=15):
    """One request; the key goes in `Authorization: Bearer` or `X-API-Key` as `header` says."""
    sent = dict(headers or {})
    if key is not None:
        if header == "bearer":
            sent["Authorization"] = f"Bearer {key}"
        else:
            sent["X-API-Key"] = key
    kwargs = {"data": raw} if raw is not None else {"json": body} if body is not None else {}
    return requests.request(method, stack.url + path, headers=sent, timeout=timeout, **kwargs)


def submit(stack, key, task="list the files in .", **fields):
    response = call(stack, "POST", "/api/v1/tasks", key, body=dict(task=task, **fields))
    assert response.status_code == 202, response.text
    return response.json()["task_id"]


def wait_for(stack, key, task_id, timeout=30):
    def terminal():
        task = call(stack, "GET", f"/api/v1/tasks/{task_id}", key).json()
        return task if task["status"] in TERMINAL else None
    return wait_until(terminal, timeout=timeout, message=f"task {task_id} to finish")


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def row_counts(stack):
    return stack.query("SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM batches), "
                       "(SELECT count(*) FROM config_overrides), (SELECT count(*) FROM config_changes), "
                       "(SELECT count(*) FROM api_keys)")[0]


# -- one stack with keys required, shared by the module ----------------------------------------


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    # Debug logging: the assertions that no key reaches the log then cover the chattiest log.
    stack = Stack(tmp_path_factory.mktemp("auth"),
                  {"service.require_api_key": True, "service.log_level": "debug"})
    stack.start()
    yield stack
    stack.shut_down()


@pytest.fixture(scope="module")
def keys(secured):
    """The keys of the scope matrix (owner "team"), an admin (owner "ops"), alice and bob."""
    return {
        "read": create_key(secured, "team", "read"),
        "submit": create_key(secured, "team", "submit"),
        "read+submit": create_key(secured, "team", "read,submit"),
        "admin": create_key(secured, "ops", "admin"),
        "alice": create_key(secured, "alice", "read,submit"),
        "bob": create_key(secured, "bob", "read,submit"),
    }


@pytest.fixture(scope="module")
def team_task(secured, keys):
    """A finished task of owner "team"."""
    task_id = submit(secured, keys["read+submit"])
    assert wait_for(secured, keys["read+submit"], task_id)["status"] == "completed"
    return task_id


@pytest.fixture(scope="module")
def team_batch(secured, keys):
    response = call(secured, "POST", "/api/v1/tasks/batch", keys["read+submit"],
                    body={"tasks": [{"task": "list the files in ."}]})
    assert response.status_code == 202, response.text
    return response.json()["batch_id"]


# -- authentication ----------------------------------------------------------------------------


def test_no_key_is_401_with_a_bearer_challenge(secured):
    for method, path in [("GET", "/api/v1/tasks"), ("POST", "/api/v1/tasks"), ("GET", "/api/v1/status"),
                         ("GET", "/metrics"), ("GET", "/api/v1/config")]:
        before = row_counts(secured)
        response = call(secured, method, path, body={"task": "list the files in ."} if method == "POST" else None)
        message = assert_error(response, 401, "AUTHENTICATION_ERROR")["message"]
        assert "Authorization: Bearer" in message and "X-API-Key" in message
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert row_counts(secured) == before


def test_malformed_and_unknown_keys_are_401(secured, keys):
    real = keys["read"]
    unknown = "trk_" + "0" * 12 + "_" + "1" * 64
    wrong_secret = real[:-1] + ("0" if real[-1] != "0" else "1")
    for presented in ["nonsense", "trk_", real[:-1], real + "0", real.upper(), real[:30],
                      real.replace("trk_", "trx_"), unknown, wrong_secret]:
        for header in ("bearer", "x-api-key"):
            response = call(secured, "GET", "/api/v1/tools", presented, header=header)
            assert_error(response, 401, "AUTHENTICATION_ERROR")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_both_headers_carry_a_key_and_bearer_is_case_insensitive(secured, keys):
    key = keys["read"]
    assert call(secured, "GET", "/api/v1/tools", key, header="bearer").status_code == 200
    assert call(secured, "GET", "/api/v1/tools", key, header="x-api-key").status_code == 200
    lower = call(secured, "GET", "/api/v1/tools", headers={"Authorization": f"bearer {key}"})
    assert lower.status_code == 200


def test_schemes_other_than_bearer_are_refused(secured, keys):
    key = keys["admin"]
    basic = base64.b64encode(f"{key}:".encode()).decode()
    for value in [f"Basic {basic}", f"Token {key}", key, f"Bearer{key}", f"Bearer  {key}", f"Digest {key}"]:
        response = call(secured, "GET", "/api/v1/tools", headers={"Authorization": value})
        assert_error(response, 401, "AUTHENTICATION_ERROR")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_health_and_openapi_stay_open(secured):
    health = call(secured, "GET", "/health")
    assert health.status_code == 200 and health.json()["status"] == "healthy"
    openapi = call(secured, "GET", "/api/v1/openapi.json")
    assert openapi.status_code == 200
    assert openapi.json()["openapi"].startswith("3.")
    # An invalid key on an open endpoint does not turn it into a 401.
    assert call(secured, "GET", "/health", "trk_nonsense").status_code == 200


# -- scopes ------------------------------------------------------------------------------------

# The status each key gets: the endpoint's success status when the key has the scope it needs
# (read: GET endpoints; submit: submitting and cancelling; admin: configuration, and everything),
# 403 AUTHORIZATION_ERROR when it does not. {task} is a finished task of the keys' owner,
# {running} a task still running (created per case), {batch} a batch of theirs.
#
#  method    path                             read  submit  read+submit  admin
SCOPE_TABLE = [
    ("POST",   "/api/v1/tasks",                  403,  202,    202,         202),
    ("GET",    "/api/v1/tasks",                  200,  403,    200,         200),
    ("GET",    "/api/v1/tasks/{task}",           200,  403,    200,         200),
    ("DELETE", "/api/v1/tasks/{running}",        403,  202,    202,         202),
    ("GET",    "/api/v1/tasks/{task}/events",    200,  403,    200,         200),
    ("POST",   "/api/v1/tasks/batch",            403,  202,    202,         202),
    ("GET",    "/api/v1/batches/{batch}",        200,  403,    200,         200),
    ("GET",    "/api/v1/status",                 200,  403,    200,         200),
    ("GET",    "/api/v1/tools",                  200,  403,    200,         200),
    ("GET",    "/api/v1/metrics",                200,  403,    200,         200),
    ("GET",    "/metrics",                       200,  403,    200,         200),
    ("GET",    "/api/v1/config",                 403,  403,    403,         200),
    ("PUT",    "/api/v1/config",                 403,  403,    403,         200),
    ("PUT",    "/api/v1/config/model",           403,  403,    403,         200),
    ("POST",   "/api/v1/config/validate",        403,  403,    403,         200),
    ("GET",    "/health",                        200,  200,    200,         200),
    ("GET",    "/api/v1/openapi.json",           200,  200,    200,         200),
]
KEY_NAMES = ["read", "submit", "read+submit", "admin"]
BODIES = {
    ("POST", "/api/v1/tasks"): {"task": "list the files in ."},
    ("POST", "/api/v1/tasks/batch"): {"tasks": [{"task": "list the files in ."}], "mode": "parallel"},
    ("PUT", "/api/v1/config"): {"execution": {"max_steps": 12}},
    ("PUT", "/api/v1/config/model"): {"provider": "builtin"},
    ("POST", "/api/v1/config/validate"): {"config": {"execution": {"max_steps": 5}}},
}
SCOPE_CASES = [
    pytest.param(name, method, path, row[2 + column], id=f"{name} {method} {path}")
    for row in SCOPE_TABLE
    for column, name in enumerate(KEY_NAMES)
    for method, path in [row[:2]]
]


@pytest.mark.parametrize("key_name,method,path,expected", SCOPE_CASES)
def test_scope_matrix(secured, keys, team_task, team_batch, key_name, method, path, expected):
    running = None
    if "{running}" in path:
        running = submit(secured, keys["read+submit"], LONG_COMMAND)
    url = path.format(task=team_task, batch=team_batch, running=running)
    before = row_counts(secured)
    response = call(secured, method, url, keys[key_name], body=BODIES.get((method, path)))
    try:
        assert response.status_code == expected, response.text
        if expected == 403:
            error = assert_error(response, 403, "AUTHORIZATION_ERROR")
            assert "scope" in error["message"]
            assert row_counts(secured) == before  # refused before anything was written
            if running:
                status = call(secured, "GET", f"/api/v1/tasks/{running}", keys["admin"]).json()["status"]
                assert status in ("queued", "running")
        elif path.endswith("/events"):
            assert response.headers["Content-Type"].startswith("text/event-stream")
            assert "event: status" in response.text
        elif path == "/metrics":
            assert "ai_agent_tasks_total" in response.text
        else:
            assert response.headers["Content-Type"].startswith("application/json")
            response.json()
    finally:
        if running:  # a refused cancel leaves the task running: end it
            call(secured, "DELETE", f"/api/v1/tasks/{running}", keys["admin"])


def test_admin_changes_are_audited_with_the_key_id_not_the_key(secured, keys):
    admin = keys["admin"]
    response = call(secured, "PUT", "/api/v1/config", admin, body={"execution": {"max_retries": 2}})
    assert response.status_code == 200, response.text
    rows = secured.query("SELECT key_id, change FROM config_changes ORDER BY id DESC LIMIT 1")
    assert rows[0][0] == key_id(admin)
    assert json.loads(rows[0][1]) == {"execution": {"max_retries": 2}}


# -- owners ------------------------------------------------------------------------------------


def test_a_task_is_invisible_to_another_owner_and_visible_to_admin(secured, keys):
    alice, bob, admin = keys["alice"], keys["bob"], keys["admin"]
    task_id = submit(secured, alice, LONG_COMMAND)
    try:
        for method, path in [("GET", f"/api/v1/tasks/{task_id}"), ("DELETE", f"/api/v1/tasks/{task_id}"),
                             ("GET", f"/api/v1/tasks/{task_id}/events")]:
            error = assert_error(call(secured, method, path, bob), 404, "TASK_NOT_FOUND")
            # The same answer as for an id that does not exist: nothing to probe.
            unknown = call(secured, method, path.replace(task_id, "no-such-task"), bob).json()["error"]
            assert error["message"] == unknown["message"].replace("no-such-task", task_id)
        assert secured.query("SELECT status FROM tasks WHERE id = ?", (task_id,))[0][0] in ("queued", "running")
        bob_list = call(secured, "GET", "/api/v1/tasks?limit=100", bob).json()["tasks"]
        assert task_id not in [t["task_id"] for t in bob_list]
        alice_list = call(secured, "GET", "/api/v1/tasks?limit=100", alice).json()["tasks"]
        assert task_id in [t["task_id"] for t in alice_list]
        admin_list = call(secured, "GET", "/api/v1/tasks?limit=100", admin).json()["tasks"]
        assert task_id in [t["task_id"] for t in admin_list]
        assert call(secured, "GET", f"/api/v1/tasks/{task_id}", admin).status_code == 200
        assert secured.query("SELECT owner FROM tasks WHERE id = ?", (task_id,)) == [("alice",)]
    finally:
        cancelled = call(secured, "DELETE", f"/api/v1/tasks/{task_id}", alice)
        assert cancelled.status_code == 202, cancelled.text


def test_a_batch_is_invisible_to_another_owner_and_visible_to_admin(secured, keys):
    alice, bob, admin = keys["alice"], keys["bob"], keys["admin"]
    response = call(secured, "POST", "/api/v1/tasks/batch", alice,
                    body={"tasks": [{"task": "list the files in ."}, {"task": "list the files in ."}]})
    assert response.status_code == 202, response.text
    batch = response.json()
    error = assert_error(call(secured, "GET", f"/api/v1/batches/{batch['batch_id']}", bob), 404, "NOT_FOUND")
    assert batch["batch_id"] in error["message"]
    listed = call(secured, "GET", f"/api/v1/tasks?batch_id={batch['batch_id']}", bob)
    assert listed.status_code == 200 and listed.json()["tasks"] == []
    for task in batch["tasks"]:
        assert_error(call(secured, "GET", f"/api/v1/tasks/{task['task_id']}", bob), 404, "TASK_NOT_FOUND")
    for key in (alice, admin):
        seen = call(secured, "GET", f"/api/v1/batches/{batch['batch_id']}", key)
        assert seen.status_code == 200
        assert [t["task_id"] for t in seen.json()["tasks"]] == [t["task_id"] for t in batch["tasks"]]
        listed = call(secured, "GET", f"/api/v1/tasks?batch_id={batch['batch_id']}", key).json()["tasks"]
        assert sorted(t["task_id"] for t in listed) == sorted(t["task_id"] for t in batch["tasks"])


def test_the_same_task_id_from_another_owner_is_a_conflict_not_a_look_at_the_task(secured, keys):
    first = call(secured, "POST", "/api/v1/tasks", keys["alice"],
                 body={"task": "list the files in .", "task_id": "auth-shared-id"})
    assert first.status_code == 202
    again = call(secured, "POST", "/api/v1/tasks", keys["bob"],
                 body={"task": "list the files in .", "task_id": "auth-shared-id"})
    assert_error(again, 409, "CONFLICT")
    assert "list the files" not in again.text
    assert secured.query("SELECT owner FROM tasks WHERE id = 'auth-shared-id'") == [("alice",)]


# -- where a key may appear --------------------------------------------------------------------


def test_a_key_is_stored_only_as_the_hash_of_its_secret(secured, keys):
    key = create_key(secured, "hashcheck", "read")
    assert call(secured, "GET", "/api/v1/tools", key).status_code == 200
    rows = secured.query("SELECT owner, scopes, secret_hash FROM api_keys WHERE id = ?", (key_id(key),))
    assert rows == [("hashcheck", "read", hashlib.sha256(key_secret(key).encode()).hexdigest())]

    dump = "\n".join(sqlite3.connect(f"file:{secured.db_path}?mode=ro", uri=True).iterdump())
    raw = b"".join(path.read_bytes() for path in secured.db_path.parent.glob(secured.db_path.name + "*")
                   if path.is_file())  # the database, its -wal and -shm (not the -wake directory)
    for name, value in keys.items():
        for secret in (value, key_secret(value)):
            assert secret not in dump, name
            assert secret.encode() not in raw, name
    for secret in (key, key_secret(key)):
        assert secret not in dump and secret.encode() not in raw


def test_keys_list_shows_id_owner_and_scopes_but_no_secret(secured, keys):
    done = secured.keys("list")
    assert done.returncode == 0, done.stderr
    hashes = [h for (h,) in secured.query("SELECT secret_hash FROM api_keys")]
    for name, key in keys.items():
        line = [line for line in done.stdout.splitlines() if line.startswith(key_id(key))]
        assert len(line) == 1, (name, done.stdout)
        assert key_secret(key) not in done.stdout and key not in done.stdout
    assert not any(h in done.stdout for h in hashes)
    admin_line = [line for line in done.stdout.splitlines() if line.startswith(key_id(keys["admin"]))][0]
    assert admin_line.split()[:3] == [key_id(keys["admin"]), "ops", "admin"]
    both_line = [line for line in done.stdout.splitlines() if line.startswith(key_id(keys["read+submit"]))][0]
    assert both_line.split()[:3] == [key_id(keys["read+submit"]), "team", "read,submit"]


def test_no_response_and_no_log_line_holds_a_key(secured, keys, team_task, team_batch):
    admin = keys["admin"]
    texts = []
    for key in keys.values():
        for path in ["/api/v1/tasks", f"/api/v1/tasks/{team_task}", f"/api/v1/tasks/{team_task}/events",
                     f"/api/v1/batches/{team_batch}", "/api/v1/status", "/api/v1/metrics", "/metrics",
                     "/api/v1/config", "/api/v1/tools", "/health"]:
            for header in ("bearer", "x-api-key"):
                response = call(secured, "GET", path, key, header=header)
                texts.append(response.text + json.dumps(dict(response.headers)))
    refused = call(secured, "GET", "/api/v1/config", keys["read"])
    texts.append(refused.text + json.dumps(dict(refused.headers)))
    wrong = keys["read"][:-1] + ("0" if keys["read"][-1] != "0" else "1")
    texts.append(call(secured, "GET", "/api/v1/tools", wrong).text)
    submitted = call(secured, "POST", "/api/v1/tasks", admin, body={"task": "list the files in ."})
    texts.append(submitted.text + json.dumps(dict(submitted.headers)))
    texts.append(json.dumps(wait_for(secured, admin, submitted.json()["task_id"])))
    log = secured.log()
    assert "fcgi" in log  # the log is there, and is the stack's
    for name, key in keys.items():
        for text in texts:
            assert key_secret(key) not in text, name
        assert key_secret(key) not in log, name
        assert key_secret(wrong) not in log


def test_revoking_a_key_takes_effect_on_the_next_request(secured):
    key = create_key(secured, "leaving", "read,submit")
    assert call(secured, "GET", "/api/v1/tools", key).status_code == 200
    done = secured.keys("revoke", key_id(key))
    assert done.returncode == 0, done.stderr
    for header in ("bearer", "x-api-key"):
        assert_error(call(secured, "GET", "/api/v1/tools", key, header=header), 401, "AUTHENTICATION_ERROR")
    before = row_counts(secured)
    assert_error(call(secured, "POST", "/api/v1/tasks", key, body={"task": "list the files in ."}),
                 401, "AUTHENTICATION_ERROR")
    assert row_counts(secured) == before
    assert secured.query("SELECT revoked_at IS NOT NULL FROM api_keys WHERE id = ?", (key_id(key),)) == [(1,)]
    # Revoking twice, or an unknown id, is an error the operator sees.
    assert secured.keys("revoke", key_id(key)).returncode != 0
    assert secured.keys("revoke", "0" * 12).returncode != 0


def test_the_database_file_is_private(secured, keys):
    paths = list(secured.db_path.parent.glob(secured.db_path.name + "*"))
    assert secured.db_path.with_name(secured.db_path.name + "-wake") in paths  # the runners' sockets
    for path in paths:
        assert stat.S_IMODE(os.stat(path).st_mode) == (0o700 if path.is_dir() else 0o600), path


# -- the shipped production configuration ------------------------------------------------------


def test_the_production_config_requires_keys(make_stack):
    stack = make_stack(start=False)  # its directories and port; the config is production.cfg
    text = (ROOT / "config" / "production.cfg").read_text()
    replacements = {
        '"/srv/task-runner/work"': json.dumps(str(stack.work)),
        '"/var/lib/task-runner/task-runner.db"': json.dumps(str(stack.db_path)),
        '"0.0.0.0:8080"': json.dumps(f"127.0.0.1:{stack.port}"),
    }
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    settings = [line.split("#")[0] for line in text.splitlines()]
    assert not any("/srv/" in line or "/var/" in line for line in settings)
    stack.config_path.write_text(text)
    assert re.search(r"require_api_key\s*=\s*true", text)
    assert re.search(r'sandbox\s*=\s*"bubblewrap"', text)
    stack.start()

    assert call(stack, "GET", "/health").status_code == 200
    before = row_counts(stack)
    refused = call(stack, "POST", "/api/v1/tasks", body={"task": "list the files in ."})
    assert_error(refused, 401, "AUTHENTICATION_ERROR")
    assert_error(call(stack, "GET", "/api/v1/tasks"), 401, "AUTHENTICATION_ERROR")
    assert row_counts(stack) == before

    key = create_key(stack, "operator", "read,submit")
    listed = call(stack, "GET", "/api/v1/tasks", key)
    assert listed.status_code == 200, listed.text
    # With keys on, each owner works in a directory of its own under the working directory.
    (stack.work / "operator").mkdir()
    (stack.work / "operator" / "prod.txt").write_text("production\n")
    # Its rate limit (120 a minute, bursts of 20) is the production one: wait, do not poll.
    task_id = submit(stack, key, "read the file prod.txt")
    task = call(stack, "GET", f"/api/v1/tasks/{task_id}?wait=30", key, timeout=40).json()
    assert task["status"] == "completed", task
    assert "production" in task["result"]["details"]
    assert stat.S_IMODE(os.stat(stack.db_path).st_mode) == 0o600
    # The key's owner needs admin for the configuration, in production too.
    assert_error(call(stack, "GET", "/api/v1/config", key), 403, "AUTHORIZATION_ERROR")
