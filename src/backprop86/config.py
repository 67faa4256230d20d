"""Training switches as explicit data: the frozen :class:`TrainConfig` (DESIGN §3).

Published runs differ in silent ways, so every choice is a named field with a
documented default. Experiment files set them, the command line's
``--set key=value`` overrides them (:meth:`TrainConfig.override`), and every
result file records them all (:meth:`TrainConfig.to_dict`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, fields
from typing import Any

from backprop86.errors import ConfigError
from backprop86.functions import ERRORS
from backprop86.init import SCHEMES
from backprop86.optim import OPTIMIZERS
from backprop86.resources import SizeError, whole_number
from backprop86.switches import assignments as split_assignments
from backprop86.switches import parse_bool, split_assignment

#: How sweeps are computed (:mod:`backprop86.engine`): ``auto`` picks the fastest that pays off.
ENGINES = ("auto", "readable", "numpy-first", "numpy-last", "compiled-last", "compiled-first")

_CHOICES: dict[str, tuple[str, ...]] = {
    "error": tuple(ERRORS),
    "report": tuple(ERRORS),
    "reduction": ("sum", "mean"),
    "grain": ("sweep", "pattern", "minibatch"),
    "order": ("sequential", "shuffled"),
    "optimizer": tuple(OPTIMIZERS),
    "decay_mode": ("shrink", "l2"),
    "init": SCHEMES,
    "tie_rule": ("sum", "mean"),
    "dtype": ("float64", "float32"),
    "engine": ENGINES,
}


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a training run.

    Error and reporting
        ``error``: what the gradient descends — ``sse`` (Nature eq. 3, ½ΣΣ),
        ``tss`` (ΣΣ), ``mse``, ``cross_entropy``, ``dead_zone``.
        ``report``: the error recorded each sweep and tested against ``ecrit``
        (``tss`` for the handbook, ``mse`` for the article).
        ``reduction``: gradient ``sum`` over the cases of an update (all 1986
        sources) or ``mean``.
        ``dead_zone``: margins ``(low, high)`` of the dead-zone error.
        ``targets``: how targets 0/1 are coded, e.g. ``(0.1, 0.9)``.
    Updates
        ``grain``: ``sweep`` (one update per pass, Nature), ``pattern`` (after
        each case) or ``minibatch`` of ``batch_size`` cases; ``order``:
        ``sequential`` or ``shuffled`` anew each sweep.
        ``optimizer``: ``sgd`` (eqs. 8–9) or ``adam``; ``lr`` (ε) and
        ``momentum`` (α), each changed at given sweeps by ``lr_schedule`` /
        ``momentum_schedule`` (``((sweep, value), …)``).
        ``decay``: weight decay per update, as the paper's multiplicative
        ``shrink`` after each update or as ``l2``; ``decay_biases``.
        ``tie_rule``: tied weights change by the ``sum`` (PDP) or ``mean``
        (Nature) of their gradients — a recurrent network's weights are tied
        across its time steps. ``bias_max``: a constraint, every bias kept ≤
        this value after each update and from the start (PDP's shift register:
        biases constrained negative, ``0``); ``None``: no constraint.
    Initial weights
        ``init``: ``normal`` (the article's ``RandomState(seed).randn * scale``),
        ``uniform`` (±``init_scale``), ``glorot``, ``he`` or ``file``
        (``init_file``, a handbook ``.wts`` file).
    Stopping and success
        ``max_sweeps``; ``ecrit``: stop at the end of the first sweep whose
        reported error (measured during the sweep, before its update) is below
        it (handbook); ``stop_margin``: stop when every output of the weights
        after the sweep's update is within this distance of its target. ``solve_margin``: a net
        has *solved* the task when every output is within this distance of its
        target; ``None`` means "on the right side of the midpoint of the two
        target values" (0.5 for 0/1 targets).
    Numerics and records
        ``dtype``; ``history_every``: record the reported error every k sweeps.
        ``engine``: how sweeps are computed — ``auto`` (the fastest that can train
        the run and repays its set-up), ``readable`` (the equations as written),
        ``numpy-first``, ``numpy-last``, ``compiled-last``, ``compiled-first``
        (:mod:`backprop86.engine.select`); every engine gives ``readable``'s numbers.
    """

    error: str = "sse"
    report: str = "tss"
    reduction: str = "sum"
    grain: str = "sweep"
    order: str = "sequential"
    batch_size: int = 1
    optimizer: str = "sgd"
    lr: float = 0.5
    momentum: float = 0.0
    lr_schedule: tuple[tuple[int, float], ...] = ()
    momentum_schedule: tuple[tuple[int, float], ...] = ()
    decay: float = 0.0
    decay_mode: str = "shrink"
    decay_biases: bool = True
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    tie_rule: str = "sum"
    bias_max: float | None = None
    init: str = "uniform"
    init_scale: float = 0.3
    init_file: str | None = None
    targets: tuple[float, float] = (0.0, 1.0)
    dead_zone: tuple[float, float] = (0.2, 0.8)
    max_sweeps: int = 1000
    ecrit: float | None = None
    stop_margin: float | None = None
    solve_margin: float | None = None
    dtype: str = "float64"
    history_every: int = 1
    engine: str = "auto"

    def __post_init__(self) -> None:
        # values given directly (not through from_dict / --set) get the same type check
        for f in fields(self):
            value = getattr(self, f.name)
            coerced = _coerce(f.name, value, _field_type(f))
            if coerced is not value:
                object.__setattr__(self, f.name, coerced)
        for name, choices in _CHOICES.items():
            value = getattr(self, name)
            if value not in choices:
                raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        _check(self.lr > 0 and math.isfinite(self.lr), "lr", self.lr, "a finite number > 0")
        _check(0 <= self.momentum < 1, "momentum", self.momentum, "a number in [0, 1)")
        for name in ("adam_beta1", "adam_beta2"):
            _check(0 <= getattr(self, name) < 1, name, getattr(self, name), "a number in [0, 1)")
        _check(
            self.adam_eps > 0 and math.isfinite(self.adam_eps),
            "adam_eps", self.adam_eps, "a finite number > 0",
        )
        _check(0 <= self.decay < 1, "decay", self.decay, "a number in [0, 1)")
        _check(self.batch_size >= 1, "batch_size", self.batch_size, "an integer ≥ 1")
        _check(self.max_sweeps >= 1, "max_sweeps", self.max_sweeps, "an integer ≥ 1")
        _check(self.history_every >= 1, "history_every", self.history_every, "an integer ≥ 1")
        _check(
            self.init_scale >= 0 and math.isfinite(self.init_scale),
            "init_scale", self.init_scale, "a finite number ≥ 0",
        )
        if self.bias_max is not None:
            _check(math.isfinite(self.bias_max), "bias_max", self.bias_max,
                   "a finite number (or none)")
        for name in ("ecrit", "stop_margin", "solve_margin"):
            value = getattr(self, name)
            _check(value is None or value > 0, name, value, "a number > 0 (or none)")
        lo, hi = self.targets
        _check(lo < hi and math.isfinite(lo) and math.isfinite(hi), "targets", self.targets,
               "two values low < high, both finite")
        lo, hi = self.dead_zone
        _check(lo < hi, "dead_zone", self.dead_zone, "two values low < high")
        for name in ("lr_schedule", "momentum_schedule"):
            sweeps = [s for s, _ in getattr(self, name)]
            _check(
                sweeps == sorted(sweeps) and all(s >= 0 for s in sweeps),
                name, getattr(self, name), "(sweep, value) pairs with increasing sweeps",
            )
        for _, value in self.lr_schedule:
            _check(value > 0 and math.isfinite(value), "lr_schedule", self.lr_schedule,
                   "finite values > 0")
        for _, value in self.momentum_schedule:
            _check(0 <= value < 1, "momentum_schedule", self.momentum_schedule, "values in [0, 1)")
        if self.init == "file" and not self.init_file:
            raise ConfigError("init = 'file' needs init_file, the path of a handbook .wts file")

    @property
    def mid(self) -> float:
        """The midpoint of the two target values: an output on a target's side of it is right."""
        return 0.5 * (self.targets[0] + self.targets[1])

    # ------------------------------------------------------------------ (de)serialising

    def to_dict(self) -> dict[str, Any]:
        """All settings as JSON-friendly values (tuples become lists)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a mapping (a TOML ``[train]`` table or a result file's ``config``)."""
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in data.items():
            if key not in known:
                raise ConfigError(_unknown(key))
            values[key] = _coerce(key, value, _field_type(known[key]))
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return self.from_dict({**self.to_dict(), **changes})

    def override(self, assignments: list[str]) -> TrainConfig:
        """Apply ``key=value`` strings (the CLI's ``--set``), each parsed by its field's type."""
        split_assignments(assignments)  # a key given twice: refused, naming both
        changes = dict(parse_assignment(item) for item in assignments)
        return self.replace(**changes)


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"lr=0.25"`` → ``("lr", 0.25)``, typed by the TrainConfig field ``lr``."""
    key, text = split_assignment(item)
    known = {f.name: f for f in fields(TrainConfig)}
    if key not in known:
        raise ConfigError(_unknown(key))
    return key, parse_value(key, text.strip())


def parse_value(key: str, text: str) -> Any:
    """Parse the text of a setting's value by the type of the TrainConfig field ``key``."""
    field = {f.name: f for f in fields(TrainConfig)}[key]
    return _coerce(key, text, _field_type(field), from_text=True)


