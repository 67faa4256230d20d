"""The web application: the page, a small HTTP API and one WebSocket per page.

HTTP (every answer JSON; a bad request gets 4xx and ``{"error": "one line"}``):

* ``GET /`` — the page; ``GET /static/…`` its script and style (package data);
* ``GET /api/options`` — the experiments, point sets, choices and limits;
* ``GET /api/describe?task=NAME`` — a task's own settings, to fill the page's form;
* ``POST /api/export`` (a setup) — its experiment TOML and Python lines;
* ``POST /api/upload?filename=F`` (the CSV file as the body) — read by the ``csv`` task
  (the ``backprop86 fit`` reader), kept in a temporary folder while the server runs;
  answers its id, columns and rows.

WebSocket ``/ws``: JSON messages, each an object with a ``type`` (:data:`REQUESTS`).
A malformed one — not JSON, not an object, an unknown type, a bad value, too large —
is answered ``{"type": "error", "message": …}`` and the page's run carries on; nothing
a page sends ends the server or another page's run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from backprop86 import experiments
from backprop86.errors import Backprop86Error
from backprop86.serve import setup as setups
from backprop86.serve.guard import Guard, allowed_hosts
from backprop86.serve.limits import LIMITS, Limits
from backprop86.serve.session import Session, error_message
from backprop86.tasks import make_task
from backprop86.tasks.points import SETS
from backprop86.version import __version__

STATIC = Path(__file__).resolve().parent / "static"

#: What a page may ask over its WebSocket, and the message fields each reads.
REQUESTS = {
    "setup": ("setup",),
    "play": ("speed",),
    "pause": (),
    "step": ("sweeps",),
    "reset": (),
    "pattern": ("index",),
    "trace": ("index",),
    "seeds": ("count",),
    "seeds_stop": (),
    "export": ("what",),
}

#: The page's Content-Security-Policy: its own script, style and WebSocket, nothing else
#: (``connect-src 'self'`` admits the page's own ``ws:`` origin, CSP Level 3; a bare
#: ``ws:`` would admit a WebSocket to any host).
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


class State:
    """What the server keeps between requests: pages connected, uploads, sweeps running."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.sessions: set[Session] = set()
        self.uploads: OrderedDict[str, setups.Uploaded] = OrderedDict()
        self.folder = Path(tempfile.mkdtemp(prefix="backprop86-serve-"))
        self.sweeps = asyncio.Semaphore(limits.sweeps_at_once)

    def remember(self, upload: setups.Uploaded) -> str:
        ident = secrets.token_hex(6)
        self.uploads[ident] = upload
        while len(self.uploads) > self.limits.uploads_kept:
            _, old = self.uploads.popitem(last=False)
            Path(old.path).unlink(missing_ok=True)
        return ident


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _body(request: Request, limit: int) -> bytes | JSONResponse:
    """The request body, or a 413 answer as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return _error(413, f"the request body is larger than {limit:,} bytes (the limit)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return _error(413, f"the request body is larger than {limit:,} bytes (the limit)")
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(*, port: int, hosts: tuple[str, ...] = (), limits: Limits = LIMITS) -> Guard:
    """The application for a server on ``port``, answering to the local names and ``hosts``."""
    state = State(limits)

    async def index(request: Request) -> Response:
        response = FileResponse(STATIC / "index.html", media_type="text/html")
        response.headers["content-security-policy"] = CSP
        response.headers["x-content-type-options"] = "nosniff"
        response.headers["referrer-policy"] = "no-referrer"
        return response

    async def options(request: Request) -> Response:
        exps = [experiments.load(n) for n in experiments.names()]
        return JSONResponse({
            "version": __version__,
            "experiments": [{"name": e.name, "title": e.title, "source": e.source}
                            for e in exps],
            "point_sets": [{"name": k, "description": v[1]} for k, v in SETS.items()],
            "activations": list(setups.ACTIVATIONS),
            "grains": ["sweep", "pattern", "minibatch"],
            "errors": ["sse", "tss", "mse", "cross_entropy", "dead_zone"],
            "limits": limits.as_dict(),
            "keys": setups.KEYS,
            "pages_open": len(state.sessions),
        })

    async def describe(request: Request) -> Response:
        task = request.query_params.get("task")
        if task is None:
            return _error(400, "describe needs ?task=NAME: an experiment or a point set")
        try:
            return JSONResponse(_defaults(task, state))
        except Backprop86Error as exc:
            return _error(400, str(exc))

    async def export(request: Request) -> Response:
        body = await _body(request, limits.message_bytes)
        if isinstance(body, Response):
            return body
        try:
            setup = json.loads(body)
        except (ValueError, RecursionError):
            return _error(400, "the body must be a setup as a JSON object")
        try:
            document = setups.table(setup, state.uploads, limits)
            setups.experiment(document, limits)
        except Backprop86Error as exc:
            return _error(400, str(exc))
        task = setup["task"]
        up = state.uploads.get(task[4:]) if task.startswith("csv:") else None
        document = setups.export_table(document, up.filename if up else None)
        return JSONResponse({"name": document["name"], "toml": setups.toml_text(document),
                             "python": setups.python_lines(document)})

    async def upload(request: Request) -> Response:
        filename = request.query_params.get("filename", "data.csv")
        if len(filename) > 200 or not filename.strip():
            return _error(400, "filename must be 1 to 200 characters")
        body = await _body(request, limits.upload_bytes)
        if isinstance(body, Response):
            return body
        path = state.folder / f"{secrets.token_hex(8)}.csv"
        path.write_bytes(body)
        try:
            task = await asyncio.to_thread(_read_upload, path, filename, limits)
        except Backprop86Error as exc:
            path.unlink(missing_ok=True)
            return _error(400, str(exc).replace(str(path), filename))
        name = Path(filename).name
        ident = state.remember(setups.Uploaded(str(path), name, task[0], task[1], task[2]))
        return JSONResponse({"id": ident, "task": f"csv:{ident}", "filename": name,
                             "columns": list(task[0]), "rows": task[1], "target": task[2]})

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        lock = asyncio.Lock()

        async def send(message: dict[str, Any]) -> None:
            if websocket.application_state != WebSocketState.CONNECTED:
                return
            async with lock:
                with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                    await websocket.send_text(json.dumps(message, allow_nan=False))

        if len(state.sessions) >= limits.sessions:
            await send({"type": "error", "message": f"the server serves {limits.sessions} pages "
                        "at once (its limit); close one and reload"})
            await websocket.close(code=1013)
            return
        session = Session(send, limits, state.uploads, state.sweeps)
        state.sessions.add(session)
        try:
            await send({"type": "hello", "version": __version__, "requests": list(REQUESTS)})
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await _answer(session, message, limits, send)
        except WebSocketDisconnect:
            pass
        finally:
            state.sessions.discard(session)
            await session.close()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:  # the server stops (Ctrl-C): end every page's runs, forget the uploads
            for session in list(state.sessions):
                await session.close()
            shutil.rmtree(state.folder, ignore_errors=True)

    app = Starlette(routes=[
        Route("/", index),
        Route("/api/options", options),
        Route("/api/describe", describe),
        Route("/api/export", export, methods=["POST"]),
        Route("/api/upload", upload, methods=["POST"]),
        WebSocketRoute("/ws", socket),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ], lifespan=lifespan)
    app.state.serve = state
    return Guard(app, allowed_hosts(port, hosts))


def _read_upload(path: Path, filename: str, limits: Limits) -> tuple[tuple[str, ...], int, str]:
    """An uploaded file's columns, rows and likely target column (the one column holding
    text, else the last), read by the reader of ``backprop86 fit`` and checked as the
    ``csv`` task reads it with that target."""
    from backprop86.data_files import parse_number, read_csv

    table = read_csv(path)
    if len(table.rows) > limits.upload_rows:
        raise Backprop86Error(f"{filename} has {len(table.rows):,} data rows; this page takes "
                              f"at most {limits.upload_rows:,}")
    if len(table.columns) < 2:
        raise Backprop86Error(f"{filename} has one column; expected inputs and a target column")
    text = [c for c in table.columns if any(parse_number(x) is None for x in table.column(c))]
    target = text[0] if len(text) == 1 else table.columns[-1]
    make_task("csv", path=str(path), target=target)  # inputs must be numbers, classes 2–20
    return table.columns, len(table.rows), target


def _defaults(task: str, state: State) -> dict[str, Any]:
    """The setup a task starts from: an experiment's own settings, or a point set's."""
    if task in SETS:
        return {"task": task, **setups.POINT_DEFAULTS}
    if task.startswith("csv:"):
        up = state.uploads.get(task[4:])
        if up is None:
            raise Backprop86Error(f"no uploaded data {task[4:]!r} on this server")
        return {"task": task, **{k: v for k, v in setups.POINT_DEFAULTS.items()
                                 if k not in ("n", "noise", "data_seed")},
                "target": up.target, "test": 0.2}
    setups.check({"task": task})
    exp = experiments.load(task)
    cfg = exp.config
    out: dict[str, Any] = {"task": task, "lr": cfg.lr, "momentum": cfg.momentum,
                           "grain": cfg.grain, "error": cfg.error, "seed": exp.seeds()[0],
                           "max_sweeps": cfg.max_sweeps}
    spec = exp.network_spec
    if "sizes" in spec:
        out["hidden"] = [_value(s, exp.params) for s in spec["sizes"][1:-1]]
        out["activation"] = _value(spec.get("activation", "logistic"), exp.params)
        out["bias"] = bool(_value(spec.get("bias", True), exp.params))
        if out["activation"] not in setups.ACTIVATIONS:
            out.pop("activation")
        if not all(isinstance(h, int) and h > 0 for h in out["hidden"]):
            out.pop("hidden")
    return out


def _value(v: Any, params: dict[str, Any]) -> Any:
    if isinstance(v, str) and v.startswith("$") and v[1:] in params:
        return params[v[1:]]
    return v


async def _answer(session: Session, message: dict[str, Any], limits: Limits,
                  send: Any) -> None:
    """Read one WebSocket message and do what it asks; any fault becomes an error reply."""
    text = message.get("text")
    if text is None:
        await send({"type": "error", "message": "expected a text message holding JSON, got "
                    "binary data"})
        return
    if len(text) > limits.message_bytes:
        await send({"type": "error", "message": f"a message of {len(text):,} characters; the "
                    f"limit is {limits.message_bytes:,}"})
        return
    try:
        request = json.loads(text)
    except (ValueError, RecursionError):
        await send({"type": "error", "message": "a message must be JSON: an object with a type"})
        return
    if not isinstance(request, dict) or not isinstance(request.get("type"), str):
        await send({"type": "error", "message": "a message must be a JSON object with a type, "
                    f"one of {', '.join(REQUESTS)}"})
        return
    kind = request["type"]
    if kind not in REQUESTS:
        await send({"type": "error", "message": f"unknown request type {kind[:40]!r}; expected "
                    f"one of {', '.join(REQUESTS)}"})
        return
    extra = sorted(set(request) - {"type", *REQUESTS[kind]})
    if extra:
        await send({"type": "error", "message": f"{kind}: unknown fields {extra[:5]}; expected "
                    f"{', '.join(REQUESTS[kind]) or 'none'}"})
        return
    try:
        await _do(session, kind, request)
    except Exception as exc:  # the reply names it; the server and the run carry on
        await send({**error_message(exc), "request": kind})


async def _do(session: Session, kind: str, request: dict[str, Any]) -> None:
    if kind == "setup":
        await session.set_up(request.get("setup"))
    elif kind == "play":
        await session.play(request.get("speed"))
    elif kind == "pause":
        await session.pause()
    elif kind == "step":
        await session.step(request.get("sweeps", 1))
    elif kind == "reset":
        await session.reset()
    elif kind == "pattern":
        await session.choose_pattern(request.get("index"))
    elif kind == "trace":
        await session.show_trace(request.get("index"))
    elif kind == "seeds":
        await session.start_seeds(request.get("count"))
    elif kind == "seeds_stop":
        await session.stop_seeds()
    else:
        await session.export(request.get("what"))
