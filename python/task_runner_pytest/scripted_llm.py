"""A scripted LLM server for the tests: the only stand-in in the stack.

It speaks the real wire formats -- OpenAI Chat Completions (POST /v1/chat/completions) and
Anthropic Messages (POST /v1/messages) -- and checks requests the way those APIs do (keys,
headers, message order, tool-call ids, tool schemas), answering their own error shapes when a
request is wrong. What it answers is scripted by the test, one entry per request, in order:

    llm = ScriptedLLM(api_key="sk-test")
    llm.script(plan(), calls(("list_files", {"path": "."})), complete(True, "done"))

A scripted turn is rendered in the format of the route it is asked on, so one script runs
through both formats. Faults: status(...) answers any status with headers (429 + Retry-After),
hang(seconds), malformed() (truncated JSON), oversized(bytes). Every request is recorded with
its time, headers, body and the client's address (one address: one kept-alive connection).

Standard library only. Run it by hand with: python3 -m task_runner_pytest.scripted_llm --port 8089
(or, in the source tree, python3 tests/e2e/scripted_llm.py --port 8089)
"""

import argparse
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ANTHROPIC_VERSION = "2023-06-01"


# -- what a test scripts ----------------------------------------------------------------------

class Turn:
    """An assistant turn: optional text, tool calls, token usage."""

    def __init__(self, text="", calls=(), usage=(120, 30)):
        self.text = text
        self.calls = list(calls)  # (name, arguments) with arguments a dict, or a raw string
        self.usage = usage


class Fault:
    """Anything that is not a well-formed turn."""

    def __init__(self, status=200, headers=None, body=b"", hang=0.0):
        self.status = status
        self.headers = headers or {}
        self.body = body
        self.hang = hang


def calls(*tool_calls, text="", usage=(120, 30)):
    return Turn(text=text, calls=tool_calls, usage=usage)


def text(answer, usage=(120, 30)):
    return Turn(text=answer, usage=usage)


def plan(understanding="List the files, read one, write a summary.", approach="list, read, write",
         complexity="moderate", estimated_steps=3, requirements=("list_files", "read_file", "write_file"),
         usage=(200, 60)):
    return calls(("submit_plan", {"understanding": understanding, "approach": approach,
                                  "complexity": complexity, "estimated_steps": estimated_steps,
                                  "requirements": list(requirements)}), usage=usage)


def complete(success=True, summary="Done.", details="", usage=(150, 40)):
    return calls(("complete_task", {"success": success, "summary": summary, "details": details}), usage=usage)


def status(code, body=None, headers=None):
    payload = body if isinstance(body, (bytes, str)) else json.dumps(body or {}).encode()
    return Fault(status=code, headers=headers, body=payload.encode() if isinstance(payload, str) else payload)


def hang(seconds):
    return Fault(hang=seconds)


def malformed():
    return Fault(body=b'{"id": "chatcmpl-1", "choices": [{"message": {"role": "assist')


def oversized(size=9 * 1024 * 1024):
    return Fault(body=b'{"padding": "' + b"x" * size + b'"}')


# -- the wire formats ---------------------------------------------------------------------------

class WireError(Exception):
    """A request the real API would refuse with 400."""


def openai_error(message, kind="invalid_request_error", code=None):
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def anthropic_error(message, kind="invalid_request_error"):
    return {"type": "error", "error": {"type": kind, "message": message}}


def check_tools_openai(tools):
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if tool.get("type") != "function" or not isinstance(function, dict):
            raise WireError("tools[]: each tool must be {\"type\": \"function\", \"function\": {...}}")
        if not function.get("name") or not isinstance(function.get("parameters"), dict):
            raise WireError("tools[].function needs a name and an object of parameters")


def check_openai(body):
    if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
        raise WireError("'model' and 'messages' are required")
    check_tools_openai(body.get("tools", []))
    open_calls = set()
    for index, message in enumerate(body["messages"]):
        role = message.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise WireError(f"messages[{index}].role is invalid: {role!r}")
        if role == "tool":
            if message.get("tool_call_id") not in open_calls:
                raise WireError(f"messages[{index}]: tool_call_id {message.get('tool_call_id')!r} answers no tool call")
            open_calls.discard(message["tool_call_id"])
            if not isinstance(message.get("content"), str):
                raise WireError(f"messages[{index}].content must be a string")
            continue
        if open_calls:
            raise WireError("an assistant message with 'tool_calls' must be followed by tool messages "
                            f"responding to each 'tool_call_id'; missing {sorted(open_calls)}")
        if role == "assistant":
            for call in message.get("tool_calls", []):
                if call.get("type") != "function" or not isinstance(call["function"].get("arguments"), str):
                    raise WireError(f"messages[{index}].tool_calls[].function.arguments must be a string")
                open_calls.add(call["id"])
    if open_calls:
        raise WireError(f"tool calls without results: {sorted(open_calls)}")


