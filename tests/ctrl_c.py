"""Ctrl-C in tests: a stand-in for ``progress.sweep_bar`` that presses it mid-run."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any


def ctrl_c_at(at_sweep: int, seen: dict, at_call: int = 1) -> Callable[..., Any]:
    """A stand-in for progress.sweep_bar whose callback presses Ctrl-C in its ``at_call``-th
    use, at the first progress report at or after ``at_sweep`` (``seen["at"]``: that sweep).

    The trainer may report progress every few sweeps, so Ctrl-C comes at the first report
    at or after ``at_sweep``.
    """
    calls = {"n": 0}

    @contextmanager
    def bar(total, label, work):
        calls["n"] += 1
        if calls["n"] != at_call:
            yield None
            return

        def update(done, _total, _active):
            if done >= at_sweep:
                seen["at"] = done
                raise KeyboardInterrupt

        yield update

    return bar
