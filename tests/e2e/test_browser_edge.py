"""What a web page can do to a Task Runner on the same machine: nothing.

A page on another origin can send "simple" requests without a CORS preflight (a form, text/plain,
multipart, no Content-Type, Origin: null) and, through DNS rebinding, can make the browser send
its requests to 127.0.0.1 under the attacker's own host name. Each case here is the request a
browser would send, against the real nginx and handlers, and checks that nothing was stored or
changed."""

import subprocess

import pytest
import requests

from conftest import BIN, Stack, wait_until


def table_counts(stack):
    return stack.query(
        "SELECT (SELECT count(*) FROM tasks), (SELECT count(*) FROM batches), "
        "(SELECT count(*) FROM config_overrides), "
        "(SELECT count(*) FROM config_changes)")[0]


TASK = b'{"task": "run the command: touch /tmp/drive-by"}'
# (name, body, headers): what a page elsewhere can send without asking first.
SIMPLE_REQUESTS = [
    ("text/plain", TASK, {"Content-Type": "text/plain"}),
    ("text/plain with charset", TASK, {"Content-Type": "text/plain;charset=UTF-8"}),
    ("form", b"task=run+the+command%3A+id", {"Content-Type": "application/x-www-form-urlencoded"}),
    ("multipart", b'--x\r\nContent-Disposition: form-data; name="task"\r\n\r\nrun the command: id\r\n--x--\r\n',
     {"Content-Type": "multipart/form-data; boundary=x"}),
    ("no Content-Type", TASK, {}),
    ("Origin: null", TASK, {"Content-Type": "text/plain", "Origin": "null"}),
    ("another origin", TASK, {"Content-Type": "text/plain", "Origin": "https://attacker.example"}),
]
BODY_ENDPOINTS = [
    ("POST", "/api/v1/tasks"),
    ("POST", "/api/v1/tasks/batch"),
    ("PUT", "/api/v1/config/model"),
    ("PUT", "/api/v1/config"),
    ("POST", "/api/v1/config/validate"),
]


@pytest.mark.parametrize("method,path", BODY_ENDPOINTS, ids=[f"{m} {p}" for m, p in BODY_ENDPOINTS])
@pytest.mark.parametrize("name,body,headers", SIMPLE_REQUESTS, ids=[r[0] for r in SIMPLE_REQUESTS])
def test_a_body_that_is_not_json_is_refused_and_nothing_is_stored(stack, method, path, name, body, headers):
    before = table_counts(stack)
    # requests adds no Content-Type of its own for bytes.
    response = stack.session.request(method, stack.url + path, data=body, headers=headers, timeout=10)
    assert response.status_code == 415, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "Content-Type: application/json" in error["message"]
    assert "Access-Control-Allow-Origin" not in response.headers
    assert table_counts(stack) == before


def test_json_in_any_case_and_charset_is_taken(stack):
    for content_type in ("application/json", "Application/JSON; charset=utf-8", "application/json;charset=UTF-8"):
        response = stack.session.post(stack.url + "/api/v1/tasks", data=b'{"task": "list the files in ."}',
                                      headers={"Content-Type": content_type}, timeout=10)
        assert response.status_code == 202, (content_type, response.text)


FOREIGN_HOSTS = ["attacker.example", "attacker.example:{port}", "127.0.0.1.attacker.example:{port}",
                 "localhost.attacker.example:{port}", "127.0.0.1:1", "localhost", "0.0.0.0:{port}", ""]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_a_foreign_host_is_refused_on_every_method_and_changes_nothing(stack, host):
    host = host.format(port=stack.port)
    before = table_counts(stack)
    model_before = stack.get("/api/v1/config").json()["model"]
    attempts = [
        ("GET", "/health", None),
        ("GET", "/api/v1/tasks", None),
        ("GET", "/api/v1/config", None),
        ("HEAD", "/api/v1/status", None),
        ("POST", "/api/v1/tasks", {"task": "run the command: id"}),
        ("PUT", "/api/v1/config/model", {"provider": "openai", "endpoint": "http://127.0.0.1:9/v1",
                                         "api_key": "sk-attacker"}),
        ("PUT", "/api/v1/config", {"execution": {"max_steps": 3}}),
        ("DELETE", "/api/v1/tasks/anything", None),
        ("OPTIONS", "/api/v1/tasks", None),
    ]
    for method, path, body in attempts:
        headers = {"Host": host, "Origin": f"http://{host}" if host else "null",
                   "Access-Control-Request-Method": "PUT"}
        response = requests.request(method, stack.url + path, json=body, headers=headers, timeout=10)
        # An empty Host is malformed HTTP/1.1 to nginx itself: 400 before any check of ours.
        expected = 400 if not host else 421
        assert response.status_code == expected, (method, path, response.status_code, response.text)
        assert "Access-Control-Allow-Origin" not in response.headers
        if method != "HEAD":
            error = response.json()["error"]
            assert error["code"] == "INVALID_REQUEST"
            assert not host or "service.allowed_hosts" in error["message"]
    assert table_counts(stack) == before
    assert stack.get("/api/v1/config").json()["model"] == model_before


