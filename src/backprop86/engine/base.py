"""What every engine is: the one interface between the training loop and a way of computing sweeps.

The training loop (:meth:`backprop86.train.Trainer.train`) owns everything that
is about the *run*: which replicas still train, the history, stopping rules,
divergence, Ctrl-C, checkpoints. An *engine* owns how a sweep's arithmetic is
done — eqs. (1)–(9) on every case of the task, in some memory layout. The loop
talks to an engine in *blocks* of at most :attr:`Engine.block` sweeps:

1. :meth:`Engine.begin_block` — the replicas that train in this block (the
   others stay frozen);
2. :meth:`Engine.sweeps` — train sweeps ``s0 … s0 + k − 1`` with the rates
   ``setup.lr(s)``, ``setup.momentum(s)``, keeping what the loop asks next;
3. :meth:`Engine.measures` — per sweep of the block, the reported error and the
   "solved" flags of the outputs measured *before* that sweep's update(s);
   :meth:`Engine.stopped_by_margin` — per sweep, every output within
   ``stop_margin`` *after* it; :meth:`Engine.finite_params`;
4. :meth:`Engine.save` / :meth:`Engine.restore` — rewind the block (a replica
   stopped or diverged inside it: the loop replays it up to that sweep);
   :meth:`Engine.store` — make ``net.params`` and the optimizer's ``Δw`` hold
   the engine's state (before a checkpoint, a progress report, the result).

An engine reads the run through :class:`Setup` (the trainer provides it) and
never imports the trainer. The readable engine is this interface with block
length 1 and the paper's equations as written; the others do the same
arithmetic faster (:mod:`backprop86.engine.select` chooses one per run).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

import numpy as np

from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.functions import ErrorFunction
from backprop86.network import Network
from backprop86.optim import Optimizer, Schedule


class Setup(Protocol):
    """What an engine reads of a training run (:class:`backprop86.train.Trainer` provides it).

    ``X`` ``(N, n_in)`` or, one case set per replica, ``(R, N, n_in)``; ``D``
    and ``care`` likewise with ``n_out`` columns (``care`` ``None``: every
    target counts); ``order_rngs`` one generator per replica when cases are
    shuffled, else ``None``.
    """

    net: Network
    config: TrainConfig
    X: Array
    D: Array
    care: Array | None
    optimizer: Optimizer
    error: ErrorFunction
    report: ErrorFunction
    lr: Schedule
    momentum: Schedule
    order_rngs: list[np.random.Generator] | None

    @property
    def mid(self) -> float: ...

    @property
    def n_cases(self) -> int: ...


class Engine(ABC):
    """One way of computing sweeps, behind the interface the training loop uses (module doc).

    ``name`` is what a run's result and ``--set engine=NAME`` call it; ``block``
    the most sweeps one call of :meth:`sweeps` may be asked for.
    """

    name: ClassVar[str]
    block: int = 1

    def __init__(self, setup: Setup) -> None:
        self.setup = setup
        self.R = setup.net.replicas

    def begin_block(self, active: Array) -> None:
        """The replicas ``(R,)`` that train during the next block; the others stay frozen."""
        self.active = active

    @abstractmethod
    def sweeps(self, s0: int, k: int, *, stop: Callable[[], bool] = lambda: False,
               until_nonfinite: bool = False) -> int:
        """Train sweeps ``s0 … s0 + k − 1`` into rows ``0 … k − 1`` of the block; return how
        many were trained: fewer when ``stop()`` turns true after a sweep, or, with
        ``until_nonfinite``, after the first sweep that leaves a training replica's weights
        non-finite."""

    @abstractmethod
    def measures(self, k: int) -> tuple[Array, Array]:
        """Reported error and solved flags ``(k, R)`` of the block's first ``k`` sweeps, from
        each case's outputs before the update it causes (the handbook's ``tss``)."""

    @abstractmethod
    def stopped_by_margin(self, k: int) -> Array:
        """``(k, R)``: after sweep ``j`` of the block, every output within ``stop_margin``."""

    @abstractmethod
    def finite_params(self) -> Array:
        """Per replica ``(R,)``: every weight and bias is finite."""

    @abstractmethod
    def save(self) -> object:
        """Keep what :meth:`restore` needs to rewind to the start of the block."""

    @abstractmethod
    def restore(self, saved: object) -> None:
        """Rewind weights, ``Δw`` and the order generators to what :meth:`save` kept."""

    def store(self) -> None:  # noqa: B027 - engines that train net.params in place keep it
        """Make ``net.params`` and the optimizer's ``Δw`` hold the engine's state."""


# ----------------------------------------------------------------------------
# Shared by engines: the cases of each update, and what "solved" means
# ----------------------------------------------------------------------------


def chunks(n_cases: int, config: TrainConfig, order_rngs: Sequence[np.random.Generator] | None
           ) -> list[Array]:
    """Case indices of each update in one sweep: ``(R or 1, B)`` arrays.

    ``grain`` sweep: one chunk of every case; pattern: one case per update;
    minibatch: ``batch_size`` cases. Shuffled order draws one permutation per
    replica from its own generator.
    """
    if order_rngs is None:
        order = np.arange(n_cases)[None, :]
    else:
        order = np.stack([rng.permutation(n_cases) for rng in order_rngs])
    size = {"sweep": n_cases, "pattern": 1, "minibatch": config.batch_size}[config.grain]
    return [order[:, i:i + size] for i in range(0, n_cases, size)]


def gather(a: Array | None, idx: Array) -> Array | None:
    """The cases ``idx`` ``(R or 1, B)`` of ``a`` ``(N, n)`` or ``(R, N, n)`` (no copy when
    ``idx`` is every case in order)."""
    if a is None:
        return None
    n = a.shape[-2]
    if idx.shape[0] == 1 and idx.shape[1] == n and np.array_equal(idx[0], np.arange(n)):
        return a
    if a.ndim == 3:  # one set of cases per replica, (R, N, n)
        if idx.shape[0] == 1:
            return a[:, idx[0]]
        return np.take_along_axis(a, idx[..., None], axis=1)
    return a[idx] if idx.shape[0] > 1 else a[idx[0]]


def on_target(y: Array, d: Array, margin: float | None, mid: float) -> Array:
    """Per output, shaped like ``y``: within ``margin`` of its target ``d``, i.e.
    ``|y − d| < margin``, or (``margin=None``) on the target's side of ``mid``."""
    return (y > mid) == (d > mid) if margin is None else np.abs(y - d) < margin


def within(y: Array, d: Array, care: Array | None, margin: float | None, mid: float) -> Array:
    """Per replica ``(R,)``: every counted output :func:`on_target`; ``y`` ``(R, N, n)``,
    ``d`` and ``care`` ``(R, N, n)`` or ``(N, n)``."""
    ok = on_target(y, d, margin, mid)
    if care is not None:
        ok = ok | (care == 0)
    return ok.reshape(ok.shape[0], -1).all(axis=1)


def finite_per_replica(params: Sequence[Array], replicas: int) -> Array:
    """Per replica ``(R,)``: every value of every ``(R, …)`` array is finite.

    One sum per array decides the usual case (a sum of finite numbers far below
    the float maximum is finite); only when it is not are replicas told apart.
    """
    if np.isfinite(sum(float(w.sum()) for w in params)):
        return np.ones(replicas, dtype=bool)
    ok = np.ones(replicas, dtype=bool)
    for w in params:
        ok &= np.isfinite(w.reshape(w.shape[0], -1)).all(axis=1)
    return ok
