"""nginx, the edge: CORS and rate limits rendered from service.cors and service.rate_limiting,
size limits, security headers, and its own errors in the API's JSON shape."""

import http.client
import itertools
import json
import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest
import requests

from conftest import Stack, wait_until

ORIGIN = "https://app.example"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def create_key(stack, owner="edge", scopes="read,submit"):
    return stack.create_key(owner, scopes)


def cors_headers(response):
    return {name: value for name, value in response.headers.items() if name.lower().startswith("access-control-")}


def assert_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code, dict(response.headers))
    csp = response.headers.get("Content-Security-Policy", "")
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert len(response.headers.get("X-Request-Id", "")) >= 16
    assert response.headers.get("Server", "nginx") == "nginx"  # no version


def assert_json_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    return error


def preflight(stack, path, origin, method="POST", request_headers="authorization, content-type"):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return requests.options(stack.url + path, headers=headers, timeout=10)


# -- a stack with named origins, credentials and keys, shared by the CORS tests -----------------


@pytest.fixture(scope="module")
def credentialed(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("edge"), {
        "service.require_api_key": True,
        "service.max_request_body_kb": 4,
        "service.cors.allowed_origins": [ORIGIN, "https://admin.example"],
        "service.cors.allow_credentials": True,
        "service.cors.allowed_methods": ["GET", "POST", "PUT", "DELETE"],
        "service.cors.allowed_headers": ["Authorization", "X-API-Key", "Content-Type", "Last-Event-ID"],
        "service.cors.max_age_seconds": 321,
    })
    stack.start()
    stack.key = create_key(stack)
    yield stack
    stack.shut_down()


def test_preflight_from_an_allowed_origin_names_that_origin_with_credentials(credentialed):
    for origin in (ORIGIN, "https://admin.example"):
        for path in ("/api/v1/tasks", "/api/v1/tasks/some-id", "/api/v1/config", "/health"):
            response = preflight(credentialed, path, origin, request_headers="x-custom, authorization")
            assert response.status_code == 204, response.text
            assert response.content == b""
            assert response.headers["Access-Control-Allow-Origin"] == origin  # never "*" here
            assert response.headers["Access-Control-Allow-Credentials"] == "true"
            assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, PUT, DELETE, OPTIONS"
            # A list, not "*": the configured one, whatever the preflight asked for.
            assert response.headers["Access-Control-Allow-Headers"] == \
                "Authorization, X-API-Key, Content-Type, Last-Event-ID"
            assert response.headers["Access-Control-Max-Age"] == "321"
            assert "Origin" in response.headers["Vary"]
            assert_security_headers(response)


def test_preflight_needs_no_key_and_writes_nothing(credentialed):
    before = credentialed.query("SELECT count(*) FROM tasks")
    response = preflight(credentialed, "/api/v1/tasks", ORIGIN)
    assert response.status_code == 204
    assert "WWW-Authenticate" not in response.headers
    assert credentialed.query("SELECT count(*) FROM tasks") == before


@pytest.mark.parametrize("origin", [
    "https://evil.example", "https://app.example.evil.example", "http://app.example",
    "https://app.example:8443", "null", "https://app.exampl",
])
def test_a_disallowed_origin_gets_no_cors_header_at_all(credentialed, origin):
    key = credentialed.key
    responses = [
        preflight(credentialed, "/api/v1/tasks", origin),
        requests.get(credentialed.url + "/api/v1/tools", headers={"Origin": origin, "X-API-Key": key}, timeout=10),
        requests.get(credentialed.url + "/health", headers={"Origin": origin}, timeout=10),
        requests.get(credentialed.url + "/api/v1/tools", headers={"Origin": origin}, timeout=10),  # 401
        requests.get(credentialed.url + "/nowhere", headers={"Origin": origin}, timeout=10),  # nginx's 404
    ]
    assert [r.status_code for r in responses] == [204, 200, 200, 401, 404]
    for response in responses:
        assert cors_headers(response) == {}, (response.status_code, dict(response.headers))
        assert "Origin" in response.headers["Vary"]
        assert_security_headers(response)


def test_a_request_without_origin_gets_no_cors_header(credentialed):
    response = requests.get(credentialed.url + "/api/v1/tools", headers={"X-API-Key": credentialed.key}, timeout=10)
    assert response.status_code == 200
    assert cors_headers(response) == {}


