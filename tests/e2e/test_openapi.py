"""fcgi/openapi.json against the code: the served document is the file, it is a sound OpenAPI 3.1
document, every route of the handlers' tables is in it with its scope, and real responses of a
running stack (successes, errors, the event stream) match the schemas it documents for their
path, method and status."""

import json
import re
from urllib.parse import quote

import requests
from jsonschema import Draft202012Validator, FormatChecker, RefResolver

from conftest import ROOT, TERMINAL, wait_until
from scripted_llm import ScriptedLLM, calls, complete, plan, status

DOCUMENT_PATH = ROOT / "fcgi" / "openapi.json"
DOCUMENT = json.loads(DOCUMENT_PATH.read_text())
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# One entry of a handler's route table: {Method::Get, "/api/v1/tasks", Scope::Read, list_tasks}
# or, with the query parameters it takes, {Method::Get, "/api/v1/tasks/{id}", Scope::Read, get,
# {"wait"}}.
ROUTE = re.compile(r'\{\s*Method::(\w+),\s*"([^"]+)",\s*Scope::(\w+),\s*\w+(?:,\s*\{([^}]*)\})?\s*\}')
RESOLVER = RefResolver(base_uri="", referrer=DOCUMENT)


# -- the document ---------------------------------------------------------------------------------

def pointer(ref):
    """The part of the document a local "$ref" names."""
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node = DOCUMENT
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def resolved(node):
    while isinstance(node, dict) and "$ref" in node:
        node = pointer(node["$ref"])
    return node


