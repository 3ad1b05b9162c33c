"""Bad requests: each gets the right status and error code in the JSON error shape, and none of
them writes anything to the database."""

import json

import pytest

from test_openapi import route_queries

LONG_TASK = "x" * (32 * 1024 + 1)

# (name, method, path, body, status, code[, headers]); a body of bytes is sent as is (with
# Content-Type: application/json unless the headers say otherwise), anything else as JSON. {finished} in a path is a task that has completed (FINISHED_TASK).
CASES = [
    ("malformed JSON", "POST", "/api/v1/tasks", b'{"task": ', 400, "INVALID_REQUEST"),
    ("empty body", "POST", "/api/v1/tasks", b"", 400, "INVALID_REQUEST"),
    ("body is an array", "POST", "/api/v1/tasks", [], 400, "INVALID_REQUEST"),
    ("body is a bare string", "POST", "/api/v1/tasks", b'"list the files"', 400, "INVALID_REQUEST"),
    ("duplicate keys", "POST", "/api/v1/tasks", b'{"task": "a", "task": "b"}', 400, "INVALID_REQUEST"),
    ("invalid UTF-8", "POST", "/api/v1/tasks", b'{"task": "read \xff\xfe"}', 400, "INVALID_REQUEST"),
    ("missing task", "POST", "/api/v1/tasks", {}, 400, "INVALID_REQUEST"),
    ("task is a number", "POST", "/api/v1/tasks", {"task": 42}, 400, "INVALID_REQUEST"),
    ("task is empty", "POST", "/api/v1/tasks", {"task": ""}, 400, "INVALID_REQUEST"),
    ("task is blank", "POST", "/api/v1/tasks", {"task": "  \n\t"}, 400, "INVALID_REQUEST"),
    ("task is too long", "POST", "/api/v1/tasks", {"task": LONG_TASK}, 400, "INVALID_REQUEST"),
    ("unknown priority", "POST", "/api/v1/tasks", {"task": "list", "priority": "urgent"}, 400, "INVALID_REQUEST"),
    ("priority is a number", "POST", "/api/v1/tasks", {"task": "list", "priority": 1}, 400, "INVALID_REQUEST"),
    ("misspelt field", "POST", "/api/v1/tasks", {"task": "list", "prority": "high"}, 400, "INVALID_REQUEST"),
    ("task_id with a slash", "POST", "/api/v1/tasks", {"task": "list", "task_id": "a/b"}, 400, "INVALID_REQUEST"),
    ("task_id .", "POST", "/api/v1/tasks", {"task": "list", "task_id": "."}, 400, "INVALID_REQUEST"),
    ("task_id ..", "POST", "/api/v1/tasks", {"task": "list", "task_id": ".."}, 400, "INVALID_REQUEST"),
    ("task_id too long", "POST", "/api/v1/tasks", {"task": "list", "task_id": "a" * 129}, 400, "INVALID_REQUEST"),
    ("metadata is a list", "POST", "/api/v1/tasks", {"task": "list", "metadata": [1]}, 400, "INVALID_REQUEST"),
    ("context is a string", "POST", "/api/v1/tasks", {"task": "list", "context": "."}, 400, "INVALID_REQUEST"),
    ("unknown context field", "POST", "/api/v1/tasks", {"task": "list", "context": {"cwd": "."}}, 400, "INVALID_REQUEST"),
    ("unknown tool", "POST", "/api/v1/tasks", {"task": "list", "context": {"tools": ["format_disk"]}}, 400, "INVALID_REQUEST"),
    ("tools is a string", "POST", "/api/v1/tasks", {"task": "list", "context": {"tools": "read_file"}}, 400, "INVALID_REQUEST"),
    ("working directory outside", "POST", "/api/v1/tasks", {"task": "list", "context": {"working_directory": "/etc"}}, 400, "INVALID_REQUEST"),
    ("working directory escapes with ..", "POST", "/api/v1/tasks", {"task": "list", "context": {"working_directory": "../.."}}, 400, "INVALID_REQUEST"),
    ("working directory missing", "POST", "/api/v1/tasks", {"task": "list", "context": {"working_directory": "no/such/dir"}}, 400, "INVALID_REQUEST"),
    ("timeout above the server's", "POST", "/api/v1/tasks", {"task": "list", "context": {"constraints": {"max_execution_time": 100000}}}, 400, "INVALID_REQUEST"),
    ("max_steps zero", "POST", "/api/v1/tasks", {"task": "list", "context": {"constraints": {"max_steps": 0}}}, 400, "INVALID_REQUEST"),
    ("max_steps as a string", "POST", "/api/v1/tasks", {"task": "list", "context": {"constraints": {"max_steps": "5"}}}, 400, "INVALID_REQUEST"),
    ("allowed path outside", "POST", "/api/v1/tasks", {"task": "list", "context": {"constraints": {"allowed_paths": ["/"]}}}, 400, "INVALID_REQUEST"),
    ("environment value not a string", "POST", "/api/v1/tasks", {"task": "list", "context": {"environment": {"N": 1}}}, 400, "INVALID_REQUEST"),
    ("environment LD_PRELOAD", "POST", "/api/v1/tasks", {"task": "list", "context": {"environment": {"LD_PRELOAD": "/x.so"}}}, 400, "INVALID_REQUEST"),
    ("environment bad name", "POST", "/api/v1/tasks", {"task": "list", "context": {"environment": {"A-B": "x"}}}, 400, "INVALID_REQUEST"),
    ("unknown task id", "GET", "/api/v1/tasks/no-such-task", None, 404, "TASK_NOT_FOUND"),
    ("unknown endpoint", "POST", "/api/v1/nothing-here", {"task": "list"}, 404, "NOT_FOUND"),
    ("path below a task", "GET", "/api/v1/tasks/a/b", None, 404, "NOT_FOUND"),
    ("path outside the API", "GET", "/index.php", None, 404, "NOT_FOUND"),
    ("PUT on the task collection", "PUT", "/api/v1/tasks", {"task": "list"}, 405, "METHOD_NOT_ALLOWED"),
    ("POST on a task", "POST", "/api/v1/tasks/some-id", {"task": "list"}, 405, "METHOD_NOT_ALLOWED"),
    ("DELETE on health", "DELETE", "/health", None, 405, "METHOD_NOT_ALLOWED"),
    ("body over the size limit", "POST", "/api/v1/tasks", b'{"task":"' + b"y" * (2 * 1024 * 1024) + b'"}', 413, "PAYLOAD_TOO_LARGE"),
    ("task_id batch is reserved", "POST", "/api/v1/tasks", {"task": "list", "task_id": "batch"}, 400, "INVALID_REQUEST"),
    ("wait over 60", "POST", "/api/v1/tasks?wait=61", {"task": "list the files in ."}, 400, "INVALID_REQUEST"),
    ("wait not a number", "POST", "/api/v1/tasks?wait=abc", {"task": "list the files in ."}, 400, "INVALID_REQUEST"),
    ("wait negative", "GET", "/api/v1/tasks/{finished}?wait=-1", None, 400, "INVALID_REQUEST"),
    # GET /api/v1/tasks: the list's query
    ("list: unknown status", "GET", "/api/v1/tasks?status=done", None, 400, "INVALID_REQUEST"),
    ("list: unknown priority", "GET", "/api/v1/tasks?priority=urgent", None, 400, "INVALID_REQUEST"),
    ("list: limit 0", "GET", "/api/v1/tasks?limit=0", None, 400, "INVALID_REQUEST"),
    ("list: limit 101", "GET", "/api/v1/tasks?limit=101", None, 400, "INVALID_REQUEST"),
    ("list: limit abc", "GET", "/api/v1/tasks?limit=abc", None, 400, "INVALID_REQUEST"),
    ("list: since not a time", "GET", "/api/v1/tasks?since=yesterday", None, 400, "INVALID_REQUEST"),
    ("list: cursor not given out", "GET", "/api/v1/tasks?cursor=bm90LWEtY3Vyc29y", None, 400, "INVALID_REQUEST"),
    ("list: unknown query parameter", "GET", "/api/v1/tasks?colour=red", None, 400, "INVALID_REQUEST"),
    # POST /api/v1/tasks/batch
    ("batch: no tasks", "POST", "/api/v1/tasks/batch", {"tasks": []}, 400, "INVALID_REQUEST"),
    ("batch: tasks not an array", "POST", "/api/v1/tasks/batch", {"tasks": {"task": "list"}}, 400, "INVALID_REQUEST"),
    ("batch: body is an array", "POST", "/api/v1/tasks/batch", [{"task": "list"}], 400, "INVALID_REQUEST"),
    ("batch: over 100 tasks", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "list"}] * 101}, 400, "INVALID_REQUEST"),
    ("batch: unknown mode", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "list"}], "mode": "random"}, 400, "INVALID_REQUEST"),
    ("batch: continue_on_error not boolean", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "list"}], "continue_on_error": "yes"}, 400, "INVALID_REQUEST"),
    ("batch: a bad task inside", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "list"}, {"task": "list", "priority": "urgent"}]}, 400, "INVALID_REQUEST"),
    ("batch: duplicate task_id", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "a", "task_id": "e2e-twice"}, {"task": "b", "task_id": "e2e-twice"}]}, 400, "INVALID_REQUEST"),
    ("batch: unknown field", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "list"}], "parallel": True}, 400, "INVALID_REQUEST"),
    ("batch: a taken task_id inside", "POST", "/api/v1/tasks/batch", {"tasks": [{"task": "list the files in ."}, {"task": "other", "task_id": "e2e-finished"}]}, 409, "CONFLICT"),
    ("batch: unknown batch", "GET", "/api/v1/batches/no-such-batch", None, 404, "NOT_FOUND"),
    # the configuration
    ("config: wrong type", "PUT", "/api/v1/config", {"execution": {"max_steps": "ten"}}, 400, "INVALID_REQUEST"),
    ("config: out of range", "PUT", "/api/v1/config", {"execution": {"max_steps": 0}}, 400, "INVALID_REQUEST"),
    ("config: unknown setting", "PUT", "/api/v1/config", {"execution": {"max_stepz": 5}}, 400, "INVALID_REQUEST"),
    ("config: storage refused", "PUT", "/api/v1/config", {"storage": {"database": "/tmp/elsewhere.db"}}, 400, "INVALID_REQUEST"),
    ("config: empty change", "PUT", "/api/v1/config", {}, 400, "INVALID_REQUEST"),
    ("config: one bad setting spoils the change", "PUT", "/api/v1/config", {"execution": {"max_retries": 2, "max_steps": -1}}, 400, "INVALID_REQUEST"),
    ("model: unknown provider", "PUT", "/api/v1/config/model", {"provider": "skynet"}, 400, "INVALID_REQUEST"),
    ("validate: body not an object", "POST", "/api/v1/config/validate", [1, 2], 400, "INVALID_REQUEST"),
    ("validate: body malformed", "POST", "/api/v1/config/validate", b"{model", 400, "INVALID_REQUEST"),
    # a task that has ended, and its events
    ("DELETE a finished task", "DELETE", "/api/v1/tasks/{finished}", None, 409, "CONFLICT"),
    ("Last-Event-ID not a number", "GET", "/api/v1/tasks/{finished}/events", None, 400, "INVALID_REQUEST", {"Last-Event-ID": "abc"}),
    ("last_event_id not a number", "GET", "/api/v1/tasks/{finished}/events?last_event_id=-5", None, 400, "INVALID_REQUEST"),
]
# (name, method, path, body, status, code[, headers]): headers are optional.
CASES = [case if len(case) == 7 else case + (None,) for case in CASES]


