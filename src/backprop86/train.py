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

import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from backprop86 import fast
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError, DivergenceError, ShapeError
from backprop86.functions import CrossEntropy, DeadZone, ErrorFunction, error_function
from backprop86.init import check_seeds, initialize, rng_for
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


def history_columns(sweeps: int, every: int) -> int:
    """Entries of a replica's history after ``sweeps`` sweeps, one every ``every`` from sweep 0."""
    return (sweeps + every - 1) // every


@dataclass
class LoopState:
    """Where a run stands between two sweeps: what a checkpoint keeps besides weights.

    ``history`` ``(R, columns)``; ``active``, ``stopped``, ``diverged`` ``(R,)``
    booleans; ``sweeps``, ``first_solved`` ``(R,)`` integers; ``notes`` in words.
    """

    history: Array
    active: Array
    sweeps: Array
    stopped: Array
    diverged: Array
    first_solved: Array
    notes: list[str] = field(default_factory=list)

    @classmethod
    def fresh(cls, replicas: int, columns: int) -> LoopState:
        return cls(
            history=np.full((replicas, columns), np.nan),
            active=np.ones(replicas, dtype=bool),
            sweeps=np.zeros(replicas, dtype=np.int64),
            stopped=np.zeros(replicas, dtype=bool),
            diverged=np.zeros(replicas, dtype=bool),
            first_solved=np.full(replicas, -1, dtype=np.int64),
        )

    def ensure_columns(self, columns: int) -> None:
        """Grow ``history`` (with NaN) to hold ``columns`` entries per replica."""
        extra = columns - self.history.shape[1]
        if extra > 0:
            pad = np.full((self.history.shape[0], extra), np.nan)
            self.history = np.concatenate([self.history, pad], axis=1)


def make_error(name: str, config: TrainConfig) -> ErrorFunction:
    """The error function ``name`` with the config's dead-zone margins."""
    if name == "dead_zone":
        return DeadZone(*config.dead_zone)
    return error_function(name)


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


