"""What every check shares: :class:`CheckResult`, the registry of checks and :func:`run_checks`.

A check is a function ``check(net, task, **options) -> CheckResult`` that takes
*any* trained :class:`~backprop86.network.Network` (all ``R`` replicas at once)
and the :class:`~backprop86.tasks.Task` it learned, and decides per replica
whether the structure the 1986 papers describe is there, with the numbers that
decided it. A family's module registers its checks with :func:`register`;
experiments list the checks to run in ``checks = [...]`` (a name, or an inline
table ``{check = "distinct_codes", group = "hidden1", min_distance = 0.1}``) and
:func:`run_checks` runs them. Units count as *on* above :data:`ON` (0.5, the
logistic's midpoint).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.base import Task

#: A unit is "on" above this activation.
ON = 0.5


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check on every replica.

    ``passed``: ``(R,)`` booleans; ``numbers``: named per-replica arrays with a
    leading ``R`` axis (the quantities the rule looked at); ``among``: the
    replicas the check is meant for, ``"solved"`` (a structure of solutions) or
    ``"all"`` (e.g. a local minimum, found only in unsolved nets).
    """

    name: str
    title: str
    rule: str
    passed: Array
    numbers: dict[str, Array] = field(default_factory=dict)
    among: str = "solved"
    #: What the run table shows after the count (default: medians of the scalar numbers).
    detail: str = ""

    def count(self, solved: Array | None = None) -> tuple[int, int]:
        """``(passing, considered)``: among the solved replicas (``among="solved"``) or all."""
        if self.among == "solved" and solved is not None:
            mask = np.asarray(solved, dtype=bool)
            return int(self.passed[mask].sum()), int(mask.sum())
        return int(self.passed.sum()), int(self.passed.size)

    def line(self, solved: Array | None = None) -> str:
        """One line for the run table: title, how many replicas pass, the rule, key numbers."""
        k, n = self.count(solved)
        who = "solved replicas" if self.among == "solved" and solved is not None else "replicas"
        extra = self.detail or _numbers_text(self, solved)
        return f"{self.title}: {k}/{n} {who} pass — {self.rule}" + (f" ({extra})" if extra else "")

    def to_json(self, solved: Array | None = None) -> dict[str, Any]:
        k, n = self.count(solved)
        return {
            "title": self.title,
            "rule": self.rule,
            "among": self.among,
            "passed": k,
            "considered": n,
            "per_replica": self.passed.astype(bool).tolist(),
            "numbers": {key: np.asarray(v).tolist() for key, v in self.numbers.items()},
        }


Check = Callable[..., CheckResult]

#: The registered checks by name.
CHECKS: dict[str, Check] = {}


def register(name: str) -> Callable[[Check], Check]:
    """Decorator: make a check available to experiment files by ``name``."""

    def deco(fn: Check) -> Check:
        CHECKS[name] = fn
        return fn

    return deco


def run_checks(
    specs: Sequence[str | Mapping[str, Any]], net: Network, task: Task
) -> dict[str, CheckResult]:
    """Run the checks an experiment lists (``checks``); keyed by name (or ``label``)."""
    out: dict[str, CheckResult] = {}
    for spec in specs:
        if isinstance(spec, str):
            name, options = spec, {}
        elif isinstance(spec, Mapping) and "check" in spec:
            options = {k: v for k, v in spec.items() if k not in ("check", "label")}
            name = spec["check"]
        else:
            raise ConfigError(
                f"a checks entry must be a check name or a table with check = NAME, got {spec!r}"
            )
        if name not in CHECKS:
            known = ", ".join(sorted(CHECKS))
            raise ConfigError(f"unknown check {name!r}; expected one of {known}")
        label = spec.get("label", name) if isinstance(spec, Mapping) else name
        try:
            out[label] = CHECKS[name](net, task, **options)
        except TypeError as exc:
            raise ConfigError(f"check {name!r}: {exc}") from None
    return out


# ----------------------------------------------------------------------------
# Helpers: groups, weights and activities
# ----------------------------------------------------------------------------


def hidden_activity(net: Network, task: Task, groups: Sequence[str] | None = None) -> Array:
    """Hidden activations for every case, the groups side by side: ``(R, N, n_hidden)``."""
    names = list(groups) if groups is not None else net.hidden
    if not names:
        raise ConfigError("the network has no hidden units to examine")
    y = net.forward(task.inputs).y
    return np.concatenate([y[n] for n in names], axis=-1)


def weights(net: Network, source: str, target: str) -> Array:
    """The weights of projection ``source → target``: ``(R, n_src, n_tgt)``."""
    for p in net.projections:
        if p.source == source and p.target == target:
            return net.params[p.param]
    raise ConfigError(f"the network has no projection {source} -> {target}")


def first_fed_by(net: Network, source: str) -> str:
    """The first hidden group that receives a projection from ``source``."""
    for p in net.projections:
        if p.source == source and p.target not in net.outputs:
            return p.target
    raise ConfigError(f"no hidden group receives from {source!r}")


def _numbers_text(result: CheckResult, solved: Array | None) -> str:
    """Medians of the scalar per-replica numbers over the replicas the check is for."""
    mask = np.ones(result.passed.shape, dtype=bool)
    if result.among == "solved" and solved is not None:
        mask = np.asarray(solved, dtype=bool)
    parts = []
    for key, value in result.numbers.items():
        v = np.asarray(value)
        if v.ndim != 1 or not np.issubdtype(v.dtype, np.number) or not mask.any():
            continue
        parts.append(f"median {key} {float(np.median(v[mask])):.3g}")
    return "; ".join(parts)