def test_an_allowed_origin_gets_cors_headers_on_successes_and_errors(credentialed):
    key = credentialed.key
    url = credentialed.url
    with_key = {"Origin": ORIGIN, "X-API-Key": key}
    cases = [
        (requests.get(url + "/api/v1/tools", headers=with_key, timeout=10), 200, None),
        (requests.post(url + "/api/v1/tasks", json={"task": "list the files in ."}, headers=with_key, timeout=10),
         202, None),
        (requests.get(url + "/api/v1/tasks/no-such-task", headers=with_key, timeout=10), 404, "TASK_NOT_FOUND"),
        (requests.get(url + "/not/an/endpoint", headers=with_key, timeout=10), 404, "NOT_FOUND"),
        (requests.post(url + "/api/v1/tasks", data=b'{"task": ',
                       headers={**with_key, "Content-Type": "application/json"}, timeout=10),
         400, "INVALID_REQUEST"),
        (requests.post(url + "/api/v1/tasks", data=b'{"task": "x"}', headers=with_key, timeout=10),
         415, "UNSUPPORTED_MEDIA_TYPE"),
        (requests.get(url + "/api/v1/tasks", headers={"Origin": ORIGIN}, timeout=10), 401, "AUTHENTICATION_ERROR"),
        (requests.get(url + "/api/v1/config", headers=with_key, timeout=10), 403, "AUTHORIZATION_ERROR"),
        (requests.put(url + "/api/v1/tasks", json={}, headers=with_key, timeout=10), 405, "METHOD_NOT_ALLOWED"),
        (requests.post(url + "/api/v1/tasks", json={"task": "x" * 5000}, headers=with_key, timeout=10),
         413, "PAYLOAD_TOO_LARGE"),
    ]
    for response, status, code in cases:
        if code:
            assert_json_error(response, status, code)
        assert response.status_code == status, response.text
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN, (status, dict(response.headers))
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        exposed = [h.strip() for h in response.headers["Access-Control-Expose-Headers"].split(",")]
        assert {"X-Request-Id", "Location", "Retry-After"} <= set(exposed)
        assert "Origin" in response.headers["Vary"]
        assert_security_headers(response)


def test_the_default_allows_no_other_origin(stack):
    # The development config names no origin: a page elsewhere gets no CORS header on a preflight
    # (so the browser sends nothing) nor on an answer (so it reads nothing).
    for origin in ("https://anywhere.example", "http://localhost:3000", "null"):
        response = preflight(stack, "/api/v1/tasks", origin)
        assert response.status_code == 204
        assert cors_headers(response) == {}, dict(response.headers)
        for answer in (
            requests.get(stack.url + "/api/v1/tools", headers={"Origin": origin}, timeout=10),
            requests.get(stack.url + "/api/v1/tasks?limit=1", headers={"Origin": origin}, timeout=10),
        ):
            assert answer.status_code == 200
            assert cors_headers(answer) == {}, dict(answer.headers)


def test_a_wildcard_with_keys_answers_star_and_echoes_requested_headers(make_stack):
    stack = make_stack({"service.require_api_key": True, "service.cors.allowed_origins": ["*"]})
    key = create_key(stack)
    response = preflight(stack, "/api/v1/tasks", "https://anywhere.example",
                         request_headers="authorization, content-type, x-trace")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert response.headers["Access-Control-Allow-Methods"] == "GET, POST, DELETE, OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization, content-type, x-trace"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in response.headers["Vary"]
    assert_security_headers(response)

    plain = preflight(stack, "/api/v1/tasks", "http://localhost:3000", request_headers=None)
    assert plain.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Headers" not in plain.headers  # nothing asked, nothing echoed

    origin = {"Origin": "https://x.example"}
    for response in (
        requests.get(stack.url + "/api/v1/tools", headers={**origin, "X-API-Key": key}, timeout=10),
        requests.get(stack.url + "/api/v1/tasks/no-such-task", headers={**origin, "X-API-Key": key}, timeout=10),
        requests.get(stack.url + "/api/v1/tools", headers=origin, timeout=10),  # 401
        requests.post(stack.url + "/api/v1/tasks", data=b"[", headers={**origin, "X-API-Key": key}, timeout=10),
    ):
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
    no_origin = requests.get(stack.url + "/api/v1/tools", headers={"X-API-Key": key}, timeout=10)
    assert cors_headers(no_origin) == {}


