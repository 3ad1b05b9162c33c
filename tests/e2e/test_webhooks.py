"""Webhooks end to end: a real HTTP receiver on a loopback port (admitted by
webhooks.allowed_hosts) verifies every request with the README's own verification function and
the secret `task-runner keys webhook-secret` prints, fails twice, then accepts; the attempts are
in the task's JSON. Also: a batch signed with its key's secret, callback URLs refused at
submission, a name that resolves to loopback refused at connect and recorded, and a runner
killed in the middle of a delivery that delivers it after its restart."""

import json
import os
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import ROOT, wait_until
from test_openapi import check

# The receiver's timings are small so the whole file runs in seconds.
WEBHOOK_SETTINGS = {
    "webhooks.allowed_hosts": ["127.0.0.1", "*.localhost"],
    "webhooks.first_retry_delay_ms": 100,
    "webhooks.max_retry_delay_seconds": 1,
    "webhooks.timeout_seconds": 2,
    "webhooks.retry_for_seconds": 60,
}


def readme_verifier():
    """verify_task_runner_signature, from the README's Webhooks section, run as written."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Webhooks"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md (Webhooks)", "exec"), namespace)
    return namespace["verify_task_runner_signature"]


verify = readme_verifier()


class Receiver:
    """An HTTP server on 127.0.0.1: each POST is kept (headers, raw body) and answered with the
    next status of `statuses` (then 200). `hold` set: the first request is not answered until it
    is cleared (a receiver still working when its caller dies)."""

    def __init__(self, statuses=()):
        self.statuses = list(statuses)
        self.requests = []
        self.lock = threading.Lock()
        self.hold = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append((dict(self.headers), body))
                    first = len(receiver.requests) == 1
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                if first and receiver.hold.is_set():
                    receiver.release.wait(timeout=20)
                    return  # the caller is gone by now: no answer
                answer = b"receiver says no" if status >= 300 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path="/hook", host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def received(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def secret_of(stack, key_id="default"):
    done = stack.keys("webhook-secret", key_id)
    assert done.returncode == 0, done.stderr
    secret = done.stdout.strip()
    assert re.fullmatch(r"whsec_[0-9a-f]{64}", secret), secret
    return secret


def callback_settled(stack, path):
    def settled():
        callback = stack.get(path).json()["callback"]
        return callback if callback["state"] in ("delivered", "failed") else None
    return wait_until(settled, timeout=30, message=f"the callback of {path} to settle")


def test_a_receiver_that_fails_twice_gets_three_signed_attempts(make_stack, receiver):
    stack = make_stack(WEBHOOK_SETTINGS)
    hook = receiver([500, 500])
    task_id = stack.submit("list the files in .", callback_url=hook.url())
    stack.wait_for(task_id)
    callback = callback_settled(stack, f"/api/v1/tasks/{task_id}")

    assert callback["url"] == hook.url() and callback["state"] == "delivered"
    attempts = callback["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a["http_status"] for a in attempts] == [500, 500, 200]
    assert [a["error"] for a in attempts] == ["HTTP 500: receiver says no"] * 2 + [None]
    assert all(a["duration_ms"] >= 0 and a["at"].endswith("Z") for a in attempts)

    check(stack.get(f"/api/v1/tasks/{task_id}"), "/api/v1/tasks/{id}")  # as documented
    requests = hook.received()
    assert len(requests) == 3
    secret = secret_of(stack)
    task = stack.get(f"/api/v1/tasks/{task_id}").json()
    for headers, body in requests:
        assert headers["Content-Type"] == "application/json"
        assert headers["Task-Runner-Event"] == "task.ended"
        assert verify(secret, headers["Task-Runner-Signature"], body)
        sent = json.loads(body)
        assert "callback" not in sent
        assert sent == {k: v for k, v in task.items() if k != "callback"}  # the final task
    assert len({h["Task-Runner-Delivery"] for h, _ in requests}) == 1  # one delivery, retried
    assert len({b for _, b in requests}) == 1  # the same bytes every time

    # What the verifier refuses, as the README says: a changed body, another secret, an old
    # timestamp, a header that is not one.
    headers, body = requests[-1]
    header = headers["Task-Runner-Signature"]
    with pytest.raises(ValueError, match="does not match"):
        verify(secret, header, body.replace(b'"completed"', b'"failed"'))
    with pytest.raises(ValueError, match="does not match"):
        verify("whsec_" + "0" * 64, header, body)
    with pytest.raises(ValueError, match="replayed"):
        verify(secret, header, body, now=time.time() + 301)
    stamp = int(header.split(",")[0][2:])
    old = "t=%d,%s" % (stamp - 3600, header.split(",")[1])
    with pytest.raises(ValueError, match="replayed"):
        verify(secret, old, body)
    with pytest.raises(ValueError):
        verify(secret, "v1=abc", body)

    # The secret is nowhere but where it belongs.
    assert secret not in json.dumps(task)
    assert secret not in stack.get("/api/v1/config").text
    assert secret not in stack.log()


def test_the_readme_verifier_answers_a_forged_header_with_value_error_not_a_crash():
    """A header is the sender's to write: one whose v1 is not ASCII must be refused as the
    README says (ValueError), not raise TypeError out of hmac.compare_digest(str, str)."""
    body = b'{"id": "x"}'
    now = int(time.time())
    for header in (f"t={now},v1=\u00e9" + "0" * 63, f"t={now},v1=\u0661", f"t={now},v1="):
        with pytest.raises(ValueError):
            verify("whsec_" + "0" * 64, header, body)


def test_callback_urls_that_could_reach_internal_services_are_refused(make_stack, receiver):
    # No loopback entry: the receiver on 127.0.0.1 is reachable by no admitted name.
    stack = make_stack(dict(WEBHOOK_SETTINGS, **{"webhooks.allowed_hosts": ["*.localhost", "10.0.0.7"]}))
    hook = receiver()
    for url, says in [
        ("ftp://127.0.0.1/x", "http or https"),
        ("file:///etc/passwd", "http or https"),
        (f"http://user:pw@127.0.0.1:{hook.port}/", "user name or password"),
        (f"http://localhost:{hook.port}/", "webhooks.allowed_hosts"),
        (f"http://127.0.0.2:{hook.port}/", "webhooks.allowed_hosts"),
        (f"http://2130706434:{hook.port}/", "\"127.0.0.2\""),  # spelt as a number
        (f"http://[::1]:{hook.port}/", "webhooks.allowed_hosts"),
        ("http://169.254.169.254/latest/meta-data/", "webhooks.allowed_hosts"),
        ("http://127.0.0.1/" + "a" * 2100, "at most 2048"),
        ("127.0.0.1/hook", "absolute"),
    ]:
        response = stack.post("/api/v1/tasks", {"task": "list the files in .", "callback_url": url})
        assert response.status_code == 400, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_REQUEST" and says in error["message"], (url, error)
    response = stack.post("/api/v1/tasks", {"task": "list the files in .", "callback_url": 7})
    assert response.status_code == 400 and "callback_url must be a string" in response.text
    response = stack.post("/api/v1/tasks/batch", {"tasks": [{"task": "x"}], "callback_url": "gopher://x/"})
    assert response.status_code == 400 and "http or https" in response.text

    # Admitted by "*.localhost", but libcurl resolves it to loopback, which only an exact entry
    # (of the name or the address) admits:
    # refused at connect, on the address itself, recorded, and not tried again.
    task_id = stack.submit("list the files in .", callback_url=hook.url(host="hooks.localhost"))
    stack.wait_for(task_id)
    callback = callback_settled(stack, f"/api/v1/tasks/{task_id}")
    assert callback["state"] == "failed"
    check(stack.get(f"/api/v1/tasks/{task_id}"), "/api/v1/tasks/{id}")  # null status and all
    (attempt,) = callback["attempts"]
    assert attempt["http_status"] is None
    assert "loopback" in attempt["error"] and "hooks.localhost" in attempt["error"], attempt
    assert hook.received() == []


def test_a_batch_is_signed_with_the_secret_of_the_key_that_submitted_it(make_stack, receiver):
    stack = make_stack(dict(WEBHOOK_SETTINGS, **{"service.require_api_key": True}))
    key = stack.create_key("alice", "read,submit")
    key_id = key.split("_")[1]
    made = stack.keys("create", "--owner", "bob", "--scopes", "read")
    assert made.returncode == 0 and "whsec_" in made.stderr  # shown when the key is made
    hook = receiver([503])
    headers = {"Authorization": f"Bearer {key}"}
    body = {"tasks": [{"task": "list the files in ."}, {"task": "list the files in ."}],
            "callback_url": hook.url("/batch")}
    response = stack.post("/api/v1/tasks/batch", body, headers=headers)
    assert response.status_code == 202, response.text
    batch_id = response.json()["batch_id"]
    other = receiver()  # its own, so the 503 above is the first batch's
    again = stack.post("/api/v1/tasks/batch", dict(body, callback_url=other.url("/other")), headers=headers)
    assert again.status_code == 202  # another callback is another batch (no task_ids: new tasks)

    stack.session.headers.update(headers)
    callback = callback_settled(stack, f"/api/v1/batches/{batch_id}")
    assert callback["state"] == "delivered"
    assert [a["http_status"] for a in callback["attempts"]] == [503, 200]
    batch = check(stack.get(f"/api/v1/batches/{batch_id}"), "/api/v1/batches/{id}")
    assert batch["callback_url"] == hook.url("/batch") and batch["status"] == "completed"

    received = hook.received()
    assert len(received) == 2 and all(json.loads(b)["batch_id"] == batch_id for _, b in received)
    secret = secret_of(stack, key_id)
    for h, b in received:
        assert h["Task-Runner-Event"] == "batch.ended"
        assert verify(secret, h["Task-Runner-Signature"], b)
        with pytest.raises(ValueError):
            verify(secret_of(stack), h["Task-Runner-Signature"], b)  # not the instance's secret
        assert json.loads(b) == {k: v for k, v in batch.items() if k != "callback"}

    assert secret not in stack.log() and secret not in json.dumps(batch)
    rotated = stack.keys("webhook-secret", key_id, "--rotate")
    assert rotated.returncode == 0 and rotated.stdout.strip() != secret
    assert secret_of(stack, key_id) == rotated.stdout.strip()
    missing = stack.keys("webhook-secret", "000000000000")
    assert missing.returncode != 0 and "no API key" in missing.stderr


def runner_pid(stack):
    for pid in stack.component_pids():
        try:
            cmdline = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except OSError:
            continue
        if cmdline[0].endswith(b"task-runner-runner") and b"--watchdog" not in cmdline:
            return pid
    return None


def test_a_runner_killed_mid_delivery_delivers_after_its_restart(make_stack, receiver):
    stack = make_stack(WEBHOOK_SETTINGS)
    hook = receiver()
    hook.hold.set()  # the first request hangs: the runner is killed while it waits
    task_id = stack.submit("list the files in .", callback_url=hook.url())
    wait_until(lambda: hook.received(), timeout=30, message="the first attempt to arrive")
    old = runner_pid(stack)
    os.kill(old, signal.SIGKILL)
    hook.release.set()
    wait_until(lambda: runner_pid(stack) not in (None, old), timeout=30,
               message="the launcher to start a new runner")

    callback = callback_settled(stack, f"/api/v1/tasks/{task_id}")
    assert callback["state"] == "delivered"
    # The attempt the dead runner made was never recorded; the new one's was.
    assert [a["http_status"] for a in callback["attempts"]] == [200]
    requests = hook.received()
    assert len(requests) == 2  # at least once: the same delivery, sent again
    assert requests[0][0]["Task-Runner-Delivery"] == requests[1][0]["Task-Runner-Delivery"]
    secret = secret_of(stack)
    assert all(verify(secret, h["Task-Runner-Signature"], b) for h, b in requests)
