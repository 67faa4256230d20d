"""The web page's server in tests: a real uvicorn server in a thread, on a free port.

The tests talk to it as a browser does, over TCP: HTTP with :mod:`http.client` (so that
the ``Host`` and ``Origin`` headers are the test's to choose) and WebSockets with the
``websockets`` client. Without the ``ui`` extra the tests skip, unless
``BACKPROP86_REQUIRE_BROWSER`` is on (CI), where they must run.
"""

from __future__ import annotations

import http.client
import importlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from backprop86.switches import env_flag

REQUIRED = env_flag("BACKPROP86_REQUIRE_BROWSER", False)


def need(module: str) -> Any:
    """Import ``module``; skip the test module without it, unless CI requires it."""
    if REQUIRED:
        return importlib.import_module(module)
    return pytest.importorskip(module)


@contextmanager
def running(**options: Any) -> Iterator[int]:
    """A server (``create_app(**options)``) on 127.0.0.1 and a free port; yields the port."""
    uvicorn = need("uvicorn")
    need("starlette")
    from backprop86.serve.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    app = create_app(port=port, **options)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", ws_max_size=131_072,
                                           lifespan="on", timeout_graceful_shutdown=3))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """``(status, JSON body or text)`` of one HTTP request; ``Host`` is 127.0.0.1:port
    unless ``headers`` give another."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    given = {k.lower(): v for k, v in (headers or {}).items()}
    conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", given.pop("host", f"127.0.0.1:{port}"))
    for k, v in given.items():
        conn.putheader(k, v)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    kind = response.getheader("content-type") or ""
    return response.status, json.loads(raw) if "json" in kind else raw.decode()


class Page:
    """One WebSocket session, as a page holds it."""

    def __init__(self, port: int, **options: Any) -> None:
        client = need("websockets.sync.client")
        self._connection = client.connect(f"ws://127.0.0.1:{port}/ws", **options)
        self.ws = self._connection.__enter__()  # what `with connect(…) as ws` does
        self.first = self.receive()
        assert self.first["type"] in ("hello", "error"), self.first

    def send(self, message: Any) -> None:
        self.ws.send(message if isinstance(message, (str, bytes)) else json.dumps(message))

    def receive(self, timeout: float = 60) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))

    def until(self, done: Callable[[dict[str, Any]], bool], timeout: float = 60
              ) -> list[dict[str, Any]]:
        """Every message up to and including the first for which ``done`` holds."""
        seen: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(max(0.1, deadline - time.monotonic()))
            seen.append(message)
            if done(message):
                return seen

    def ask(self, message: Any, answer: str = "frame") -> dict[str, Any]:
        """Send ``message``; the first reply of type ``answer`` (or an error)."""
        self.send(message)
        return self.until(lambda m: m["type"] in (answer, "error"))[-1]

    def set_up(self, setup: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send a setup: the ``ready`` message and the first frame."""
        self.send({"type": "setup", "setup": setup})
        seen = self.until(lambda m: m["type"] in ("frame", "error"))
        assert seen[-1]["type"] == "frame", seen[-1]
        ready = next(m for m in seen if m["type"] == "ready")
        return ready, seen[-1]

    def close(self) -> None:
        """Close the socket (again: nothing happens)."""
        self.ws.close()