# -- rate limits --------------------------------------------------------------------------------


def burst_until_refused(send, limit=60):
    """Sends requests until one is refused with 429; returns (statuses, seconds taken, the 429)."""
    statuses, started = [], time.monotonic()
    for _ in range(limit):
        response = send()
        statuses.append(response.status_code)
        if response.status_code == 429:
            return statuses, time.monotonic() - started, response
    raise AssertionError(f"no 429 after {limit} requests: {statuses}")


def assert_refused_after_the_burst(statuses, seconds, burst, ok=200):
    # The first burst + 1 always pass; at 1 request a second, each second taken may let one more.
    assert statuses[:burst + 1] == [ok] * (burst + 1), statuses
    assert burst + 1 <= statuses.index(429) <= burst + 1 + int(seconds) + 1, (statuses, seconds)


def assert_rate_limited(response, origin=None):
    error = assert_json_error(response, 429, "RATE_LIMIT_EXCEEDED")
    assert "60 a minute" in error["message"] and "bursts of 5" in error["message"]
    assert response.headers["Retry-After"] == "1"  # 60 a minute: one more each second
    assert_security_headers(response)
    if origin:
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]


def test_a_key_is_limited_on_its_own_and_health_never(make_stack):
    stack = make_stack({"service.rate_limiting.requests_per_minute": 60,
                        "service.rate_limiting.burst_size": 5,
                        "service.require_api_key": True,
                        "service.cors.allowed_origins": [ORIGIN]})
    first, second = create_key(stack, "first"), create_key(stack, "second")

    def send():
        return requests.get(stack.url + "/api/v1/tools", headers={"X-API-Key": first, "Origin": ORIGIN}, timeout=10)
    statuses, seconds, refused = burst_until_refused(send)
    assert_refused_after_the_burst(statuses, seconds, burst=5)
    assert_rate_limited(refused, ORIGIN)
    # The same key in the other header is the same key.
    again = requests.get(stack.url + "/api/v1/tools", headers={"Authorization": f"Bearer {first}"}, timeout=10)
    assert again.status_code == 429
    # Another key has its own allowance.
    other = requests.get(stack.url + "/api/v1/tools", headers={"Authorization": f"Bearer {second}"}, timeout=10)
    assert other.status_code == 200, other.text
    for _ in range(30):
        assert requests.get(stack.url + "/health", timeout=10).status_code == 200


def test_a_burst_of_zero_starts_and_allows_no_burst(make_stack):
    # service.rate_limiting.burst_size = 0 is valid configuration; nginx refuses "burst=0", and
    # the stack did not start.
    stack = make_stack({"service.rate_limiting.requests_per_minute": 60,
                        "service.rate_limiting.burst_size": 0})
    statuses, seconds, refused = burst_until_refused(lambda: requests.get(stack.url + "/api/v1/tools", timeout=10))
    assert_refused_after_the_burst(statuses, seconds, burst=0)
    assert "bursts of 0" in assert_json_error(refused, 429, "RATE_LIMIT_EXCEEDED")["message"]


def test_a_made_up_key_beside_a_real_one_buys_no_allowance(make_stack):
    """nginx limits by the key the handlers check: a Bearer token before X-API-Key."""
    stack = make_stack({"service.rate_limiting.requests_per_minute": 60,
                        "service.rate_limiting.burst_size": 5,
                        "service.require_api_key": True})
    key = create_key(stack)

    def send():
        headers = {"Authorization": f"Bearer {key}", "X-API-Key": uuid.uuid4().hex}
        return requests.get(stack.url + "/api/v1/tools", headers=headers, timeout=10)
    statuses, seconds, refused = burst_until_refused(send)
    assert_refused_after_the_burst(statuses, seconds, burst=5)
    assert_rate_limited(refused)

    # Nor does spelling "Bearer" another way.
    key2 = create_key(stack, "other")
    spellings = iter(["Bearer", "bearer", "BEARER", "bEarer", "BeArer", "beaRer", "BEARer", "bearER"] * 8)

    def send_spelt():
        return requests.get(stack.url + "/api/v1/tools",
                            headers={"Authorization": f"{next(spellings)} {key2}"}, timeout=10)
    statuses, seconds, refused = burst_until_refused(send_spelt)
    assert_refused_after_the_burst(statuses, seconds, burst=5)


