"""Sizes checked before anything is allocated: whole numbers, and the memory a run needs.

Every size a user can ask for (seeds, replicas, units, sweeps, history, cases)
passes through this module before an array is made:

* :func:`whole_number` reads a count — an ``int``, an integral ``float`` or its
  text — and refuses what is not a whole number, below its least value, or too
  large for a 64-bit integer (NumPy counts sweeps and replicas in ``int64``);
* an :class:`Estimate` adds up the bytes of a run's parts (weights, optimizer
  state, activations of one chunk of cases, output records, the error history,
  the cases, per-replica records), each naming the settings that lower it;
  :func:`run_estimate` makes one from a network's and a task's sizes and the
  training settings;
* :func:`check` compares an estimate with :func:`available_memory` and refuses
  one that does not fit, in one line: the estimate, the memory available, the
  largest part and the settings (or command-line flags) that lower it.

Where the available memory cannot be read, only sizes beyond :data:`ABSURD`
are refused. Estimates are upper bounds of the arrays a run holds at once,
within a small factor; they are meant to stop a run that cannot fit before it
starts, not to predict its peak to the byte.

This module imports only :mod:`backprop86.errors`, so every layer may use it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from backprop86.errors import ConfigError

#: The largest count a setting may hold: NumPy's ``int64``.
INT_MAX = 2**63 - 1

#: Refused even where the available memory is unknown: 1 PiB.
ABSURD = 1 << 50

#: Bytes kept per replica besides its arrays: its seed, its entry in the result and
#: its JSON record (about ten numbers, each a Python object).
PER_REPLICA = 2048

#: Bytes of output records a blocked engine keeps per block of up to 64 sweeps, unless one
#: sweep's are more (``engine.blocked.RECORD_BYTES``, ``BLOCK``).
RECORD_BYTES = 8 << 20

#: How the settings that lower a part are named by default (a caller names them as its
#: command line does, e.g. ``{"max_sweeps": "--steps"}``).
NAMES = {
    "replicas": "--seeds",
    "max_sweeps": "max_sweeps",
    "history_every": "history_every",
    "units": "the layer sizes",
    "cases": "the task's size",
}


class SizeError(ConfigError):
    """A run, network or task that would not fit in memory, or a count beyond any use."""


def whole_number(name: str, value: object, low: int | None = 0) -> int:
    """``value`` as an ``int`` in ``low … INT_MAX``, or one :class:`ConfigError` naming ``name``.

    Accepts an ``int`` (not a ``bool``), a ``float`` that is a whole number, and text
    of either (``"1_000"``, ``"1e6"``). ``"2.5"`` and ``"x"`` are not whole numbers;
    ``"1e400"`` and ``10**30`` are too large for a 64-bit integer. ``low=None``: no
    least value but the 64-bit one.
    """
    number = _as_int(value)
    if number is None:
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if abs(number) > INT_MAX:
        raise SizeError(f"{name} must be an integer of at most 2**63 − 1 ({INT_MAX:,}), "
                       f"got {value!r}: too large")
    if low is not None and number < low:
        raise ConfigError(f"{name} must be an integer ≥ {low}, got {value!r}")
    return number


def _as_int(value: object) -> int | None:
    """``value`` as a Python ``int`` (unbounded), or ``None`` when it is not a whole number;
    an infinite float (``"1e400"``) is a whole number too large for anything."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if hasattr(value, "__index__") and not isinstance(value, float):  # NumPy integers
        return int(value)  # type: ignore[call-overload]
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        try:
            return int(text)
        except ValueError:
            pass
        try:
            value = float(text)
        except ValueError:
            return None
    if isinstance(value, float):
        if math.isinf(value):
            return INT_MAX + 1 if value > 0 else -INT_MAX - 1
        if value.is_integer():
            return int(value)
    return None