class Trainer:
    """Trains ``net`` (all its replicas) on ``task`` with ``config``.

    ``seeds[r]`` drives replica ``r``'s initial weights (unless ``initialized``)
    and its pattern order, so replica ``r`` equals a single run with seed ``r``.
    ``task`` may also be a sequence of ``R`` tasks of equal size, one per replica
    (each replica its own train/test split): their cases are stacked into
    ``(R, N, n)`` arrays.

    :meth:`train` hands common runs (a chain trained by gradient descent) to the
    fast path, :mod:`backprop86.fast`: the same numbers with preallocated buffers.
    Set ``use_fast = False`` (or ``BACKPROP86_FAST=0``) to force the readable path.
    """

    use_fast: bool = True

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
        self.seeds = check_seeds(seeds, config.init)
        _check_per_replica(net, self.tasks)
        for t in self.tasks:
            _check_fits(net, t)
        if not initialized:
            initialize(net, self.seeds, config.init, config.init_scale, path=config.init_file)
        self.error = make_error(config.error, config)
        self.report = make_error(config.report, config)
        for t in self.tasks:
            self.error.check_targets(t.targets, t.care, f"targets of task {t.name!r}")
        for e in (self.error, self.report):
            check_error_fits(net, e)
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
        self.order_rngs = (
            [rng_for(s, "order") for s in self.seeds] if config.order == "shuffled" else None
        )
        self.sweep = 0
        #: The loop's bookkeeping; ``None`` until :meth:`train` starts (or a checkpoint is loaded).
        self.loop: LoopState | None = None
        #: False while a sweep is half done: a checkpoint taken then could not resume exactly.
        self.resumable = True
        self._stop_requested = False

    @property
    def mid(self) -> float:
        """The midpoint of the coded targets (:attr:`TrainConfig.mid`)."""
        return self.config.mid

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
            X, D, care = (self._gather(a, idx) for a in (self.X, self.D, self.care))
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
        """Train until every replica has stopped or ``max_sweeps`` sweeps are done.

        Continues where the loop stands (:attr:`loop`, e.g. restored from a
        checkpoint). A first Ctrl-C finishes the sweep in progress and returns
        the result so far, marked ``interrupted`` (and the trainer stays
        :attr:`resumable`); a second one interrupts at once.
        """
        kernel = fast.make(self) if self.use_fast else None
        if kernel is not None:
            return fast.train(self, kernel, progress)
        cfg, R = self.config, self.net.replicas
        every = cfg.history_every
        loop = self._start_loop()
        notes = loop.notes
        interrupted = False
        try:
            with _finish_sweep_on_ctrl_c(self):
                while self.sweep < cfg.max_sweeps and loop.active.any():
                    if self._stop_requested:
                        interrupted = True
                        break
                    self.resumable = False
                    s = self.sweep
                    # non-finite values are detected below and reported as divergence, not warned
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        reported, solved_now = self.run_sweep(loop.active)
                        finite = np.isfinite(reported) & self._finite_params()
                    active = loop.active
                    if s % every == 0:
                        loop.history[:, s // every] = np.where(active, reported, np.nan)
                    loop.sweeps[active] = s + 1
                    newly = active & solved_now & (loop.first_solved < 0)
                    loop.first_solved[newly] = s + 1
                    bad = active & ~finite
                    if bad.any():
                        loop.diverged |= bad
                        notes.append(self._divergence_note(s + 1, bad, reported))
                        active &= ~bad
                        if not active.any() and R == 1:
                            self.resumable = True
                            raise DivergenceError(notes[-1])
                    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                        done = self._stop_rule(reported)
                    loop.stopped |= active & done
                    active &= ~done
                    self.resumable = True
                    if progress is not None:
                        progress(self.sweep, cfg.max_sweeps, int(active.sum()))
        except KeyboardInterrupt:
            interrupted = True
        return self._result(interrupted)

    def _start_loop(self) -> LoopState:
        """The loop state a run continues (a fresh one on the first run), with history
        columns for ``max_sweeps``; clears a pending stop request."""
        columns = history_columns(self.config.max_sweeps, self.config.history_every)
        if self.loop is None:
            self.loop = LoopState.fresh(self.net.replicas, columns)
        self.loop.ensure_columns(columns)
        self._stop_requested = False
        return self.loop

    def _result(self, interrupted: bool) -> TrainResult:
        """The run's result: copies of the loop state, and the final weights evaluated."""
        cfg, loop = self.config, self.loop
        assert loop is not None
        notes = list(loop.notes)
        if interrupted:
            notes.append(f"interrupted at sweep {self.sweep}"
                         + ("" if self.resumable else " (in the middle of a sweep)"))
        with np.errstate(all="ignore"):
            final_error, final_out = self.evaluate()
        solved = within(final_out, self.D, self.care, cfg.solve_margin, self.mid) & ~loop.diverged
        return TrainResult(
            history=loop.history[:, : history_columns(self.sweep, cfg.history_every)].copy(),
            sweeps=loop.sweeps.copy(), stopped=loop.stopped.copy(), solved=solved,
            first_solved=loop.first_solved.copy(), final_error=final_error,
            final_outputs=final_out, diverged=loop.diverged.copy(),
            interrupted=interrupted, history_every=cfg.history_every, notes=notes,
        )

    def request_stop(self) -> None:
        """Ask :meth:`train` to stop after the sweep in progress (what a first Ctrl-C does)."""
        self._stop_requested = True

    def _finite_params(self) -> Array:
        """Per replica ``(R,)``: every weight and bias is finite.

        One sum per array decides the usual case (a sum of finite numbers far below
        the float maximum is finite); only when it is not are replicas told apart.
        """
        params = self.net.params.values()
        if np.isfinite(sum(float(w.sum()) for w in params)):
            return np.ones(self.net.replicas, dtype=bool)
        ok = np.ones(self.net.replicas, dtype=bool)
        for w in params:
            ok &= np.isfinite(w.reshape(w.shape[0], -1)).all(axis=1)
        return ok

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

    def _divergence_note(self, sweep: int, bad: Array, reported: Array) -> str:
        """Name the sweep, the replica, the group where values stopped being finite, a cause."""
        r = int(np.flatnonzero(bad)[0])
        net = self.net
        where = _first_nonfinite_group(net, r)
        if where is not None:
            group, what = where
        else:
            # weights finite: the error itself overflowed; find the group whose values did
            with np.errstate(all="ignore"):
                activity = net.forward(self.X)  # x, y: (R, N, n)
            group, what = None, f"the {self.report.name} error is {reported[r]}"
            for g in net.groups:
                if g.is_input:
                    continue
                x, y = activity.x[g.name][r], activity.y[g.name][r]
                if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
                    group, what = g.name, "its net inputs or outputs are not finite"
                    break
            if group is None:
                size = {n: float(np.max(np.abs(activity.y[n][r]))) for n in net.outputs}
                group = max(size, key=size.__getitem__)
                what += f" (its outputs reach {size[group]:.3g})"
        others = int(bad.sum()) - 1
        lr = self.lr(sweep - 1)
        return (
            f"training diverged at sweep {sweep} (replica {r}, seed {self.seeds[r]}"
            + (f"; and {others} more replica{'s' if others > 1 else ''}" if others else "")
            + f") in group {group!r}: {what}; likely cause: the learning rate {lr:g} is too "
            f"large for this network and the {self.error.name} error (try --set lr={lr / 10:g})"
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
        return arrays[0].astype(dtype, copy=False)  # the task's own array when it has the dtype
    return np.stack(arrays).astype(dtype, copy=False)


def _check_per_replica(net: Network, tasks: list[Task]) -> None:
    if len(tasks) not in (1, net.replicas):
        raise ShapeError(
            f"got {len(tasks)} tasks for {net.replicas} replicas; expected 1 or one per replica"
        )
    sizes = {t.n_cases for t in tasks}
    if len(sizes) > 1:
        raise ShapeError(
            f"per-replica tasks must have the same number of cases, got {sorted(sizes)}"
        )


@contextmanager
def _finish_sweep_on_ctrl_c(trainer: Trainer) -> Iterator[None]:
    """While training: a first Ctrl-C asks the loop to stop after the sweep in progress.

    Only in the main thread and only when SIGINT has Python's default handler;
    the handler restores the previous one at once, so a second Ctrl-C raises
    KeyboardInterrupt immediately.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return

    def handler(signum: int, frame: object) -> None:
        trainer.request_stop()
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _param_groups(net: Network, name: str) -> list[str]:
    """The groups a parameter array feeds: the targets of its projections, or a bias's group."""
    if name.startswith("b:"):
        return [name[2:]]
    return list(dict.fromkeys(p.target for p in net.projections if p.param == name))


def _first_nonfinite_group(net: Network, r: int) -> tuple[str, str] | None:
    """The first group (in topological order) fed by a non-finite weight of replica ``r``."""
    bad = {name for name, w in net.params.items() if not np.all(np.isfinite(w[r]))}
    if not bad:
        return None
    for g in net.groups:
        names = [n for n in bad if g.name in _param_groups(net, n)]
        if names:
            return g.name, (
                f"its weights {', '.join(sorted(names))} became non-finite "
                "(a non-finite gradient, or an update that overflowed)"
            )
    return None  # pragma: no cover - every parameter feeds a group


def _check_fits(net: Network, task: Task) -> None:
    if task.n_inputs != net.n_inputs or task.n_outputs != net.n_outputs:
        raise ShapeError(
            f"task {task.name!r} has {task.n_inputs} inputs and {task.n_outputs} outputs, "
            f"but the network expects {net.n_inputs} inputs and {net.n_outputs} outputs"
        )


def check_error_fits(net: Network, error: ErrorFunction) -> None:
    """Cross-entropy is defined for outputs in (0, 1): logistic units or a softmax group."""
    if not isinstance(error, CrossEntropy):
        return
    for name in net.outputs:
        act = net.group(name).activation
        if act not in ("logistic", "softmax"):
            raise ConfigError(
                f"the cross_entropy error needs logistic or softmax output units, but output "
                f"group {name!r} is {act}; use error = sse (or another) for {act} outputs"
            )

