"""One page's run: its setup, its network trained chunk by chunk, and the many-seeds sweep.

A :class:`Session` belongs to one WebSocket. Every request of the page is a method here
that returns the messages to send back (dicts, sent as JSON). Training happens in a
worker thread (:func:`asyncio.to_thread`) so the server keeps answering this page and
every other one while a chunk trains; play is an asyncio task that trains a chunk,
sends a frame, and goes round again until paused, finished or reset.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import numpy as np

from backprop86.analysis.trace import SECTIONS, trace
from backprop86.errors import ConfigError
from backprop86.experiments import Experiment
from backprop86.serve import setup as setups
from backprop86.serve import views
from backprop86.serve.limits import Limits
from backprop86.serve.training import Training

Send = Callable[[dict[str, Any]], Awaitable[None]]

#: Frames a second at most while playing at a chosen speed.
FRAMES_PER_SECOND = 10
#: Rows of one section of a trace the page is sent (`backprop86 trace` prints them all).
TRACE_ROWS = 300


class BusyError(ConfigError):
    """The server runs as many many-seeds sweeps as it allows; the page may try later."""


class Session:
    """One page's state. ``send`` delivers a message to the page; ``sweeps`` is the
    server-wide semaphore that bounds many-seeds sweeps running at once."""

    def __init__(self, send: Send, limits: Limits, uploads: Mapping[str, setups.Uploaded],
                 sweeps: asyncio.Semaphore) -> None:
        self.send, self.limits, self.uploads, self.sweep_slots = send, limits, uploads, sweeps
        self.setup: dict[str, Any] | None = None
        self.table: dict[str, Any] | None = None
        self.exp: Experiment | None = None
        self.training: Training | None = None
        self.pattern = 0
        self.sent = 0  # error-curve points the page has
        self.play_task: asyncio.Task[None] | None = None
        self.seeds_task: asyncio.Task[None] | None = None
        self.seeds_run: Training | None = None
        self.closed = False

    # ------------------------------------------------------------------ setting up

    async def set_up(self, setup: Any) -> None:
        """Build the run a setup describes (checked first: nothing changes if it is bad)."""
        document = setups.table(setup, self.uploads, self.limits)
        try:
            exp = setups.experiment(document, self.limits)
            training = await asyncio.to_thread(Training, exp, exp.seeds()[:1])
        except ValueError as exc:  # an uploaded file's errors name it as the page knows it
            up = self._upload(setup)
            if up is None:
                raise
            raise type(exc)(str(exc).replace(up.path, up.filename)) from None
        await self._stop_play()
        self.setup, self.table, self.exp = setups.check(setup, self.limits), document, exp
        self.training, self.pattern, self.sent = training, 0, 0
        await self.send(self._ready())
        await self.send_frame()

    def _ready(self) -> dict[str, Any]:
        t = self._training()
        task = t.trainer.tasks[0]
        test = t.task.test if t.split is None else None
        exp = t.exp
        return {
            "type": "ready", "setup": self.setup, "name": exp.name, "title": exp.title,
            "source": exp.source, "deviations": list(exp.deviations),
            "network": views.shape_of(t.net), "patterns": views.patterns(task),
            "points": views.points(task, test, t.net),
            "error": exp.config.error, "report": exp.config.report,
            "max_sweeps": exp.config.max_sweeps, "seed": t.seeds[0],
            "has_claims": bool(exp.claims),
        }

    def _training(self) -> Training:
        if self.training is None:
            raise ConfigError("no run is set up yet; send a setup first")
        return self.training

    # ------------------------------------------------------------------ the run

    async def send_frame(self) -> None:
        t = self._training()
        result = t.current()
        history = result.history[0]
        task = t.trainer.tasks[0]
        test = t.task.test if t.split is None else None
        surface = None
        if views.surface_fits(t.net):
            surface = (views.grid_range(task, test), self.limits.grid)
        body = await asyncio.to_thread(
            views.frame, t.net, task, test, history, self.sent, self.pattern,
            surface=surface, mid=t.exp.config.mid)
        self.sent = int(history.shape[0])
        r = result
        body.update(
            type="frame", sweep=t.sweep, finished=t.finished,
            playing=self.play_task is not None and not self.play_task.done(),
            error=views.rounded(r.final_error[0]), stopped=bool(r.stopped[0]),
            solved=bool(r.solved[0]), diverged=bool(r.diverged[0]), notes=list(r.notes),
        )
        if t.exp.claims:
            body["claims"] = await asyncio.to_thread(t.claims)
        await self.send(body)

    async def play(self, speed: Any = None) -> None:
        """Train chunk after chunk, a frame after each, until paused or finished: ``speed``
        sweeps per frame at most :data:`FRAMES_PER_SECOND` frames a second, or (``None``)
        as many sweeps as train in about :data:`~backprop86.serve.training.CHUNK_SECONDS`."""
        per_frame = None if speed is None else setups.integer("speed", speed, 1,
                                                               self.limits.sweeps)
        t = self._training()
        if self.play_task is not None and not self.play_task.done():
            return
        if t.finished:
            await self.send(_note("the run is finished: reset to train again"))
            return
        self.play_task = asyncio.create_task(self._play(t, per_frame))

    async def _play(self, t: Training, per_frame: int | None) -> None:
        loop = asyncio.get_running_loop()
        try:
            while not self.closed and self.training is t and not t.finished:
                started = loop.time()
                await asyncio.to_thread(t.advance, per_frame)
                await self.send_frame()
                if per_frame is not None:  # a pace the eye can follow
                    await asyncio.sleep(max(0.0, 1 / FRAMES_PER_SECOND - (loop.time() - started)))
        except asyncio.CancelledError:  # paused, reset or gone: the canceller tells the page
            raise
        except Exception as exc:  # a diverged run, say: the page hears why; the server goes on
            await self.send(error_message(exc))
        if not self.closed and self.training is t:
            await self.send({"type": "state", "playing": False, "sweep": t.sweep,
                             "finished": t.finished})

    async def pause(self) -> None:
        """Stop playing; the frame of where training stopped (the chunk under way ends)."""
        t = self._training()
        await self._stop_play()
        await asyncio.to_thread(t.wait)
        await self.send_frame()
        await self.send({"type": "state", "playing": False, "sweep": t.sweep,
                         "finished": t.finished})

    async def step(self, sweeps: Any = 1) -> None:
        """Train ``sweeps`` sweeps (1 unless the page says) and send the frame."""
        count = setups.integer("sweeps", sweeps, 1, self.limits.sweeps)
        t = self._training()
        await self._stop_play()
        if t.finished:
            await self.send(_note("the run is finished: reset to train again"))
            return
        await asyncio.to_thread(t.advance, count)
        await self.send_frame()

    async def reset(self) -> None:
        """The same setup from its initial weights."""
        if self.setup is None:
            raise ConfigError("no run is set up yet; send a setup first")
        await self.set_up(self.setup)

    async def choose_pattern(self, index: Any) -> None:
        t = self._training()
        n = t.trainer.tasks[0].n_cases
        self.pattern = setups.integer("pattern", index, 0, n - 1)
        if self.play_task is None or self.play_task.done():  # else the next frame shows it
            await self.send_frame()

    async def _stop_play(self) -> None:
        task, self.play_task = self.play_task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ show your working

    async def show_trace(self, index: Any) -> None:
        """One update of eqs. (1)–(9) for one pattern, from the weights as they stand."""
        t = self._training()
        task = t.trainer.tasks[0]
        k = setups.integer("pattern", index, 0, task.n_cases - 1)
        care = None if task.care is None else task.care[k]
        with t.lock:
            net = t.net.copy()
        result = await asyncio.to_thread(trace, net, task.inputs[k], task.targets[k],
                                         t.exp.config, care=care)
        rows, omitted = [], dict.fromkeys(SECTIONS, 0)
        for r in result.rows:  # a wide network's trace is thousands of rows: the first ones
            if sum(1 for x in rows if x["section"] == r.section) >= TRACE_ROWS:
                omitted[r.section] += 1
                continue
            rows.append({"section": r.section, "equation": r.equation, "quantity": r.quantity,
                         "unit": r.unit, "value": views.rounded(r.value), "working": r.working})
        await self.send({
            "type": "trace", "pattern": k, "label": task.labels[k], "sweep": t.sweep,
            "settings": result.settings, "sections": list(SECTIONS), "rows": rows,
            "omitted": omitted,
        })

    # ------------------------------------------------------------------ many seeds

    async def start_seeds(self, count: Any) -> None:
        """Train ``count`` seeds of the current setup as one batch, with progress."""
        n = setups.integer("seeds", count, 1, self.limits.seeds)
        if self.exp is None:
            raise ConfigError("no run is set up yet; send a setup first")
        if self.seeds_task is not None and not self.seeds_task.done():
            raise ConfigError("a many-seeds sweep of this page is running; stop it first")
        if self.sweep_slots.locked():
            raise BusyError(f"the server already runs {self.limits.sweeps_at_once} many-seeds "
                            "sweeps (its limit); try again when one ends")
        await self.sweep_slots.acquire()
        exp = self.exp
        try:  # the seeds of `backprop86 sweep --seeds N`: the file's first seed onwards
            run = await asyncio.to_thread(Training, exp, exp.seeds(n))
        except BaseException:
            self.sweep_slots.release()
            raise
        self.seeds_run = run
        self.seeds_task = asyncio.create_task(self._seeds(run))

    async def _seeds(self, run: Training) -> None:
        try:
            await self.send(await asyncio.to_thread(self._seeds_message, run))
            while not self.closed and not run.finished:
                await asyncio.to_thread(run.advance)
                await self.send(await asyncio.to_thread(self._seeds_message, run))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            await self.send(error_message(exc))
        finally:
            self.sweep_slots.release()

    def _seeds_message(self, run: Training) -> dict[str, Any]:
        s = run.summary()
        return {
            "type": "seeds", "seeds": len(run.seeds), "first_seed": run.seeds[0],
            "sweep": run.sweep, "max_sweeps": run.cap, "finished": run.finished,
            "solved": s["solved"], "rate": s["rate"], "ci95": s["ci95"],
            "median_sweeps_to_solve": s["median_sweeps_to_solve"],
            "times": run.times_to_solve(), "failures": s["failures"],
            "diverged": s["diverged"], "seconds": round(run.seconds, 3),
            "claims": run.claims(),
        }

    async def stop_seeds(self) -> None:
        task = self.seeds_task
        if task is not None and not task.done():
            if self.seeds_run is not None:
                self.seeds_run.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.send({"type": "seeds_stopped"})

    # ------------------------------------------------------------------ export

    async def export(self, what: Any) -> None:
        if self.table is None or self.exp is None:
            raise ConfigError("no run is set up yet; send a setup first")
        up = self._upload()
        document = setups.export_table(self.table, up.filename if up else None)
        name = self.exp.name
        if what == "toml":
            body = {"filename": f"{name}.toml", "text": setups.toml_text(document),
                    "mime": "application/toml"}
        elif what == "python":
            body = {"filename": f"{name}.py", "text": setups.python_lines(document),
                    "mime": "text/x-python"}
        elif what == "npz":
            t = self._training()
            buffer = io.BytesIO()
            with t.lock:
                arrays = {k: np.array(v[0]) for k, v in t.net.params.items()}
            np.savez(buffer, **arrays)
            body = {"filename": f"{name}-sweep{t.sweep}.npz", "mime": "application/octet-stream",
                    "base64": base64.b64encode(buffer.getvalue()).decode("ascii")}
        else:
            raise ConfigError(f"export must be toml, python or npz, got {what!r}")
        await self.send({"type": "export", "what": what, **body})

    def _upload(self, setup: Any = None) -> setups.Uploaded | None:
        """The uploaded data of ``setup`` (default: the current one), if it is a CSV task."""
        given = self.setup if setup is None else setup
        task = given.get("task") if isinstance(given, dict) else None
        return self.uploads.get(task[4:]) if isinstance(task, str) and task.startswith(
            "csv:") else None

    # ------------------------------------------------------------------ the end

    async def close(self) -> None:
        """The page has gone (or the server stops): end its run and its sweep cleanly."""
        self.closed = True
        for t in (self.training, self.seeds_run):
            if t is not None:
                t.stop()
        await self._stop_play()
        await self.stop_seeds()


def _note(text: str) -> dict[str, Any]:
    return {"type": "note", "message": text}


def error_message(exc: BaseException) -> dict[str, Any]:
    """The page's error reply: the library's one-line message, or the kind of a fault."""
    if isinstance(exc, ValueError):  # every Backprop86Error is one
        return {"type": "error", "message": str(exc)}
    return {"type": "error", "message": f"the server could not do that ({type(exc).__name__}: "
                                        f"{exc}); the page and the server carry on"}