FINISHED_TASK = "e2e-finished"


def counts(stack):
    return stack.query(
        "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM steps), "
        "(SELECT count(*) FROM task_transitions), (SELECT count(*) FROM task_events), "
        "(SELECT count(*) FROM batches), (SELECT count(*) FROM config_overrides), "
        "(SELECT count(*) FROM config_changes), "
        "(SELECT count(*) FROM api_keys), "
        "(SELECT group_concat(id || ':' || status) FROM (SELECT id, status FROM tasks ORDER BY id))")[0]


def finished_task(stack):
    """The id of a task that has completed, made the first time it is asked for."""
    if not stack.query("SELECT 1 FROM tasks WHERE id = ?", (FINISHED_TASK,)):
        stack.submit("list the files in .", task_id=FINISHED_TASK)
    assert stack.wait_for(FINISHED_TASK)["status"] == "completed"
    return FINISHED_TASK


@pytest.mark.parametrize("name,method,path,body,status,code,headers", CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_with_a_json_error_and_changes_nothing(stack, name, method, path, body, status, code,
                                                                      headers):
    if "{finished}" in path or FINISHED_TASK in str(body):
        path = path.replace("{finished}", finished_task(stack))
    before = counts(stack)
    if isinstance(body, bytes):
        headers = {"Content-Type": "application/json", **(headers or {})}
        response = stack.session.request(method, stack.url + path, data=body, headers=headers, timeout=10)
    else:
        response = stack.session.request(method, stack.url + path, json=body, headers=headers, timeout=10)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = json.loads(response.text)["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if status == 405:
        assert response.headers["Allow"]
    assert counts(stack) == before


def test_every_route_refuses_a_query_parameter_it_does_not_take_by_name(stack):
    """One rule on every endpoint: a parameter the route does not take is a 400 naming it, so a
    typo (?stauts=) is never answered as if no filter had been asked for; those it takes pass."""
    task = finished_task(stack)
    batch = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "list the files in ."}]}).json()
    assert stack.wait_for(batch["tasks"][0]["task_id"])["status"] == "completed"  # nothing moves now
    batch = batch["batch_id"]
    queries = route_queries()
    assert len(queries) >= 17
    for (method, pattern), takes in queries.items():
        path = pattern.replace("/tasks/{id}", f"/tasks/{task}").replace("/batches/{id}", f"/batches/{batch}")
        before = counts(stack)
        response = stack.session.request(method, f"{stack.url}{path}?stauts=failed", json={}, timeout=10)
        assert response.status_code == 400, (method, pattern, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_REQUEST", (method, pattern)
        assert error["message"].startswith('unknown query parameter "stauts"'), (method, pattern, error)
        assert (", ".join(takes) if takes else "takes no query parameters") in error["message"]
        assert counts(stack) == before, (method, pattern)
    # A parameter a route takes, beside one it does not, still refuses the request.
    mixed = stack.get(f"/api/v1/tasks/{task}?wait=0&Wait=1")
    assert mixed.status_code == 400 and '"Wait"' in mixed.json()["error"]["message"]
    for path in (f"/api/v1/tasks/{task}?wait=0", "/api/v1/tasks?status=completed&limit=1",
                 f"/api/v1/tasks/{task}/events?last_event_id=0"):
        assert stack.get(path).status_code == 200, path
    # The original's clients send none: their requests are unchanged (test_api.py runs them).


def test_messages_name_the_field_and_what_is_allowed(stack):
    message = stack.post("/api/v1/tasks", {"task": "x", "priority": "urgent"}).json()["error"]["message"]
    assert message == 'priority must be one of low, normal, high, critical (got "urgent")'
    message = stack.post("/api/v1/tasks", {"task": "x", "prority": "high"}).json()["error"]["message"]
    assert '"prority"' in message and "priority" in message
    message = stack.post("/api/v1/tasks", raw=b'{"task": ').json()["error"]["message"]
    assert message.startswith("malformed JSON at line 1")


def test_a_taken_task_id_with_another_body_is_a_conflict_and_writes_nothing(stack):
    first = stack.post("/api/v1/tasks", {"task": "list the files in .", "task_id": "e2e-conflict"})
    assert first.status_code == 202
    before = counts(stack)
    second = stack.post("/api/v1/tasks", {"task": "read the file x", "task_id": "e2e-conflict"})
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "CONFLICT"
    assert counts(stack)[0] == before[0]
    assert stack.query("SELECT task FROM tasks WHERE id = 'e2e-conflict'") == [("list the files in .",)]


def test_a_rejected_request_does_not_use_up_its_task_id(stack):
    bad = stack.post("/api/v1/tasks", {"task": "list", "task_id": "e2e-unused", "priority": "urgent"})
    assert bad.status_code == 400
    good = stack.post("/api/v1/tasks", {"task": "list the files in .", "task_id": "e2e-unused"})
    assert good.status_code == 202
    assert good.json()["task_id"] == "e2e-unused"


def test_batch_and_list_messages_say_where_and_what(stack):
    bad_task = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "list"}, {"task": "list", "priority": "urgent"}]})
    assert bad_task.json()["error"]["message"].startswith("tasks[1]: priority must be one of")
    twice = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "a", "task_id": "e2e-t"}, {"task": "b", "task_id": "e2e-t"}]})
    assert twice.json()["error"]["message"] == 'tasks[1]: task_id "e2e-t" is given twice in this batch'
    assert "at most 100" in stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "l"}] * 101}).json()["error"]["message"]
    assert "limit must be 1..100" in stack.get("/api/v1/tasks?limit=101").json()["error"]["message"]
    assert '"colour"' in stack.get("/api/v1/tasks?colour=red").json()["error"]["message"]
    reserved = stack.post("/api/v1/tasks", {"task": "list", "task_id": "batch"}).json()["error"]["message"]
    assert "reserved" in reserved
    storage = stack.session.put(stack.url + "/api/v1/config", json={"storage": {"database": "/tmp/x.db"}}, timeout=10)
    assert "storage.database" in storage.json()["error"]["message"]
