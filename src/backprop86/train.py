"""The training loop: update grains, stopping rules, per-sweep history, many replicas at once.

One *sweep* presents every case once (the papers' "sweep", "epoch" or
"presentation of each pattern"). Within a sweep the weights change once
(``grain="sweep"``, Nature), after every case (``"pattern"``) or after every
``batch_size`` cases (``"minibatch"``).

The error recorded for a sweep is accumulated from each case's forward pass
with the weights as they stand when that case is presented, before the update
it causes — the handbook's ``tss`` and the article's printed loss. Stopping rules
are tested at the end of the sweep, after its update (as in the handbook's
``bp`` program), so a run that stops at sweep ``s`` has made ``s`` updates
(sweep grain).

All ``R`` replicas train together; each stops on its own and is then frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from backprop86.config import TrainConfig
from backprop86.errors import DivergenceError
from backprop86.functions import DeadZone, ErrorFunction, error_function
from backprop86.init import initialize, rng_for
from backprop86.network import Network
from backprop86.optim import Optimizer, Schedule, make_optimizer
from backprop86.tasks.base import Task

Array = np.ndarray

#: Called after every sweep with (sweeps done, max sweeps, replicas still training).
Progress = Callable[[int, int, int], None]


@dataclass
class TrainResult:
    """What a training run measured, one entry per replica.

    ``history``: reported error ``(R, S)`` every ``history_every`` sweeps
    (column ``k`` is sweep ``k · history_every``, counted from 0); ``sweeps``:
    sweeps trained; ``stopped``: the stopping rule was met; ``solved``: the final
    weights solve the task; ``first_solved``: the first sweep (1-based) whose
    measured outputs solved the task, −1 if none; ``final_error``: reported error
    of the final weights; ``diverged``: training produced a non-finite value.
    """

    history: Array
    sweeps: Array
    stopped: Array
    solved: Array
    first_solved: Array
    final_error: Array
    final_outputs: Array
    diverged: Array
    interrupted: bool = False
    history_every: int = 1
    notes: list[str] = field(default_factory=list)


def make_error(name: str, config: TrainConfig) -> ErrorFunction:
    """The error function ``name`` with the config's dead-zone margins."""
    if name == "dead_zone":
        return DeadZone(*config.dead_zone)
    return error_function(name)


def within(y: Array, d: Array, care: Array | None, margin: float | None, mid: float) -> Array:
    """Per replica ``(R,)``: every output within ``margin`` of its target (or on its side of ``mid``)."""
    if margin is None:
        ok = (y > mid) == (d > mid)
    else:
        ok = np.abs(y - d) < margin
    if care is not None:
        ok = ok | (care == 0)
    return ok.reshape(ok.shape[0], -1).all(axis=1)