def test_the_loopback_names_with_the_port_are_answered_in_any_case(stack):
    for host in (f"127.0.0.1:{stack.port}", f"localhost:{stack.port}", f"[::1]:{stack.port}",
                 f"LocalHost:{stack.port}"):
        response = requests.get(stack.url + "/api/v1/tools", headers={"Host": host}, timeout=10)
        assert response.status_code == 200, (host, response.text)


def test_configured_host_names_are_answered_with_any_port_and_nothing_else(make_stack):
    stack = make_stack({"service.allowed_hosts": ["tasks.example", "127.0.0.1:1234"]}, start=False)
    stack.session.headers["Host"] = "tasks.example"  # how the test itself gets in
    stack.start()
    # The launcher reached its own stack under the first allowed name, or it would not be serving.
    wait_until(lambda: "is serving on" in stack.log(), message="the launcher's banner")
    for host, status in (("tasks.example", 200), ("tasks.example:443", 200), ("TASKS.example:8080", 200),
                         ("other.example", 421), ("sub.tasks.example", 421), (f"localhost:{stack.port}", 421),
                         (f"127.0.0.1:{stack.port}", 421), ("127.0.0.1:1234", 200)):
        response = requests.get(stack.url + "/api/v1/tools", headers={"Host": host}, timeout=10)
        assert response.status_code == status, (host, response.text)


def test_a_disallowed_origins_preflight_gets_no_cors_headers(make_stack):
    stack = make_stack({"service.cors.allowed_origins": ["https://console.example"]})
    for origin in ("https://attacker.example", "null", "https://console.example.attacker.example"):
        response = requests.options(stack.url + "/api/v1/tasks", timeout=10, headers={
            "Origin": origin, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        assert response.status_code == 204
        assert not [h for h in response.headers if h.lower().startswith("access-control-")], dict(response.headers)
    allowed = requests.options(stack.url + "/api/v1/tasks", timeout=10, headers={
        "Origin": "https://console.example", "Access-Control-Request-Method": "POST"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://console.example"


def refused_start(tmp_path, overrides, env=None):
    stack = Stack(tmp_path / "refused", overrides, env)
    done = subprocess.run([str(BIN / "task-runner"), "serve", "--config", str(stack.config_path)],
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=stack.env)
    return done


def test_any_origin_without_api_keys_refuses_to_start_and_says_why(tmp_path):
    done = refused_start(tmp_path, {"service.cors.allowed_origins": ["*"]})
    assert done.returncode != 0
    assert "service.cors.allowed_origins cannot contain \"*\" while service.require_api_key is false" in done.stderr
    assert "every web page could then read every task" in done.stderr
    from_env = refused_start(tmp_path, {}, env={"TASK_RUNNER_CORS_ALLOWED_ORIGINS": "*"})
    assert from_env.returncode != 0
    assert "TASK_RUNNER_CORS_ALLOWED_ORIGINS: service.cors.allowed_origins cannot contain" in from_env.stderr
    any_host = refused_start(tmp_path, {"service.allowed_hosts": ["*"]})
    assert any_host.returncode != 0 and "DNS rebinding" in any_host.stderr


def test_with_auth_off_the_launcher_says_so_once(stack):
    log = wait_until(lambda: "is serving on" in stack.log() and stack.log(), message="the launcher's banner")
    assert log.count("event=launcher.open_access") == 1, log
    assert log.count("Warning: API keys are off (service.require_api_key = false)") == 1
    assert f"can reach 127.0.0.1:{stack.port} can run commands" in log
