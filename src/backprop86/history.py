"""Which sweeps of which replicas a run's error history keeps.

A replica's *history* is its reported error ``E`` (eq. 3), one number per recorded
sweep. Kept for every sweep it grows with the sweeps: the article's 10,001 sweeps
cost 80 kB a replica, 80 GB for a million replicas. So a run chooses what it keeps:

``"every"``
    one column every ``history_every`` sweeps (sweeps ``0, k, 2k, …``, 0-based), for a
    single run's learning curve (``backprop86 xor``, scikit-learn's ``loss_curve_``);
``"log"``
    at most :data:`LOG_POINTS` of those columns, spaced evenly on a log scale of the
    sweep number — the points an error-curve figure on a log axis draws — whatever the
    number of sweeps: a replica's history never outgrows 2.4 kB (``sweep --plot``);
``"none"``
    no column: what a run keeps of each replica is its outcome (sweeps, first solved
    sweep, final error, …), constant in the number of sweeps (``run``, ``sweep``).

and optionally which replicas (``replicas``: indices into the batch; all by default).
What is kept never changes the training: only what is written down.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError

#: The history modes, in the order of the module docstring.
MODES = ("every", "log", "none")

#: Columns a ``"log"`` history keeps at most (before rounding merges neighbours:
#: 218 over 10,001 sweeps).
LOG_POINTS = 300


def history_columns(sweeps: int, every: int) -> int:
    """Entries of a replica's ``"every"`` history after ``sweeps`` sweeps, one every ``every``
    from sweep 0: ``⌈sweeps / every⌉``."""
    return (sweeps + every - 1) // every


def log_index(columns: int, points: int = LOG_POINTS) -> Array:
    """``points`` of ``columns`` history columns, log-spaced from the first to the last and
    rounded (neighbours that round alike merge), as sorted 0-based indices ``(K,)``,
    ``K ≤ points``."""
    index = np.unique(np.round(np.geomspace(1, max(columns, 1), points)).astype(np.int64)) - 1
    return index[index < columns]


@dataclass(frozen=True)
class HistoryPlan:
    """What a run's history keeps: ``mode`` (one of :data:`MODES`), one column every
    ``every`` sweeps, of the replicas ``replicas`` (sorted indices ``(R_kept,)``; ``None``:
    all)."""

    mode: str = "every"
    every: int = 1
    replicas: Array | None = None

    @classmethod
    def make(cls, mode: str, every: int, replicas: Sequence[int] | Array | None,
             batch: int) -> HistoryPlan:
        """The plan for a batch of ``batch`` replicas, checked: an unknown mode or a replica
        index outside ``0 … batch − 1`` is refused in one line."""
        if mode not in MODES:
            raise ConfigError(f"history {mode!r} is not a history mode; expected one of "
                              + ", ".join(repr(m) for m in MODES))
        if replicas is None:
            return cls(mode, every, None)
        index = np.asarray(replicas)
        if index.ndim != 1 or (index.size and index.dtype.kind not in "iu"):
            raise ConfigError("history_replicas must be a list of replica indices (integers)")
        index = np.unique(index.astype(np.int64))
        if index.size and (index[0] < 0 or index[-1] >= batch):
            raise ConfigError(f"history_replicas holds {index[0] if index[0] < 0 else index[-1]}, "
                              f"outside the batch's replicas 0…{batch - 1}")
        return cls(mode, every, index)

    def rows(self, batch: int) -> int:
        """Replicas whose history is kept, of a batch of ``batch``."""
        return batch if self.replicas is None else int(self.replicas.size)

    def count(self, max_sweeps: int) -> int:
        """How many columns :meth:`columns` gives, without making them (a size check must
        not allocate what it checks)."""
        total = history_columns(max_sweeps, self.every)
        if self.mode == "every":
            return total
        return int(log_index(total).size) if self.mode == "log" else 0

    def columns(self, max_sweeps: int) -> Array:
        """The ``"every"`` columns kept of a run of ``max_sweeps`` sweeps, sorted 0-based
        indices ``(K,)`` (column ``c`` is sweep ``c · every``)."""
        total = history_columns(max_sweeps, self.every)
        if self.mode == "every":
            return np.arange(total, dtype=np.int64)
        if self.mode == "log":
            return log_index(total)
        return np.empty(0, dtype=np.int64)

    def grown(self, kept: Array, sweep: int, max_sweeps: int) -> Array:
        """The columns kept when a run at ``sweep`` continues to ``max_sweeps``: those
        already recorded stay, the rest are this plan's for ``max_sweeps`` (a ``"log"``
        history spreads its points over the longer run)."""
        done = kept[kept * self.every < sweep]
        new = self.columns(max_sweeps)
        return np.concatenate([done, new[new * self.every >= sweep]])


__all__ = ["LOG_POINTS", "MODES", "HistoryPlan", "history_columns", "log_index"]
