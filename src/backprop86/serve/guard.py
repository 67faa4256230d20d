"""Who may talk to the server: the ``Host`` and ``Origin`` checks, as ASGI middleware.

The server listens on 127.0.0.1, but a web page from anywhere runs in the same browser.
Two attacks are refused before any route sees the request:

* *DNS rebinding* — a site whose name resolves to 127.0.0.1 sends requests that carry
  its own name in ``Host``: only the names the server was started with (``127.0.0.1``,
  ``localhost``, ``[::1]``, and ``--host``) with its port are served;
* *cross-site requests and WebSockets* — a page of another origin posts to the API or
  opens the WebSocket (browsers send its origin in ``Origin``): a request with an
  ``Origin`` must come from the server's own origin. Requests without one (command-line
  clients, tests) are not from a page and pass.

A refused HTTP request gets 403 with a one-line reason; a refused WebSocket is closed
before it is accepted (the client sees 403).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The names a local server answers to.
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def allowed_hosts(port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """``name:port`` for the local names and any extra ones (an IPv6 address in brackets)."""
    names = [*LOCAL_NAMES, *(f"[{h}]" if ":" in h and not h.startswith("[") else h
                            for h in extra)]
    return frozenset(f"{n.lower()}:{port}" for n in names)


class Guard:
    """Refuse requests whose ``Host`` is not one of ``hosts`` or whose ``Origin`` is not
    ``http://`` one of them."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app, self.hosts = app, hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        reason = self.refusal(headers.get("host"), headers.get("origin"))
        if reason is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            body = json.dumps({"error": reason}).encode()
            await send({"type": "http.response.start", "status": 403,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})

    def refusal(self, host: str | None, origin: str | None) -> str | None:
        """Why a request is refused, or ``None`` when it may pass."""
        if host is None or host.lower() not in self.hosts:
            named = "names no Host" if host is None else f"names Host {host!r}"
            return (f"refused: the request {named}, not this server's; expected one of "
                    f"{', '.join(sorted(self.hosts))}")
        if origin is not None and origin.lower() not in {f"http://{h}" for h in self.hosts}:
            return (f"refused: a request from origin {origin!r}; only pages of this server "
                    "may use it")
        return None