def check_anthropic(body):
    if not isinstance(body.get("max_tokens"), int):
        raise WireError("max_tokens: Field required")
    if not isinstance(body.get("model"), str) or not isinstance(body.get("messages"), list):
        raise WireError("model and messages: Field required")
    for tool in body.get("tools", []):
        if not tool.get("name") or not isinstance(tool.get("input_schema"), dict):
            raise WireError("tools: each tool needs name and input_schema")
    expected_role = "user"
    open_uses = set()
    for index, message in enumerate(body["messages"]):
        if message.get("role") != expected_role:
            raise WireError(f"messages: roles must alternate between \"user\" and \"assistant\" (messages.{index})")
        content = message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        if expected_role == "user":
            results = [b for b in blocks if b.get("type") == "tool_result"]
            if {r.get("tool_use_id") for r in results} != open_uses:
                raise WireError(f"messages.{index}: tool_use ids were found without tool_result blocks "
                                f"immediately after: {sorted(open_uses)}")
            if results and blocks[0].get("type") != "tool_result":
                raise WireError(f"messages.{index}: tool_result blocks must come first")
            open_uses = set()
        else:
            open_uses = {b["id"] for b in blocks if b.get("type") == "tool_use"}
            for block in blocks:
                if block.get("type") == "tool_use" and not isinstance(block.get("input"), dict):
                    raise WireError(f"messages.{index}: tool_use.input must be an object")
        expected_role = "assistant" if expected_role == "user" else "user"
    if expected_role == "user":
        raise WireError("the last message must be from the user")


def render_openai(turn, model, number):
    message = {"role": "assistant", "content": turn.text or None}
    if turn.calls:
        message["tool_calls"] = [
            {"id": f"call_{number}_{i}", "type": "function",
             "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for i, (name, args) in enumerate(turn.calls)]
    prompt, completion = turn.usage
    return {"id": f"chatcmpl-{number}", "object": "chat.completion", "created": int(time.time()),
            "model": model, "system_fingerprint": "fp_scripted",
            "choices": [{"index": 0, "message": message, "logprobs": None,
                         "finish_reason": "tool_calls" if turn.calls else "stop"}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                      "total_tokens": prompt + completion}}


def render_anthropic(turn, model, number):
    content = [{"type": "text", "text": turn.text}] if turn.text else []
    for i, (name, args) in enumerate(turn.calls):
        content.append({"type": "tool_use", "id": f"toolu_{number}_{i}", "name": name,
                        "input": json.loads(args) if isinstance(args, str) else args})
    prompt, completion = turn.usage
    return {"id": f"msg_{number}", "type": "message", "role": "assistant", "model": model,
            "content": content, "stop_reason": "tool_use" if turn.calls else "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": prompt, "output_tokens": completion}}


# -- the server ---------------------------------------------------------------------------------

class ScriptedLLM:
    def __init__(self, api_key="sk-test-key", host="127.0.0.1", port=0):
        """api_key None: no key is asked for (as a local Ollama)."""
        self.api_key = api_key
        self._lock = threading.Lock()
        self._script = []
        self.requests = []  # dicts: at, path, headers, body
        self._numbers = itertools.count(1)
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs

            def log_message(self, *args):
                pass

            def do_POST(self):
                llm._handle(self)

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self.endpoint = self.url + "/v1"  # both formats: their base URL ends in /v1
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def script(self, *entries):
        with self._lock:
            self._script.extend(entries)

    def remaining(self):
        with self._lock:
            return len(self._script)

    def stop(self):
        self._server.shutdown()
        self._server.server_close()

    # -- request handling --

    def _handle(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self.requests.append({"at": time.monotonic(), "path": handler.path, "headers": headers,
                                  "body": body, "raw": raw, "peer": handler.client_address})
            entry = self._script.pop(0) if self._script else None
        if handler.path == "/v1/chat/completions":
            self._answer(handler, entry, body, headers, anthropic=False)
        elif handler.path == "/v1/messages":
            self._answer(handler, entry, body, headers, anthropic=True)
        else:
            self._send(handler, 404, {"error": {"message": f"no route {handler.path}"}})

    def _answer(self, handler, entry, body, headers, anthropic):
        error = anthropic_error if anthropic else openai_error
        if self.api_key is None:  # a keyless local server, like Ollama's
            pass
        elif anthropic:
            if headers.get("x-api-key") != self.api_key:
                return self._send(handler, 401, anthropic_error("invalid x-api-key", "authentication_error"))
            if headers.get("anthropic-version") != ANTHROPIC_VERSION:
                return self._send(handler, 400, anthropic_error("anthropic-version: header is required"))
        elif headers.get("authorization") != f"Bearer {self.api_key}":
            given = headers.get("authorization", "").removeprefix("Bearer ")
            # The real API quotes (part of) the key back: the runner must not pass it on.
            return self._send(handler, 401, openai_error(f"Incorrect API key provided: {given}. You can "
                                                         "find your API key at https://platform.openai.com.",
                                                         code="invalid_api_key"))
        if body is None:
            return self._send(handler, 400, error("the request body is not valid JSON"))
        try:
            (check_anthropic if anthropic else check_openai)(body)
        except WireError as problem:
            return self._send(handler, 400, error(str(problem)))
        if entry is None:
            return self._send(handler, 500, error("the test's script is exhausted", "api_error"))
        if isinstance(entry, Fault):
            if entry.hang:
                time.sleep(entry.hang)
            return self._send(handler, entry.status, entry.body, entry.headers)
        render = render_anthropic if anthropic else render_openai
        self._send(handler, 200, render(entry, body["model"], next(self._numbers)))

    @staticmethod
    def _send(handler, code, payload, headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        try:
            handler.send_response(code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout or a cancel): nothing to answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--key", default="sk-test-key")
    args = parser.parse_args()
    llm = ScriptedLLM(api_key=args.key, port=args.port)
    print(f"scripted LLM on {llm.endpoint} (key {args.key}); every request gets the 500 of an empty script")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        llm.stop()


if __name__ == "__main__":
    main()