def test_made_up_keys_are_limited_per_address(make_stack):
    stack = make_stack({"service.rate_limiting.requests_per_minute": 60,
                        "service.rate_limiting.burst_size": 5,
                        "service.require_api_key": True})

    def send():
        return requests.get(stack.url + "/api/v1/tools", headers={"X-API-Key": uuid.uuid4().hex}, timeout=10)
    # Per address: 10 times the per-key rate, bursts of 10 * 5 + 10.
    statuses, seconds, refused = burst_until_refused(send, limit=400)
    assert statuses[:61] == [401] * 61, statuses
    assert statuses.index(429) <= 61 + 10 * (int(seconds) + 1), (statuses, seconds)
    assert_json_error(refused, 429, "RATE_LIMIT_EXCEEDED")


def get_from(stack, source, path):
    """GET from a chosen loopback source address (the whole of 127/8 is this machine)."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10, source_address=(source, 0))
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_without_keys_the_limit_is_per_address(make_stack):
    stack = make_stack({"service.rate_limiting.requests_per_minute": 60,
                        "service.rate_limiting.burst_size": 5})

    class Sent:
        def __init__(self, status, body):
            self.status_code, self.body = status, body

    statuses, seconds, refused = burst_until_refused(lambda: Sent(*get_from(stack, "127.0.0.1", "/api/v1/tools")))
    assert_refused_after_the_burst(statuses, seconds, burst=5)
    assert b'"RATE_LIMIT_EXCEEDED"' in refused.body
    # Another address has its own allowance.
    assert get_from(stack, "127.0.0.2", "/api/v1/tools")[0] == 200
    assert get_from(stack, "127.0.0.1", "/health")[0] == 200


def test_without_keys_a_made_up_key_header_buys_no_allowance(make_stack):
    stack = make_stack({"service.rate_limiting.requests_per_minute": 60,
                        "service.rate_limiting.burst_size": 5})

    made_up = itertools.cycle([lambda: {"X-API-Key": uuid.uuid4().hex},
                               lambda: {"Authorization": f"Bearer {uuid.uuid4().hex}"}])

    def send():
        return requests.get(stack.url + "/api/v1/tools", headers=next(made_up)(), timeout=10)
    statuses, seconds, refused = burst_until_refused(send)
    assert_refused_after_the_burst(statuses, seconds, burst=5)
    assert_rate_limited(refused)


# -- size limits ---------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413_json_and_writes_nothing(credentialed):
    before = credentialed.query("SELECT count(*) FROM tasks")
    headers = {"X-API-Key": credentialed.key}
    for body in ({"task": "x" * 4200}, {"task": "x" * 100000}):
        response = requests.post(credentialed.url + "/api/v1/tasks", json=body, headers=headers, timeout=10)
        error = assert_json_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert "4 KiB" in error["message"]
        assert_security_headers(response)

    def chunks():  # no Content-Length: nginx counts as it reads
        yield b'{"task": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'
    chunked = requests.post(credentialed.url + "/api/v1/tasks", data=chunks(), headers=headers, timeout=10)
    assert_json_error(chunked, 413, "PAYLOAD_TOO_LARGE")
    assert credentialed.query("SELECT count(*) FROM tasks") == before
    # Just under the limit is fine.
    fits = requests.post(credentialed.url + "/api/v1/tasks", json={"task": "list the files in . " + " " * 3500},
                         headers=headers, timeout=10)
    assert fits.status_code == 202, fits.text


def test_a_chunked_body_under_the_limit_reaches_the_handlers_whole(credentialed):
    def chunks():
        yield b'{"task": "list the files'
        yield b' in ."}'
    response = requests.post(credentialed.url + "/api/v1/tasks", data=chunks(),
                             headers={"X-API-Key": credentialed.key, "Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 202, response.text


def test_an_oversized_header_is_refused_with_a_json_error(credentialed):
    # nginx answers 400 (its internal 494), not 431; Origin, read before the header that is too
    # large, still gets its CORS headers.
    response = requests.get(credentialed.url + "/api/v1/tools",
                            headers={"Origin": ORIGIN, "X-API-Key": credentialed.key, "X-Padding": "p" * 20000},
                            timeout=10)
    assert_json_error(response, 400, "INVALID_REQUEST")
    assert_security_headers(response)
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    # Many headers that each fit but together do not.
    many = {f"X-Pad-{i}": "p" * 8000 for i in range(10)}
    response = requests.get(credentialed.url + "/api/v1/tools", headers=many, timeout=10)
    assert_json_error(response, 400, "INVALID_REQUEST")


def test_an_oversized_request_line_is_refused_with_a_json_error(credentialed):
    response = requests.get(credentialed.url + "/api/v1/tasks?batch_id=" + "b" * 20000,
                            headers={"X-API-Key": credentialed.key}, timeout=10)
    error = assert_json_error(response, 414, "INVALID_REQUEST")
    assert "16 KiB" in error["message"]
    assert_security_headers(response)


def raw_exchange(stack, data):
    """Sends bytes as they are (requests would refuse to send most of these) and reads the answer."""
    with socket.create_connection(("127.0.0.1", stack.port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


CLOSE = b"Host: x\r\nConnection: close\r\n"
# (name, raw request, status, code): nginx's own refusals while reading a request.
NGINX_REFUSALS = [
    ("no request line", b"GET\r\n\r\n", 400, "INVALID_REQUEST"),
    ("binary noise", b"\x01\x02\x03 hello\r\n\r\n", 400, "INVALID_REQUEST"),
    ("unknown protocol", b"GET / HTTP/x\r\n\r\n", 400, "INVALID_REQUEST"),
    ("HTTP/1.1 without Host", b"GET /health HTTP/1.1\r\nConnection: close\r\n\r\n", 400, "INVALID_REQUEST"),
    ("Content-Length not a number", b"POST /api/v1/tasks HTTP/1.1\r\n" + CLOSE + b"Content-Length: abc\r\n\r\n",
     400, "INVALID_REQUEST"),
    ("Content-Length and chunked", b"POST /api/v1/tasks HTTP/1.1\r\n" + CLOSE +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "INVALID_REQUEST"),
    ("a header line over 16k", b"GET /health HTTP/1.1\r\n" + CLOSE + b"X-A: " + b"a" * 20000 + b"\r\n\r\n",
     400, "INVALID_REQUEST"),
    ("a request line over 16k", b"GET /health?" + b"a" * 20000 + b" HTTP/1.1\r\n" + CLOSE + b"\r\n",
     414, "INVALID_REQUEST"),
    ("TRACE", b"TRACE /api/v1/tasks HTTP/1.1\r\n" + CLOSE + b"\r\n", 405, "METHOD_NOT_ALLOWED"),
    ("Transfer-Encoding gzip", b"POST /api/v1/tasks HTTP/1.1\r\n" + CLOSE + b"Transfer-Encoding: gzip\r\n\r\n",
     501, "INVALID_REQUEST"),
    ("HTTP/3.0", b"GET /health HTTP/3.0\r\n" + CLOSE + b"\r\n", 505, "INVALID_REQUEST"),
    ("an internal error page asked for", b"GET /.edge/400 HTTP/1.1\r\n" + CLOSE + b"\r\n", 404, "NOT_FOUND"),
]


@pytest.mark.parametrize("name,data,status,code", NGINX_REFUSALS, ids=[r[0] for r in NGINX_REFUSALS])
def test_nginx_refusals_are_json_errors(credentialed, name, data, status, code):
    answered, headers, body = raw_exchange(credentialed, data)
    assert answered == status, body
    assert headers["content-type"].startswith("application/json"), (headers, body)
    error = json.loads(body)["error"]
    assert error["code"] == code and error["message"]
    for header, value in SECURITY_HEADERS.items():
        assert headers[header.lower()] == value
    if status == 405:
        assert "GET" in headers["allow"]


# -- headers on everything ----------------------------------------------------------------------


def test_every_kind_of_response_has_the_security_headers(credentialed):
    url, key = credentialed.url, credentialed.key
    responses = [
        requests.get(url + "/health", timeout=10),
        requests.get(url + "/metrics", headers={"X-API-Key": key}, timeout=10),
        requests.get(url + "/api/v1/openapi.json", timeout=10),
        requests.get(url + "/api/v1/tasks", timeout=10),
        requests.delete(url + "/health", timeout=10),
        requests.get(url + "/", timeout=10),  # the web console's page
        requests.get(url + "/nothing-here", timeout=10),
        requests.options(url + "/api/v1/tasks", timeout=10),
        requests.head(url + "/health", timeout=10),
        requests.post(url + "/api/v1/tasks", data=b"z" * 5000, headers={"X-API-Key": key}, timeout=10),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 405, 200, 404, 204, 200, 413]
    ids = set()
    for response in responses:
        assert_security_headers(response)
        ids.add(response.headers["X-Request-Id"])
    assert len(ids) == len(responses)  # one id per request


def test_a_handler_answer_carries_one_request_id(credentialed):
    # nginx's id; the handlers' copy of it is hidden, not sent twice.
    response = requests.get(credentialed.url + "/api/v1/tools", headers={"X-API-Key": credentialed.key}, timeout=10)
    assert response.raw.headers.getlist("X-Request-Id") == [response.headers["X-Request-Id"]]


# -- handlers down ----------------------------------------------------------------------------


def test_handlers_down_is_a_502_in_the_json_shape(make_stack):
    stack = make_stack({"service.cors.allowed_origins": [ORIGIN]})
    fcgi = [pid for pid in stack.component_pids()
            if Path(f"/proc/{pid}/comm").read_text().strip() == "task-runner-fcg"]
    assert len(fcgi) == 1, fcgi
    # The launcher restarts a component that dies; held still, it lets nginx answer for the dead
    # handlers first. (Held once it serves: /health can answer the test before the launcher's
    # own start-up check has seen it.)
    wait_until(lambda: "is serving on" in stack.log(), message="the launcher to report it serves")
    os.kill(stack.process.pid, signal.SIGSTOP)
    try:
        os.kill(fcgi[0], signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{fcgi[0]}/comm").exists()
                   or "Z" in Path(f"/proc/{fcgi[0]}/stat").read_text().rsplit(")", 1)[1].split()[0],
                   message="the handler process to die")
        responses = [
            requests.get(stack.url + "/api/v1/tasks", headers={"Origin": ORIGIN}, timeout=10),
            requests.get(stack.url + "/health", timeout=10),
            requests.post(stack.url + "/api/v1/tasks", json={"task": "list the files in ."}, timeout=10),
        ]
    finally:
        os.kill(stack.process.pid, signal.SIGCONT)
    for response in responses:
        error = assert_json_error(response, 502, "SERVICE_UNAVAILABLE")
        assert "handlers" in error["message"]
        assert response.headers["Retry-After"] == "1"
        assert_security_headers(response)
    assert responses[0].headers["Access-Control-Allow-Origin"] == ORIGIN
    # Then the launcher sees the dead handlers and starts them again (tests/e2e/test_supervision.py).
    wait_until(lambda: stack.get("/health").status_code == 200, timeout=30, message="the handlers to be back")
    assert stack.process.poll() is None
    assert "event=launcher.restarted component=fcgi" in stack.log()


def test_a_handler_slower_than_the_timeout_is_a_504_in_the_json_shape(make_stack):
    stack = make_stack({"service.handler_timeout_seconds": 1, "service.cors.allowed_origins": [ORIGIN]})
    task_id = stack.submit("run the command: sleep 4")
    started = time.monotonic()
    # A waiter holds its handler for up to 3 s; nginx gives up on it after 1 s.
    response = requests.get(f"{stack.url}/api/v1/tasks/{task_id}?wait=3", headers={"Origin": ORIGIN},
                            timeout=10)
    assert time.monotonic() - started < 2.5
    error = assert_json_error(response, 504, "SERVICE_UNAVAILABLE")
    assert "in time" in error["message"]
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert_security_headers(response)
    # The handler itself carries on: the task still completes, and the stack still answers.
    assert stack.wait_for(task_id)["status"] == "completed"
    assert stack.get("/health").status_code == 200
    # A timeout at or below the longest ?wait is allowed, with a warning saying what it costs.
    def timeout_warnings(seconds):
        checked = stack.post("/api/v1/config/validate",
                             {"config": {"service": {"handler_timeout_seconds": seconds}}})
        assert checked.status_code == 200 and checked.json()["valid"] is True
        return [w for w in checked.json()["warnings"] if "handler_timeout_seconds" in w]
    assert "answered 504" in timeout_warnings(65)[0]
    assert timeout_warnings(66) == []
