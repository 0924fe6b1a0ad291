"""A real OpenAI-compatible chat-completions server on 127.0.0.1, for fault tests (not a mock: the
judge client talks HTTP to it through the openai SDK and httpx, exactly as to vLLM).

``LoopbackJudge(behave)`` starts a ``ThreadingHTTPServer`` in a daemon thread; ``behave(text)``
gets the concatenated message contents of each request and returns what to do:

* a string — answer with that assistant content (a well-formed chat completion);
* ``GARBAGE`` — 200 with a body that is not JSON;
* ``NO_MESSAGE`` — 200 with a chat completion whose choice has no ``message``;
* ``NEVER`` — read the request, then never answer (the connection stays open until shutdown);
* ``DRIP`` — send the headers and then one byte every 0.2 s, never finishing the body (a per-read
  timeout never fires; only a total deadline stops it);
* ``HTTP_400`` — a 400 error (the server rejects the request, e.g. context too long).

Use as a context manager; ``.base_url`` is the ``/v1`` root; ``.requests`` counts requests by kind.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GARBAGE, NO_MESSAGE, NEVER, DRIP, HTTP_400 = "<garbage>", "<no message>", "<never>", "<drip>", "<http 400>"


def completion_body(content: str) -> dict:
    return {"id": "chatcmpl-loopback", "object": "chat.completion", "created": 0, "model": "loopback",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog (5) refuses connections when a judge client opens 16 at once
    request_queue_size = 128


class LoopbackJudge:
    def __init__(self, behave: Callable[[str], str]):
        self.behave = behave
        self.requests: Counter = Counter()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's name
                n = int(self.headers.get("Content-Length") or 0)
                req = json.loads(self.rfile.read(n) or b"{}")
                text = "\n".join(str(m.get("content", "")) for m in req.get("messages", []))
                what = outer.behave(text)
                kind = what if what in (GARBAGE, NO_MESSAGE, NEVER, DRIP, HTTP_400) else "ok"
                with outer._lock:
                    outer.requests[kind] += 1
                try:
                    if what == NEVER:
                        outer.stopping.wait()
                        return
                    if what == DRIP:
                        self.send_response(200)
                        self.send_header("Content-Type", "application/json")
                        self.send_header("Content-Length", "1000000")
                        self.end_headers()
                        self.wfile.write(b"{")
                        self.wfile.flush()
                        while not outer.stopping.wait(0.2):
                            self.wfile.write(b" ")
                            self.wfile.flush()
                        return
                    if what == HTTP_400:
                        body = json.dumps({"error": {"message": "prompt too long", "type": "invalid_request_error"}})
                        status = 400
                    elif what == GARBAGE:
                        body, status = "<html>upstream hiccup {{{", 200
                    elif what == NO_MESSAGE:
                        d = completion_body("")
                        del d["choices"][0]["message"]
                        body, status = json.dumps(d), 200
                    else:
                        body, status = json.dumps(completion_body(what)), 200
                    data = body.encode()
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (its deadline)
                    pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True, name="loopback-judge")

    def __enter__(self) -> "LoopbackJudge":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        time.sleep(0.05)