class Trainer:
    """Trains ``net`` (all its replicas) on ``task`` with ``config``.

    ``seeds[r]`` drives replica ``r``'s initial weights (unless ``initialized``)
    and its pattern order, so replica ``r`` equals a single run with seed ``r``.
    ``task`` may also be a sequence of ``R`` tasks of equal size, one per replica
    (each replica its own train/test split): their cases are stacked into
    ``(R, N, n)`` arrays.
    """

    def __init__(
        self,
        net: Network,
        task: Task | Sequence[Task],
        config: TrainConfig,
        seeds: Sequence[int],
        *,
        initialized: bool = False,
    ) -> None:
        self.net, self.config = net, config
        given = [task] if isinstance(task, Task) else list(task)
        self.tasks = [t.coded(*config.targets) for t in given]
        self.task = self.tasks[0]
        self.seeds = [int(s) for s in seeds]
        _check_per_replica(net, self.tasks)
        for t in self.tasks:
            _check_fits(net, t)
        if not initialized:
            initialize(net, self.seeds, config.init, config.init_scale, path=config.init_file)
        self.error = make_error(config.error, config)
        self.report = make_error(config.report, config)
        for t in self.tasks:
            _check_target_range(self.error, t)
        self.lr = Schedule(config.lr, config.lr_schedule)
        self.momentum = Schedule(config.momentum, config.momentum_schedule)
        self.optimizer: Optimizer = make_optimizer(
            config.optimizer, net.params, decay=config.decay, decay_mode=config.decay_mode,
            decay_biases=config.decay_biases,
            adam=(config.adam_beta1, config.adam_beta2, config.adam_eps),
        )
        dtype = net.dtype
        self.X = _stacked([t.inputs for t in self.tasks], dtype)  # (N, n) or (R, N, n)
        self.D = _stacked([t.targets for t in self.tasks], dtype)
        cares = [np.ones_like(t.targets) if t.care is None else t.care for t in self.tasks]
        self.care = (
            None if all(t.care is None for t in self.tasks) else _stacked(cares, dtype)
        )
        self.mid = 0.5 * (config.targets[0] + config.targets[1])
        self.order_rngs = (
            [rng_for(s, "order") for s in self.seeds] if config.order == "shuffled" else None
        )
        self.sweep = 0

    # ------------------------------------------------------------------ one sweep

    def _chunks(self) -> list[Array]:
        """Case indices of each update in this sweep: ``(R or 1, B)`` arrays."""
        n = self.task.n_cases
        if self.order_rngs is None:
            order = np.arange(n)[None, :]
        else:
            order = np.stack([rng.permutation(n) for rng in self.order_rngs])
        size = {"sweep": n, "pattern": 1, "minibatch": self.config.batch_size}[self.config.grain]
        return [order[:, i:i + size] for i in range(0, n, size)]

    def _gather(self, a: Array | None, idx: Array) -> Array | None:
        if a is None:
            return None
        n = a.shape[-2]
        if idx.shape[0] == 1 and idx.shape[1] == n and np.array_equal(idx[0], np.arange(n)):
            return a  # the whole set in order: no copy
        if a.ndim == 3:  # one set of cases per replica, (R, N, n)
            if idx.shape[0] == 1:
                return a[:, idx[0]]
            return np.take_along_axis(a, idx[..., None], axis=1)
        return a[idx] if idx.shape[0] > 1 else a[idx[0]]

    def run_sweep(self, active: Array) -> tuple[Array, Array]:
        """Train one sweep; return the reported error ``(R,)`` and the solved flags ``(R,)``."""
        cfg, net = self.config, self.net
        lr, momentum = self.lr(self.sweep), self.momentum(self.sweep)
        n = self.task.n_cases
        reported = np.zeros(net.replicas, dtype=net.dtype)
        solved = np.ones(net.replicas, dtype=bool)
        for idx in self._chunks():
            X, D, care = self._gather(self.X, idx), self._gather(self.D, idx), self._gather(self.care, idx)
            activity = net.forward(X)
            out = net.output(activity)
            share = idx.shape[1] / n if self.report.name == "mse" else 1.0
            reported += share * net.error(activity, D, self.report, care)
            solved &= within(out, D, care, cfg.solve_margin, self.mid)
            deltas = net.output_deltas(activity, D, self.error, care)
            if cfg.reduction == "mean":
                for d in deltas.values():
                    d /= idx.shape[1]
            grads = net.backward(activity, deltas, tie_rule=cfg.tie_rule)
            self.optimizer.step(net.params, grads, lr, momentum, active)
        self.sweep += 1
        return reported, solved

    # ------------------------------------------------------------------ the loop

    def evaluate(self) -> tuple[Array, Array]:
        """Reported error ``(R,)`` and outputs ``(R, N, n_out)`` of the current weights."""
        activity = self.net.forward(self.X)
        return self.net.error(activity, self.D, self.report, self.care), self.net.output(activity)

    def train(self, progress: Progress | None = None) -> TrainResult:
        """Train until every replica has stopped or ``max_sweeps`` sweeps are done."""
        cfg, R = self.config, self.net.replicas
        every = cfg.history_every
        history = np.full((R, (cfg.max_sweeps + every - 1) // every), np.nan)
        active = np.ones(R, dtype=bool)
        sweeps = np.zeros(R, dtype=np.int64)
        stopped = np.zeros(R, dtype=bool)
        diverged = np.zeros(R, dtype=bool)
        first_solved = np.full(R, -1, dtype=np.int64)
        notes: list[str] = []
        interrupted = False
        try:
            while self.sweep < cfg.max_sweeps and active.any():
                s = self.sweep
                # non-finite values are detected below and reported as divergence, not as warnings
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    reported, solved_now = self.run_sweep(active)
                if s % every == 0:
                    history[:, s // every] = np.where(active, reported, np.nan)
                sweeps[active] = s + 1
                newly = active & solved_now & (first_solved < 0)
                first_solved[newly] = s + 1
                bad = active & ~np.isfinite(reported)
                if bad.any():
                    diverged |= bad
                    notes.append(self._divergence_note(s + 1, bad))
                    active &= ~bad
                    if not active.any() and R == 1:
                        raise DivergenceError(notes[-1])
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    done = self._stop_rule(reported)
                stopped |= active & done
                active &= ~done
                if progress is not None:
                    progress(self.sweep, cfg.max_sweeps, int(active.sum()))
        except KeyboardInterrupt:
            interrupted = True
            notes.append(f"interrupted at sweep {self.sweep}")
        with np.errstate(all="ignore"):
            final_error, final_out = self.evaluate()
        solved = within(final_out, self.D, self.care, cfg.solve_margin, self.mid) & ~diverged
        return TrainResult(
            history=history[:, : (self.sweep + every - 1) // every],
            sweeps=sweeps, stopped=stopped, solved=solved, first_solved=first_solved,
            final_error=final_error, final_outputs=final_out, diverged=diverged,
            interrupted=interrupted, history_every=every, notes=notes,
        )

    def _stop_rule(self, reported: Array) -> Array:
        """Which replicas meet the stopping rule at the end of this sweep ``(R,)``."""
        cfg = self.config
        done = np.zeros(self.net.replicas, dtype=bool)
        if cfg.ecrit is not None:
            done |= reported < cfg.ecrit
        if cfg.stop_margin is not None:
            _, out = self.evaluate()
            done |= within(out, self.D, self.care, cfg.stop_margin, self.mid)
        return done

    def _divergence_note(self, sweep: int, bad: Array) -> str:
        r = int(np.flatnonzero(bad)[0])
        where = [
            name for name, w in self.net.params.items() if not np.all(np.isfinite(w[r]))
        ]
        place = f"in {', '.join(where)}" if where else "in the error"
        return (
            f"training diverged at sweep {sweep} (replica {r}, seed {self.seeds[r]}): "
            f"non-finite values {place}; the learning rate {self.lr(sweep - 1)} is probably "
            "too large for this error function and activation"
        )


def train(
    net: Network,
    task: Task,
    config: TrainConfig,
    seeds: Sequence[int] = (0,),
    *,
    initialized: bool = False,
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``net`` on ``task``; replica ``r`` uses ``seeds[r]``. See :class:`Trainer`."""
    return Trainer(net, task, config, seeds, initialized=initialized).train(progress)


def _stacked(arrays: list[Array], dtype: np.dtype) -> Array:
    """One task's ``(N, n)`` array, or the per-replica tasks' arrays stacked to ``(R, N, n)``."""
    if len(arrays) == 1:
        return arrays[0].astype(dtype)
    return np.stack(arrays).astype(dtype, copy=False)


def _check_per_replica(net: Network, tasks: list[Task]) -> None:
    from backprop86.errors import ShapeError

    if len(tasks) not in (1, net.replicas):
        raise ShapeError(
            f"got {len(tasks)} tasks for {net.replicas} replicas; expected 1 or one per replica"
        )
    sizes = {t.n_cases for t in tasks}
    if len(sizes) > 1:
        raise ShapeError(
            f"per-replica tasks must have the same number of cases, got {sorted(sizes)}"
        )


def _check_fits(net: Network, task: Task) -> None:
    from backprop86.errors import ShapeError

    if task.n_inputs != net.n_inputs or task.n_outputs != net.n_outputs:
        raise ShapeError(
            f"task {task.name!r} has {task.n_inputs} inputs and {task.n_outputs} outputs, "
            f"but the network expects {net.n_inputs} inputs and {net.n_outputs} outputs"
        )


def _check_target_range(error: ErrorFunction, task: Task) -> None:
    from backprop86.errors import DataError

    if error.target_range is None:
        return
    lo, hi = error.target_range
    D = task.targets if task.care is None else task.targets[task.care > 0]
    if D.size and (D.min() < lo or D.max() > hi):
        raise DataError(
            f"targets of task {task.name!r} lie in [{D.min():g}, {D.max():g}], but the "
            f"{error.name} error needs targets in [{lo:g}, {hi:g}]"
        )