def refs(node, where="#"):
    """(where, ref) for every "$ref" in the document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield where, value
            else:
                yield from refs(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from refs(value, f"{where}/{index}")


def operations():
    for path, item in DOCUMENT["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def validate(schema, instance):
    Draft202012Validator(schema, resolver=RESOLVER, format_checker=FormatChecker()).validate(instance)


def documented_response(path, method, status):
    responses = DOCUMENT["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document a {status} response"
    return resolved(responses[str(status)])


def check(response, path, method=None):
    """Validates a real response against what the document says for its path (the template,
    "/api/v1/tasks/{id}"), method and status; returns the body (parsed when JSON)."""
    method = method or response.request.method
    documented = documented_response(path, method, response.status_code)
    return check_against(response, documented, f"{method} {path} {response.status_code}")


def check_against(response, documented, what):
    for name in documented.get("headers", {}):
        assert name in response.headers, f"{what}: documented header {name} is missing"
    (media_type, content), = documented["content"].items()
    received = response.headers["Content-Type"]
    assert received.split(";")[0].strip() == media_type.split(";")[0].strip(), (what, received)
    if media_type != "application/json":
        validate(content["schema"], response.text)
        return response.text
    body = response.json()
    try:
        validate(content["schema"], body)
    except Exception as error:
        raise AssertionError(f"{what}: the body does not match the documented schema:\n{error}\n"
                             f"body: {json.dumps(body)[:4000]}") from None
    return body


def route_tables():
    """{(METHOD, pattern): scope} from the route tables of fcgi/handlers/*.cpp."""
    return {route: scope for route, (scope, _) in route_entries().items()}


def route_queries():
    """{(METHOD, pattern): [query parameter, ...]}: what each route takes (fcgi/router.h)."""
    return {route: query for route, (_, query) in route_entries().items()}


def route_entries():
    routes = {}
    for source in sorted((ROOT / "fcgi" / "handlers").glob("*.cpp")):
        for method, pattern, scope, query in ROUTE.findall(source.read_text()):
            routes[(method.upper(), pattern)] = (scope.lower(), re.findall(r'"([^"]+)"', query))
    return routes


def test_the_served_document_is_the_file(stack):
    response = stack.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.content == DOCUMENT_PATH.read_bytes(), \
        "the handlers serve another document: rebuild after changing fcgi/openapi.json"
    check(response, "/api/v1/openapi.json")


def test_the_document_is_openapi_3_1():
    assert re.fullmatch(r"3\.1\.\d+", DOCUMENT["openapi"])
    assert DOCUMENT["info"]["title"]
    version = re.search(r"project\(task_runner VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    assert DOCUMENT["info"]["version"] == version.group(1), "info.version is the release's"
    assert DOCUMENT["paths"]
    operation_ids = [operation["operationId"] for _, _, operation in operations()]
    assert len(operation_ids) == len(set(operation_ids)), "operationIds must be unique"
    schemes = DOCUMENT["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-API-Key"}
    for path, method, operation in operations():
        what = f"{method.upper()} {path}"
        assert path.startswith("/"), what
        assert operation["responses"], f"{what} documents no response"
        for code, response in operation["responses"].items():
            assert re.fullmatch(r"[1-5][0-9][0-9]", code), (what, code)
            assert resolved(response)["description"], (what, code)
        declared = {resolved(p)["name"] for p in operation.get("parameters", [])
                    if resolved(p)["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), f"{what}: path parameters"
        for requirement in operation.get("security", DOCUMENT["security"]):
            for scheme, scopes in requirement.items():
                assert scheme in schemes, (what, scheme)
                assert set(scopes) <= {"read", "submit", "admin"}, (what, scopes)


# -- what Redocly's recommended rules ask (npx @redocly/cli lint, by hand: 0 warnings), offline --

def schema_objects(node, where="#", inherited=frozenset()):
    """(where, schema, names) for every schema object with required, the x-events included;
    names: the properties it defines, with those of the schema whose oneOf, anyOf or allOf
    member it is (a member may require what its parent defines)."""
    if isinstance(node, dict):
        names = inherited | defined_properties(node)
        if isinstance(node.get("required"), list):
            yield where, node, names
        for key, value in node.items():
            if key in ("oneOf", "anyOf", "allOf") and isinstance(value, list):
                for index, member in enumerate(value):
                    yield from schema_objects(member, f"{where}/{key}/{index}", names)
            else:
                yield from schema_objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schema_objects(value, f"{where}/{index}")


def defined_properties(schema):
    """The property names a schema defines, its allOf members' included."""
    properties = schema.get("properties")
    names = set(properties) if isinstance(properties, dict) else set()
    for member in schema.get("allOf", []):
        names |= defined_properties(resolved(member))
    return names


def test_every_required_property_is_defined():
    """Redocly's no-required-schema-properties-undefined (51 warnings once: the config sources
    listed as required but defined only through propertyNames)."""
    for where, schema, names in schema_objects(DOCUMENT):
        missing = set(schema["required"]) - names
        assert not missing, f"{where}: required but not defined: {sorted(missing)}"


def test_every_component_is_used():
    """Redocly's no-unused-components: every component is referenced from outside x-
    extensions (which the linter does not follow) and outside itself."""
    used = set()
    def walk(node, inside):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str) and not value.startswith(inside + "/") \
                        and value != inside:
                    used.add("/".join(value.split("/")[:4]))
                elif not key.startswith("x-"):
                    walk(value, inside)
        elif isinstance(node, list):
            for value in node:
                walk(value, inside)
    walk({key: value for key, value in DOCUMENT.items() if key != "components"}, "")
    for kind, components in DOCUMENT["components"].items():
        for name, component in components.items():
            walk(component, f"#/components/{kind}/{name}")
    for kind, components in DOCUMENT["components"].items():
        if kind == "securitySchemes":
            continue  # used by name in the security requirements (checked above)
        for name in components:
            assert f"#/components/{kind}/{name}" in used, f"components/{kind}/{name} is never used"


def test_every_operation_has_an_id_a_summary_a_success_and_a_client_error():
    """Redocly's operation-operationId, operation-summary, operation-2xx-response and
    operation-4xx-response; no path ends in a slash (no-path-trailing-slash)."""
    for path, method, operation in operations():
        what = f"{method.upper()} {path}"
        assert re.fullmatch(r"[a-z][A-Za-z0-9]*", operation.get("operationId", "")), what
        assert operation.get("summary"), what
        assert operation.get("description"), what
        codes = set(operation["responses"])
        assert any(code.startswith("2") for code in codes), f"{what}: no 2xx response"
        assert any(code.startswith("4") for code in codes), f"{what}: no 4xx response"
        assert path == "/" or not path.endswith("/"), what
    assert DOCUMENT["info"].get("license", {}).get("name"), "info-license"


def schemas_in(node):
    """Every "schema" of a parameter, header or media type."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema":
                yield value
            else:
                yield from schemas_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from schemas_in(value)


def test_every_reference_resolves_and_every_schema_is_valid_2020_12():
    found = list(refs(DOCUMENT))
    assert len(found) > 100
    for where, ref in found:
        assert pointer(ref) is not None, where
    for schema in [*DOCUMENT["components"]["schemas"].values(), *schemas_in(DOCUMENT)]:
        Draft202012Validator.check_schema(schema)


def test_the_examples_match_their_schemas():
    checked = 0
    for name, schema in DOCUMENT["components"]["schemas"].items():
        for example in schema.get("examples", []):
            validate(schema, example)
            checked += 1

    def with_examples(node):  # media types and parameters that have both
        if isinstance(node, dict):
            if "schema" in node and "example" in node:
                yield node
            for value in node.values():
                yield from with_examples(value)
        elif isinstance(node, list):
            for value in node:
                yield from with_examples(value)

    for media in with_examples(DOCUMENT):
        validate(media["schema"], media["example"])
        checked += 1
    assert checked >= 15


def test_every_error_response_is_the_shared_error_schema():
    error = {"$ref": "#/components/schemas/Error"}
    codes = set(DOCUMENT["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
                ["code"]["enum"])
    assert codes == {"INVALID_REQUEST", "AUTHENTICATION_ERROR", "AUTHORIZATION_ERROR",
                     "TASK_NOT_FOUND", "NOT_FOUND", "METHOD_NOT_ALLOWED", "CONFLICT",
                     "PAYLOAD_TOO_LARGE", "UNSUPPORTED_MEDIA_TYPE", "RATE_LIMIT_EXCEEDED", "INTERNAL_ERROR",
                     "SERVICE_UNAVAILABLE"}
    # The codes of core/error.cpp's table, so a new code cannot go undocumented.
    table = (ROOT / "core" / "error.cpp").read_text()
    assert set(re.findall(r'\{ErrorCode::\w+, \d+, "(\w+)"\}', table)) == codes
    for name, response in DOCUMENT["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == error, name
    for path, method, operation in operations():
        for code, response in operation["responses"].items():
            if int(code) < 400 or (path, code) == ("/health", "503"):
                continue  # /health's 503 is its own report, not an error
            assert "$ref" in response or response["content"]["application/json"]["schema"] == error, \
                (path, method, code)


def test_every_route_is_documented_with_its_scope():
    routes = route_tables()
    assert len(routes) >= 17, routes
    # ...and every table is served: all_routes() joins each one, and fcgi/main.cpp (like the
    # client library's in-process transport) hands that to the router.
    handlers = "".join(p.read_text() for p in (ROOT / "fcgi" / "handlers").glob("*.cpp"))
    tables = set(re.findall(r"^std::vector<Route> (\w+_routes)\(\) \{", handlers, re.M))
    tables.discard("all_routes")
    joined = (ROOT / "fcgi" / "handlers" / "all_routes.cpp").read_text()
    assert len(tables) >= 9 and all(f"{table}()" in joined for table in tables), tables
    assert "Router(all_routes())" in (ROOT / "fcgi" / "main.cpp").read_text()
    documented = {(method.upper(), path): operation for path, method, operation in operations()}
    assert set(routes) - set(documented) == set(), "routes the document does not describe"
    assert set(documented) - set(routes) == set(), "documented operations no route serves"
    for (method, path), scope in routes.items():
        operation = documented[(method, path)]
        assert operation["x-scope"] == scope, (method, path)
        assert f"Scope: {scope}" in operation["description"], (method, path)
        if scope == "none":
            assert operation["security"] == [], (method, path)
        else:
            assert operation["security"] == [{"bearerAuth": [scope]}, {"apiKey": [scope]}], \
                (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)


def test_every_operation_documents_exactly_the_query_parameters_its_route_takes():
    queries = route_queries()
    for path, method, operation in operations():
        documented = sorted(resolved(p)["name"] for p in operation.get("parameters", [])
                            if resolved(p)["in"] == "query")
        assert documented == sorted(queries[(method.upper(), path)]), (method, path)
        # ...and says what happens to any other (README, "The API").
        assert "400" in operation["responses"], (method, path)
        assert "unknown query parameter" in operation["description"], (method, path)


# -- real responses -------------------------------------------------------------------------------

def test_service_endpoints_match(stack):
    body = check(stack.get("/health"), "/health")
    assert body["status"] == "healthy"
    body = check(stack.get("/api/v1/status"), "/api/v1/status")
    assert body["runners"]["alive"] >= 1 and "resolved" in body["model"]
    body = check(stack.get("/api/v1/tools"), "/api/v1/tools")
    assert [tool["name"] for tool in body["tools"]] == \
        DOCUMENT["components"]["schemas"]["ToolName"]["enum"]
    stack.run("write 'counted' to metrics/one.txt")
    body = check(stack.get("/api/v1/metrics"), "/api/v1/metrics")
    assert body["tasks"]["total"] >= 1 and body["tool_calls"]["write_file"]["completed"] >= 1

    # The families listed are the ones served, and every gauge has a value (a renamed family
    # once went out as HELP and TYPE lines without one).
    text = check(stack.get("/metrics"), "/metrics")
    (families,) = [media["x-metric-families"]
                   for media in documented_response("/metrics", "get", 200)["content"].values()]
    served = dict(re.findall(r"^# TYPE (\w+) (\w+)$", text, re.M))
    assert served == {name: family["type"] for name, family in families.items()}
    for name in (name for name, kind in served.items() if kind == "gauge"):
        assert re.search(rf"^{name} \S+$", text, re.M), f"the gauge {name} has no sample"


def test_submitted_and_finished_tasks_match(stack):
    (stack.work / "notes").mkdir(exist_ok=True)
    response = stack.post("/api/v1/tasks", {"task": "write 'hi' to notes/a.txt, then read the file "
                                                    "notes/a.txt", "priority": "high",
                                            "metadata": {"ticket": "OPS-1"}})
    accepted = check(response, "/api/v1/tasks", "POST")
    assert response.status_code == 202 and accepted["status"] == "queued"
    task = stack.wait_for(accepted["task_id"])
    body = check(stack.get(f"/api/v1/tasks/{accepted['task_id']}"), "/api/v1/tasks/{id}")
    assert body["status"] == "completed" and body["result"]["artifacts"], task
    assert {step["step_type"] for step in body["steps"]} >= {"planning", "tool_use", "completion"}

    # ?wait: the whole task, 200 once it has ended.
    response = stack.post("/api/v1/tasks?wait=20", {"task": "list the files in ."})
    body = check(response, "/api/v1/tasks", "POST")
    assert response.status_code == 200 and body["status"] == "completed" and body["plan"]
    response = stack.get(f"/api/v1/tasks/{body['task_id']}?wait=5")
    assert check(response, "/api/v1/tasks/{id}")["status"] == "completed"

    # A task that fails is a 200 with its error.
    failed = stack.run("Hello, Task Runner!")
    body = check(stack.get(f"/api/v1/tasks/{failed['task_id']}"), "/api/v1/tasks/{id}")
    assert body["status"] == "failed" and body["error"]["code"] == "PLANNING_FAILED"

    # task_id: the same request again is 200 with the same task; another request is a 409.
    request = {"task": "list the files in .", "task_id": "openapi-idempotent",
               "context": {"tools": ["list_files"], "constraints": {"max_steps": 3}}}
    first = stack.post("/api/v1/tasks", request)
    assert first.status_code == 202
    check(first, "/api/v1/tasks", "POST")
    again = stack.post("/api/v1/tasks", request)
    assert again.status_code == 200
    assert check(again, "/api/v1/tasks", "POST")["task_id"] == "openapi-idempotent"
    conflict = stack.post("/api/v1/tasks", dict(request, task="read the file notes/a.txt"))
    assert conflict.status_code == 409
    assert check(conflict, "/api/v1/tasks", "POST")["error"]["code"] == "CONFLICT"


def test_queued_running_and_cancelled_tasks_match(make_stack):
    stack = make_stack({"service.max_concurrent_tasks": 1})
    running_id = stack.submit("run the command: sleep 30")
    queued_id = stack.submit("list the files in .")
    wait_until(lambda: stack.get(f"/api/v1/tasks/{running_id}").json()["status"] == "running",
               message="the first task to run")
    wait_until(lambda: any(step["tool"] == "run_command"
                           for step in stack.get(f"/api/v1/tasks/{running_id}").json()["steps"]),
               message="the command to start")
    running = check(stack.get(f"/api/v1/tasks/{running_id}?wait=1"), "/api/v1/tasks/{id}")
    assert running["status"] == "running" and running["steps"][-1]["status"] == "running"
    queued = check(stack.get(f"/api/v1/tasks/{queued_id}"), "/api/v1/tasks/{id}")
    assert queued["status"] == "queued" and queued["steps"] == []
    listed = check(stack.get("/api/v1/tasks?status=running"), "/api/v1/tasks")
    assert [t["task_id"] for t in listed["tasks"]] == [running_id]

    # DELETE of a queued task: cancelled at once; of a running one: requested, then cancelled.
    response = stack.session.delete(f"{stack.url}/api/v1/tasks/{queued_id}", timeout=10)
    assert response.status_code == 202
    assert check(response, "/api/v1/tasks/{id}")["status"] == "cancelled"
    response = stack.session.delete(f"{stack.url}/api/v1/tasks/{running_id}", timeout=10)
    assert response.status_code == 202
    assert check(response, "/api/v1/tasks/{id}")["status"] in ("running", "cancelled")
    cancelled = stack.wait_for(running_id)
    assert cancelled["status"] == "cancelled"
    body = check(stack.get(f"/api/v1/tasks/{running_id}"), "/api/v1/tasks/{id}")
    assert body["error"]["code"] == "CANCELLED"

    # DELETE of a task that has ended: 409.
    response = stack.session.delete(f"{stack.url}/api/v1/tasks/{running_id}", timeout=10)
    assert response.status_code == 409
    assert check(response, "/api/v1/tasks/{id}")["error"]["code"] == "CONFLICT"


def test_the_list_with_filters_and_pages_matches(stack):
    ids = [stack.submit("list the files in .", priority="low") for _ in range(3)]
    for task_id in ids:
        stack.wait_for(task_id)
    since = stack.get(f"/api/v1/tasks/{ids[0]}").json()["created_at"]
    seen, cursor = [], None
    while True:
        path = f"/api/v1/tasks?priority=low&since={quote(since)}&limit=2"
        page = check(stack.get(path + (f"&cursor={quote(cursor)}" if cursor else "")),
                     "/api/v1/tasks")
        seen += [task["task_id"] for task in page["tasks"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    page = check(stack.get("/api/v1/tasks?status=completed&limit=100"), "/api/v1/tasks")
    assert set(ids) <= {task["task_id"] for task in page["tasks"]}
    for query in ("limit=0", "status=done", "colour=red", "cursor=nonsense", "since=yesterday"):
        response = stack.get(f"/api/v1/tasks?{query}")
        assert response.status_code == 400, query
        assert check(response, "/api/v1/tasks")["error"]["code"] == "INVALID_REQUEST"


def test_batches_match(stack):
    response = stack.post("/api/v1/tasks/batch", {
        "mode": "sequential", "continue_on_error": True,
        "tasks": [{"task": "write 'one' to batch/one.txt"}, {"task": "Hello, Task Runner!"},
                  {"task": "list the files in batch", "priority": "high"}]})
    assert response.status_code == 202
    accepted = check(response, "/api/v1/tasks/batch")
    assert response.headers["Location"] == f"/api/v1/batches/{accepted['batch_id']}"
    batch = check(stack.get(f"/api/v1/batches/{accepted['batch_id']}"), "/api/v1/batches/{id}")
    assert len(batch["tasks"]) == 3
    for task in accepted["tasks"]:
        stack.wait_for(task["task_id"])
    batch = check(stack.get(f"/api/v1/batches/{accepted['batch_id']}"), "/api/v1/batches/{id}")
    assert batch["status"] == "failed" and batch["statistics"]["completed_tasks"] == 2
    page = check(stack.get(f"/api/v1/tasks?batch_id={accepted['batch_id']}"), "/api/v1/tasks")
    assert len(page["tasks"]) == 3

    response = stack.get("/api/v1/batches/no-such-batch")
    assert response.status_code == 404
    assert check(response, "/api/v1/batches/{id}")["error"]["code"] == "NOT_FOUND"
    response = stack.post("/api/v1/tasks/batch", {"tasks": [], "mode": "parallel"})
    assert response.status_code == 400
    check(response, "/api/v1/tasks/batch")


def read_events(response):
    """(id, event, data) for each server-sent event until the stream ends."""
    events, current = [], {}
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if "event" in current:
                events.append((int(current["id"]), current["event"], current["data"]))
            current = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            current[name] = value[1:] if value.startswith(" ") else value
    return events


def test_event_stream_data_matches_the_event_schemas(stack):
    task = stack.run("write 'streamed' to events/a.txt, then read the file events/a.txt")
    path = f"/api/v1/tasks/{task['task_id']}/events"
    documented = documented_response("/api/v1/tasks/{id}/events", "get", 200)
    media = documented["content"]["text/event-stream"]
    with requests.get(stack.url + path, stream=True, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = read_events(response)  # returns: the stream ends after the final status
    kinds = [kind for _, kind, _ in events]
    assert set(kinds) == set(media["x-events"]) == {"status", "plan", "step"}
    for event_id, kind, data in events:
        try:
            validate(media["x-events"][kind], json.loads(data))
        except Exception as error:
            raise AssertionError(f"event {event_id} ({kind}) does not match: {error}\n{data}")
    assert kinds[0] == "status" and kinds[-1] == "status"
    assert json.loads(events[-1][2])["status"] in TERMINAL

    # Resuming with Last-Event-ID gives only what followed it.
    middle = events[len(events) // 2][0]
    with requests.get(stack.url + path, headers={"Last-Event-ID": str(middle)}, stream=True,
                      timeout=30) as response:
        assert [e[0] for e in read_events(response)] == [e[0] for e in events if e[0] > middle]
    response = stack.get(path, headers={"Last-Event-ID": "last"})
    assert response.status_code == 400
    check(response, "/api/v1/tasks/{id}/events", "GET")
    response = stack.get("/api/v1/tasks/no-such-task/events")
    assert response.status_code == 404
    check(response, "/api/v1/tasks/{id}/events", "GET")


def test_model_backed_tasks_and_a_rate_limited_status_match(make_stack):
    """Model calls give steps with tokens and inputs, metrics with tokens used, and a 429 puts
    the provider into the status endpoint's backoff list."""
    key = "sk-test-openapi-0123456789"
    llm = ScriptedLLM(api_key=key)
    try:
        stack = make_stack({"model.provider": "anthropic", "model.endpoint": llm.endpoint,
                            "model.api_key": key, "model.model_name": "test-model"})
        llm.script(plan(), calls(("list_files", {"path": "."}), text="Looking."),
                   complete(True, "Listed.", "nothing much"))
        task = stack.run("list what is here")
        body = check(stack.get(f"/api/v1/tasks/{task['task_id']}"), "/api/v1/tasks/{id}")
        assert body["status"] == "completed" and body["metrics"]["tokens_used"] == body["metrics"]["tokens"]["total"] > 0
        assert all(step["tokens"] for step in body["steps"] if step["step_type"] == "analysis")
        with requests.get(f"{stack.url}/api/v1/tasks/{task['task_id']}/events", stream=True,
                          timeout=30) as response:
            media = documented_response("/api/v1/tasks/{id}/events", "get", 200)["content"]
            for _, kind, data in read_events(response):
                validate(media["text/event-stream"]["x-events"][kind], json.loads(data))

        error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
        llm.script(plan(), status(429, error, {"Retry-After": "2"}),
                   status(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                           "message": "stop"}}))
        limited = stack.submit("meet the rate limit")
        shown = wait_until(lambda: (lambda s: s if s["rate_limited_providers"] else None)(
            check(stack.get("/api/v1/status"), "/api/v1/status")), message="the rate limit")
        assert shown["model"]["rate_limited_until"] and shown["model"]["resolved"]["model"] == "test-model"
        assert stack.wait_for(limited)["status"] == "failed"
        body = check(stack.get(f"/api/v1/tasks/{limited}"), "/api/v1/tasks/{id}")
        assert body["error"]["code"] == "MODEL_ERROR"
    finally:
        llm.stop()


def test_config_endpoints_match(stack):
    body = check(stack.get("/api/v1/config"), "/api/v1/config")
    assert body["model"]["api_key"] in ("set", "unset") and "config" not in body

    response = stack.session.put(f"{stack.url}/api/v1/config/model",
                                 json={"temperature": 0.5, "max_tokens": 2048}, timeout=10)
    assert response.status_code == 200, response.text
    assert check(response, "/api/v1/config/model")["model"]["temperature"] == 0.5
    response = stack.session.put(f"{stack.url}/api/v1/config/model", json={"provider": "openai"},
                                 timeout=10)
    assert response.status_code == 400  # openai's own endpoint needs a key
    check(response, "/api/v1/config/model")
    response = stack.session.put(f"{stack.url}/api/v1/config/model",
                                 json={"temperature": None, "max_tokens": None}, timeout=10)
    check(response, "/api/v1/config/model")

    response = stack.session.put(f"{stack.url}/api/v1/config",
                                 json={"execution": {"max_retries": 4}}, timeout=10)
    assert check(response, "/api/v1/config")["needs_restart"] == ["execution.max_retries"]
    body = check(stack.get("/api/v1/config"), "/api/v1/config")
    assert body["stored_overrides"] == {"execution.max_retries": 4}
    response = stack.session.put(f"{stack.url}/api/v1/config",
                                 json={"execution": {"max_retries": None}}, timeout=10)
    check(response, "/api/v1/config")
    response = stack.session.put(f"{stack.url}/api/v1/config",
                                 json={"storage": {"database": "/tmp/x.db"}}, timeout=10)
    assert response.status_code == 400
    check(response, "/api/v1/config")

    valid = check(stack.post("/api/v1/config/validate", {"config": {"execution": {"max_steps": 5}}}),
                  "/api/v1/config/validate")
    assert valid["valid"] is True and valid["errors"] == []
    invalid = check(stack.post("/api/v1/config/validate", {"execution": {"max_steps": 0},
                                                           "model": {"colour": "red"}}),
                    "/api/v1/config/validate")
    assert invalid["valid"] is False and len(invalid["errors"]) >= 2
    response = stack.post("/api/v1/config/validate", [1, 2])
    assert response.status_code == 400
    check(response, "/api/v1/config/validate")


def test_errors_match(stack):
    response = stack.post("/api/v1/tasks", raw=b'{"task": ',
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    check(response, "/api/v1/tasks")
    response = stack.get("/api/v1/tasks/no-such-task")
    assert response.status_code == 404
    assert check(response, "/api/v1/tasks/{id}")["error"]["code"] == "TASK_NOT_FOUND"
    response = stack.session.delete(f"{stack.url}/api/v1/tasks/no-such-task", timeout=10)
    assert response.status_code == 404
    check(response, "/api/v1/tasks/{id}")
    response = stack.get("/api/v1/tasks/some-id?wait=61")
    assert response.status_code == 400
    check(response, "/api/v1/tasks/{id}")
    response = stack.post("/api/v1/tasks", raw=b'{"task":"' + b"y" * (2 * 1024 * 1024) + b'"}')
    assert response.status_code == 413
    assert check(response, "/api/v1/tasks")["error"]["code"] == "PAYLOAD_TOO_LARGE"

    # No operation documents a method a path does not have; the shared responses say what comes.
    responses = DOCUMENT["components"]["responses"]
    for method, path in (("PUT", "/api/v1/tasks"), ("POST", "/api/v1/tasks/some-id"),
                         ("DELETE", "/health"), ("GET", "/api/v1/config/validate")):
        response = stack.session.request(method, stack.url + path, timeout=10)
        assert response.status_code == 405, (method, path)
        assert response.headers["Allow"], (method, path)
        body = check_against(response, {"content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Error"}}}}, f"{method} {path}")
        assert body["error"]["code"] == "METHOD_NOT_ALLOWED"
    for path in ("/api/v1/nothing-here", "/nothing-here"):
        response = stack.get(path)
        assert response.status_code == 404, path
        assert check_against(response, responses["NotFound"], path)["error"]["code"] == "NOT_FOUND"


def test_authentication_and_scope_errors_match(make_stack):
    stack = make_stack({"service.require_api_key": True})
    read_key = stack.create_key("openapi", "read")
    submit_key = stack.create_key("openapi", "submit")

    check(stack.get("/health"), "/health")
    check(stack.get("/api/v1/openapi.json"), "/api/v1/openapi.json")
    for headers in ({}, {"Authorization": "Bearer trk_nothing_here"}, {"X-API-Key": "wrong"}):
        response = stack.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 401, headers
        assert check(response, "/api/v1/tasks")["error"]["code"] == "AUTHENTICATION_ERROR"

    response = stack.post("/api/v1/tasks", {"task": "list the files in ."},
                          headers={"Authorization": f"Bearer {read_key}"})
    assert response.status_code == 403
    assert check(response, "/api/v1/tasks")["error"]["code"] == "AUTHORIZATION_ERROR"
    response = stack.get("/api/v1/config", headers={"X-API-Key": read_key})
    assert response.status_code == 403
    check(response, "/api/v1/config")
    response = stack.get("/api/v1/tasks", headers={"X-API-Key": submit_key})
    assert response.status_code == 403
    check(response, "/api/v1/tasks")

    response = stack.post("/api/v1/tasks", {"task": "list the files in ."},
                          headers={"X-API-Key": submit_key})
    assert response.status_code == 202
    task_id = check(response, "/api/v1/tasks")["task_id"]
    response = stack.get(f"/api/v1/tasks/{task_id}", headers={"Authorization": f"Bearer {read_key}"})
    check(response, "/api/v1/tasks/{id}")
    page = check(stack.get("/api/v1/tasks", headers={"X-API-Key": read_key}), "/api/v1/tasks")
    assert [task["task_id"] for task in page["tasks"]] == [task_id]


def test_the_console_endpoints_match(make_stack):
    # GET /api/v1/session, POST /api/v1/tasks/cancel and GET /api/v1/metrics/history (the web
    # console's), with keys on: answers, refusals and bad input.
    stack = make_stack({"service.require_api_key": True, "service.max_concurrent_tasks": 1})
    read = {"Authorization": f"Bearer {stack.create_key('openapi', 'read')}"}
    submit = {"Authorization": f"Bearer {stack.create_key('openapi', 'read,submit')}"}
    body = check(stack.get("/api/v1/session", headers=read), "/api/v1/session")
    assert body == {"auth_required": True, "owner": "openapi", "key_id": body["key_id"], "scopes": ["read"]}
    assert check(stack.get("/api/v1/session"), "/api/v1/session")["error"]["code"] == "AUTHENTICATION_ERROR"

    blocker = stack.post("/api/v1/tasks", {"task": "run the command: sleep 30.25"}, headers=submit).json()["task_id"]
    wait_until(lambda: stack.get(f"/api/v1/tasks/{blocker}", headers=read).json()["status"] == "running",
               timeout=20, message="the blocker to run")
    waiting = [stack.post("/api/v1/tasks", {"task": "list the files in .", "priority": "low"},
                          headers=submit).json()["task_id"] for _ in range(3)]
    body = check(stack.get("/api/v1/metrics/history", headers=read), "/api/v1/metrics/history")
    assert body["queue_depth"] == 3 and body["minutes"][-1]["submitted"] >= 4

    response = stack.post("/api/v1/tasks/cancel", {"status": "queued", "priority": "low"}, headers=read)
    assert response.status_code == 403
    check(response, "/api/v1/tasks/cancel")
    # A year past what a time point holds (2262) is refused: it came back as a time in the past,
    # and "since 2999" cancelled every queued task.
    for bad in ({"status": "running"}, {"status": "queued", "since": "soon"}, {"status": "queued", "x": 1},
                {"status": "queued", "since": "2999-01-01T00:00:00Z"}):
        response = stack.post("/api/v1/tasks/cancel", bad, headers=submit)
        assert response.status_code == 400, bad
        check(response, "/api/v1/tasks/cancel")
    # A since still to come, or another owner's key, cancels none of them.
    other = {"Authorization": f"Bearer {stack.create_key('someone-else', 'read,submit')}"}
    for filter, headers in (({"status": "queued", "since": "2200-01-01T00:00:00Z"}, submit),
                            ({"status": "queued"}, other)):
        response = stack.post("/api/v1/tasks/cancel", filter, headers=headers)
        assert check(response, "/api/v1/tasks/cancel") == {"cancelled": 0}, filter
    response = stack.post("/api/v1/tasks/cancel", {"status": "queued", "priority": "low"}, headers=submit)
    assert check(response, "/api/v1/tasks/cancel") == {"cancelled": 3}
    assert {stack.get(f"/api/v1/tasks/{t}", headers=read).json()["status"] for t in waiting} == {"cancelled"}
    stack.session.delete(f"{stack.url}/api/v1/tasks/{blocker}", headers=submit, timeout=10)