# ----------------------------------------------------------------------------
# Estimates
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """Bytes of one part of a run; ``lower``/``raise_`` name the settings that shrink it
    (keys of :data:`NAMES`) and ``why`` the sizes it is made of, in words."""

    what: str
    bytes: int
    lower: tuple[str, ...] = ()
    raise_: tuple[str, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class Estimate:
    """The parts of a run's memory; :attr:`total` their sum."""

    parts: tuple[Part, ...]

    @property
    def total(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def largest(self) -> Part:
        return max(self.parts, key=lambda p: p.bytes)

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.parts + other.parts)


class Settings(Protocol):
    """What :func:`run_estimate` reads of the training settings (a ``TrainConfig``)."""

    max_sweeps: int
    history_every: int
    dtype: str
    optimizer: str
    grain: str
    batch_size: int


def _n(count: int, noun: str) -> str:
    """``1 replica``, ``2,000 replicas``."""
    return f"{count:,} {noun}{'s' * (count != 1)}"


def _replicas(count: int) -> tuple[str, ...]:
    """``("replicas",)`` among the settings that lower a part, unless there is only one."""
    return ("replicas",) if count > 1 else ()


def itemsize(dtype: str) -> int:
    """Bytes per number of ``dtype`` (``float64`` or ``float32``)."""
    return 4 if str(dtype) == "float32" else 8


def task_estimate(cases: int, inputs: int, outputs: int) -> Estimate:
    """A task's cases while they are made: inputs, targets and their coded copies in float64,
    the rows as Python tuples on the way (binary tasks) and each case's label."""
    per_case = (inputs + outputs) * 8 * 4 + 16 * inputs + 64
    why = f"{_n(cases, 'case')} of {_n(inputs, 'input')} and {_n(outputs, 'output')}"
    return Estimate((Part("the task's cases", cases * per_case, ("cases",), why=why),))


def weights_estimate(replicas: int, params: int, dtype: str, copies: int = 1) -> Estimate:
    """``copies`` arrays of every weight and bias of every replica."""
    size = replicas * params * itemsize(dtype) * copies
    what = "the weights" if copies == 1 else "the weights, gradients and optimizer state"
    return Estimate((Part(what, size, (*_replicas(replicas), "units"),
                          why=f"{_n(replicas, 'replica')} × {params:,} weights"),))


def run_estimate(
    *,
    replicas: int,
    cases: int,
    inputs: int,
    outputs: int,
    units: int,
    params: int,
    settings: Settings,
    training: bool = True,
    per_replica_cases: bool = False,
    history: tuple[int, int] | None = None,
) -> Estimate:
    """The memory of a run of ``replicas`` networks, from their sizes: ``units`` non-input
    units and ``params`` weights and biases each, on ``cases`` cases of ``inputs`` and
    ``outputs`` units (one set per replica when ``per_replica_cases``).

    ``training=False``: the network, its cases and one pass over them, nothing per sweep
    (a gradient check). ``history``: the error history's rows and columns
    (:mod:`backprop86.history`); by default every replica at every ``history_every``
    sweeps.
    """
    s = itemsize(settings.dtype)
    chunk = {"sweep": cases, "pattern": 1}.get(settings.grain, settings.batch_size)
    chunk = min(chunk, cases)
    copies = (8 if settings.optimizer == "adam" else 6) if training else 4
    est = weights_estimate(replicas, params, settings.dtype, copies)
    est += task_estimate(cases * (replicas if per_replica_cases else 1), inputs, outputs)
    est += Estimate((
        Part("the activations", replicas * units * s * (3 * chunk + 2 * cases),
             (*_replicas(replicas), "cases", "units"),
             why=f"{_n(replicas, 'replica')} × {cases:,} cases × {units:,} units"),
        Part("the per-replica records", replicas * PER_REPLICA, _replicas(replicas),
             why=_n(replicas, "replica")),
    ))
    if not training:
        return est
    rows, columns = history or (replicas, -(-settings.max_sweeps // settings.history_every))
    sweep = replicas * cases * outputs * s  # one sweep's outputs; a block keeps up to 64
    block = max(min(RECORD_BYTES, 64 * sweep), sweep)
    return est + Estimate((
        Part("the output records", 3 * block + sweep,
             (*_replicas(replicas), "cases"),
             why=f"{_n(replicas, 'replica')} × {cases:,} cases × {outputs:,} outputs"),
        Part("the error history", rows * columns * 8,
             (*_replicas(replicas), "max_sweeps"), ("history_every",),
             why=f"{_n(rows, 'replica')} × {_n(columns, 'recorded sweep')}"),
    ))


# ----------------------------------------------------------------------------
# The check
# ----------------------------------------------------------------------------


def available_memory() -> int | None:
    """Bytes of memory this process can still use: Linux's ``MemAvailable``, else free
    physical pages (``os.sysconf``), else ``None`` (unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def check(estimate: Estimate, what: str, names: Mapping[str, str] | None = None) -> None:
    """Refuse ``estimate`` in one line when it exceeds the memory available (:data:`ABSURD`
    when that is unknown): ``"<what> needs about 149 GiB of memory, more than the 23 GiB
    available (the error history: 1 replicas × 10,000,000,000 recorded sweeps); lower
    --steps, or raise history_every"``. ``names`` names the settings as the caller's
    command line does (keys of :data:`NAMES`)."""
    total = estimate.total
    available = available_memory()
    limit = ABSURD if available is None else available
    if total <= limit:
        return
    room = ("more than any machine has" if available is None
            else f"more than the {size_text(available)} available")
    part = estimate.largest
    named = {**NAMES, **(names or {})}
    detail = f"{part.what}: {part.why}" if part.why else part.what
    remedy = _remedy(part, named)
    raise SizeError(f"{what} needs about {size_text(total)} of memory, {room} ({detail})"
                   + (f"; {remedy}" if remedy else ""))


def _remedy(part: Part, names: Mapping[str, str]) -> str:
    """``lower --seeds or max_sweeps, or raise history_every`` (a setting named ``""``
    cannot be changed by the caller and is left out)."""
    lower = _either(names.get(k, k) for k in part.lower)
    higher = _either(names.get(k, k) for k in part.raise_)
    if lower and higher:
        return f"lower {lower}, or raise {higher}"
    return f"lower {lower}" if lower else f"raise {higher}" if higher else ""


def _either(words: Iterable[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    items = [w for w in dict.fromkeys(words) if w]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def size_text(n: int) -> str:
    """Bytes in binary units: ``512 B``, ``1.5 KiB``, ``74.5 GiB``, ``1.6e+05 EiB``."""
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    if n < 1024:
        return f"{n} B"
    try:
        value = float(n)
    except OverflowError:
        return f"more than 1e308 {units[0]}"
    unit = units[0]
    for unit in units:
        if value < 1024 or unit == units[-1]:
            break
        value /= 1024
    return f"{value:.0f} {unit}" if 100 <= value < 1024 else f"{value:.3g} {unit}"


__all__ = ["ABSURD", "INT_MAX", "NAMES", "Estimate", "Part", "Settings", "SizeError",
           "available_memory", "check", "run_estimate", "size_text", "task_estimate",
           "weights_estimate", "whole_number"]