def setting_names() -> list[str]:
    return [f.name for f in fields(TrainConfig)]


def _unknown(key: str) -> str:
    return f"unknown setting {key!r}; expected one of {', '.join(setting_names())}"


def _check(ok: bool, name: str, value: object, expected: str) -> None:
    if not ok:
        raise ConfigError(f"{name} must be {expected}, got {value!r}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    return value


_HINTS = typing.get_type_hints(TrainConfig)


def _field_type(field: dataclasses.Field) -> Any:
    return _HINTS[field.name]


def _coerce(key: str, value: Any, tp: Any, *, from_text: bool = False) -> Any:
    """Convert ``value`` to the field type ``tp``; raise one clear ConfigError if it cannot."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    optional = (origin is typing.Union or origin is types.UnionType) and type(None) in args
    if optional:
        if value is None or (from_text and str(value).lower() in ("none", "null", "")):
            return None
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    try:
        if tp is bool:
            return parse_bool(value, key)
        if tp is int:
            return whole_number(key, value, low=None)  # one reading of counts, 64-bit at most
        if tp is float:
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if math.isnan(number):
                raise ValueError
            return number
        if tp is str:
            if not isinstance(value, str):
                raise ValueError
            return value
        if origin is tuple:
            items = _split_items(value) if isinstance(value, str) else list(value)
            if len(args) == 2 and args[1] is Ellipsis:
                return tuple(_coerce(key, v, args[0], from_text=from_text) for v in items)
            if len(items) != len(args):
                raise ValueError
            return tuple(
                _coerce(key, v, a, from_text=from_text) for v, a in zip(items, args, strict=True)
            )
    except SizeError:
        raise
    except (ValueError, TypeError, StopIteration):
        raise ConfigError(f"{key} must be {_describe(tp)}, got {value!r}") from None
    raise ConfigError(f"{key}: cannot read values of type {tp}")  # pragma: no cover


def _split_items(text: str) -> list[Any]:
    """Parse ``"0.1,0.9"`` or ``"20:0.01,40:0.005"`` (schedules) into a list."""
    text = text.strip().strip("()[]")
    if not text:
        return []
    items: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        items.append(part.split(":") if ":" in part else part)
    return items


def _describe(tp: Any) -> str:
    if tp is bool:
        return "true or false (or yes/on, no/off, 1/0)"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return "a list like 20:0.01,40:0.005 (sweep:value pairs)"
    if origin is tuple:
        return f"{len(args)} comma-separated values, e.g. 0.1,0.9"
    return str(tp)
