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

from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.engine import Engine, choose, within
from backprop86.engine.select import check as check_engine
from backprop86.errors import ConfigError, DivergenceError, ShapeError
from backprop86.functions import (
    CrossEntropy,
    DeadZone,
    ErrorFunction,
    activation,
    error_function,
)
from backprop86.history import HistoryPlan, history_columns
from backprop86.init import check_seeds, initialize, rng_for
from backprop86.network import Network, slot_group
from backprop86.optim import Optimizer, Schedule, make_optimizer
from backprop86.resources import check, run_estimate
from backprop86.tasks.base import Task
from backprop86.threads import choose as choose_threads
from backprop86.threads import limited

#: Called after every sweep with (sweeps done, max sweeps, replicas still training).
Progress = Callable[[int, int, int], None]


@dataclass
class TrainResult:
    """What a training run measured, one entry per replica.

    ``history``: reported error ``(R_kept, K)`` at the sweeps ``history_sweeps`` ``(K,)``
    (0-based: column ``k`` is the error of sweep ``history_sweeps[k] + 1``) of the
    replicas ``history_replicas`` (``None``: all, ``R_kept = R``) — with the default
    history (:mod:`backprop86.history`) every ``history_every`` sweeps of every replica,
    column ``k`` sweep ``k · history_every``. A read-only view of the trainer's record,
    handed over without a copy. ``sweeps``:
    sweeps trained; ``stopped``: the stopping rule was met; ``solved``: the final
    weights solve the task; ``first_solved``: the first sweep (1-based) whose
    measured outputs solved the task, −1 if none; ``final_error``: reported error
    of the final weights; ``diverged``: training produced a non-finite value;
    ``engine``: the engine that trained (:mod:`backprop86.engine`) and ``why_not``
    the reason a faster one was not used (``None``: none faster fits the run).
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
    engine: str = "readable"
    why_not: str | None = None
    history_sweeps: Array | None = None
    history_replicas: Array | None = None

    def __post_init__(self) -> None:
        if self.history_sweeps is None:  # every recorded sweep, as the default history
            self.history_sweeps = np.arange(self.history.shape[1]) * self.history_every


@dataclass
class LoopState:
    """Where a run stands between two sweeps: what a checkpoint keeps besides weights.

    ``history`` ``(R_kept, K)``: the kept replicas' reported error at the ``"every"``
    columns ``kept`` ``(K,)`` (sorted; column ``c`` is sweep ``c · every``, NaN until
    recorded); ``active``, ``stopped``, ``diverged`` ``(R,)`` booleans; ``sweeps``,
    ``first_solved`` ``(R,)`` integers; ``notes`` in words.
    """

    history: Array
    active: Array
    sweeps: Array
    stopped: Array
    diverged: Array
    first_solved: Array
    notes: list[str] = field(default_factory=list)
    kept: Array | None = None

    def __post_init__(self) -> None:
        if self.kept is None:  # every column, as the default history
            self.kept = np.arange(self.history.shape[1], dtype=np.int64)

    @classmethod
    def fresh(cls, replicas: int, kept: Array, rows: int | None = None) -> LoopState:
        """A run not started: ``replicas`` replicas, history columns ``kept`` of ``rows``
        replicas (all by default)."""
        rows = replicas if rows is None else rows
        return cls(
            history=np.full((rows, kept.size), np.nan),
            active=np.ones(replicas, dtype=bool),
            sweeps=np.zeros(replicas, dtype=np.int64),
            stopped=np.zeros(replicas, dtype=bool),
            diverged=np.zeros(replicas, dtype=bool),
            first_solved=np.full(replicas, -1, dtype=np.int64),
            kept=np.asarray(kept, dtype=np.int64),
        )

    def recorded(self, sweep: int, every: int) -> int:
        """History columns recorded after ``sweep`` sweeps: those of sweeps ``c · every <
        sweep``, i.e. ``c < ⌈sweep / every⌉`` (called twice a block: nothing allocated)."""
        assert self.kept is not None
        return int(np.searchsorted(self.kept, history_columns(sweep, every)))

    def keep_columns(self, kept: Array) -> None:
        """Hold the columns ``kept`` (sorted): a column kept before keeps its numbers, a new
        one starts NaN (no copy when nothing changes)."""
        assert self.kept is not None
        if np.array_equal(kept, self.kept):
            return
        history = np.full((self.history.shape[0], kept.size), np.nan)
        _, new, old = np.intersect1d(kept, self.kept, assume_unique=True, return_indices=True)
        history[:, new] = self.history[:, old]
        self.history, self.kept = history, np.asarray(kept, dtype=np.int64)


def make_error(name: str, config: TrainConfig) -> ErrorFunction:
    """The error function ``name`` with the config's dead-zone margins."""
    if name == "dead_zone":
        return DeadZone(*config.dead_zone)
    return error_function(name)


class Trainer:
    """Trains ``net`` (all its replicas) on ``task`` with ``config``.

    ``seeds[r]`` drives replica ``r``'s initial weights (unless ``initialized``)
    and its pattern order, so replica ``r`` equals a single run with seed ``r``.
    ``task`` may also be a sequence of ``R`` tasks of equal size, one per replica
    (each replica its own train/test split): their cases are stacked into
    ``(R, N, n)`` arrays.

    :meth:`train` is the one training loop; an engine (:mod:`backprop86.engine`,
    chosen by ``config.engine``) computes the sweeps. The trainer is the engines'
    :class:`~backprop86.engine.base.Setup`: they read its data, error functions,
    optimizer and schedules.

    ``history`` (``"every"``, ``"log"`` or ``"none"``) and ``history_replicas``
    choose what the error history keeps (:mod:`backprop86.history`); they change what is
    written down, never the training.
    """

    def __init__(
        self,
        net: Network,
        task: Task | Sequence[Task],
        config: TrainConfig,
        seeds: Sequence[int],
        *,
        initialized: bool = False,
        history: str = "every",
        history_replicas: Sequence[int] | Array | None = None,
    ) -> None:
        self.net, self.config = net, config
        #: What the error history keeps (:mod:`backprop86.history`).
        self.history = HistoryPlan.make(history, config.history_every, history_replicas,
                                        net.replicas)
        given = [task] if isinstance(task, Task) else list(task)
        check_memory(net, given, config, self.history)
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
            check_targets_reachable(net, t, config)
        for e in (self.error, self.report):
            check_error_fits(net, e)
        self.lr = Schedule(config.lr, config.lr_schedule)
        self.momentum = Schedule(config.momentum, config.momentum_schedule)
        self.optimizer: Optimizer = make_optimizer(
            config.optimizer, net.params, decay=config.decay, decay_mode=config.decay_mode,
            decay_biases=config.decay_biases,
            adam=(config.adam_beta1, config.adam_beta2, config.adam_eps),
            bias_max=config.bias_max,
        )
        self.optimizer.constrain(net.params)  # a constraint (bias_max) holds from the start
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
        check_engine(self, config.engine)  # an engine that cannot train the run: say so now
        self.sweep = 0
        #: The engine of the latest :meth:`train` and why a faster one was not used.
        self.engine: Engine | None = None
        self.why_not: str | None = None
        #: BLAS and numba threads of the last :meth:`train` (``None``: left as they were)
        self.threads: int | None = None
        #: The loop's bookkeeping; ``None`` until :meth:`train` starts (or a checkpoint is loaded).
        self.loop: LoopState | None = None
        #: False while a sweep is half done: a checkpoint taken then could not resume exactly.
        self.resumable = True
        self._stop_requested = False

    @property
    def mid(self) -> float:
        """The midpoint of the coded targets (:attr:`TrainConfig.mid`)."""
        return self.config.mid

    @property
    def n_cases(self) -> int:
        """Cases per sweep ``N``."""
        return self.task.n_cases

    def evaluate(self) -> tuple[Array, Array]:
        """Reported error ``(R,)`` and outputs ``(R, N, n_out)`` of the current weights."""
        activity = self.net.forward(self.X)
        return self.net.error(activity, self.D, self.report, self.care), self.net.output(activity)

    # ------------------------------------------------------------------ the loop

    def train(self, progress: Progress | None = None) -> TrainResult:
        """Train until every replica has stopped or ``max_sweeps`` sweeps are done.

        The engine (:mod:`backprop86.engine`; ``config.engine``) computes blocks
        of sweeps; this loop keeps the run's books after each block, vectorised
        over its sweeps: history, first solved sweep, divergence, stopping rules.
        If a replica diverges or stops at sweep ``j < k − 1`` of a block of ``k``,
        the engine rewinds the block and replays ``j + 1`` sweeps only, so the
        result is that of sweep-by-sweep training. Weights that stop being finite
        stay so (``inf`` and ``NaN`` are absorbing under ``w += Δw``), so one check
        at the end of a block finds whether it happened.

        Continues where the loop stands (:attr:`loop`, e.g. restored from a
        checkpoint). A first Ctrl-C finishes the sweep in progress and returns
        the result so far, marked ``interrupted`` (and the trainer stays
        :attr:`resumable`); a second one interrupts at once.
        """
        choice = choose(self, self.config.engine)
        engine = self.engine = choice.engine
        self.why_not = choice.why_not
        cfg, R = self.config, self.net.replicas
        loop = self._start_loop()
        notes = loop.notes
        interrupted = False
        stop = self._stop_is_requested
        # a block's bookkeeping, (sweeps, R): allocated once per run
        bad_rows, done_rows, event_rows = (np.empty((engine.block, R), bool) for _ in range(3))
        # BLAS and numba threads: one per core free now (backprop86.threads), or as fixed
        work = self.n_cases * sum(int(w.size) for w in self.net.params.values())
        self.threads = choose_threads(work)
        try:
            with _finish_sweep_on_ctrl_c(self), limited(self.threads):
                length = engine.block
                while self.sweep < cfg.max_sweeps and loop.active.any():
                    if self._stop_requested:
                        interrupted = True
                        break
                    self.resumable = False
                    s0 = self.sweep
                    k = min(length, cfg.max_sweeps - s0)
                    saved = engine.save() if k > 1 else None
                    engine.begin_block(loop.active)
                    try:
                        with _quiet():
                            k = engine.sweeps(s0, k, stop=stop)
                            reported, solved_now = engine.measures(k)
                            bad, done = self._events(engine, reported, bad_rows, done_rows)
                            params_ok = engine.finite_params()
                        event = np.logical_or(bad, done, out=event_rows[:k])
                        event &= loop.active
                        rows = np.flatnonzero(event.any(axis=1))
                        last = int(rows[0]) if rows.size else k - 1
                        if k > 1 and not params_ok[loop.active].all():  # the sweep they broke at
                            engine.restore(saved)
                            with _quiet():
                                last = min(last, engine.sweeps(s0, k, until_nonfinite=True) - 1)
                        length = min(engine.block, 2 * (last + 1))  # shorter after an event
                        if last < k - 1:  # rewind and replay up to the first event
                            engine.restore(saved)
                            with _quiet():
                                k = engine.sweeps(s0, last + 1)
                                params_ok = engine.finite_params()
                            reported, solved_now = reported[:k], solved_now[:k]
                            bad, done = bad[:k], done[:k]
                    except KeyboardInterrupt:
                        if saved is not None:
                            engine.restore(saved)
                            engine.store()
                            self.resumable = True
                        raise
                    self.sweep = s0 + k
                    self._book(s0, k, reported, solved_now)
                    active = loop.active
                    bad_now = active & (bad[-1] | ~params_ok)
                    if bad_now.any():
                        engine.store()
                        loop.diverged |= bad_now
                        notes.append(self._divergence_note(s0 + k, bad_now, reported[-1]))
                        active &= ~bad_now
                        if not active.any() and R == 1:
                            self.resumable = True
                            raise DivergenceError(notes[-1])
                    loop.stopped |= active & done[-1]
                    active &= ~done[-1]
                    self.resumable = True
                    if progress is not None:
                        engine.store()
                        progress(self.sweep, cfg.max_sweeps, int(active.sum()))
        except KeyboardInterrupt:
            interrupted = True
        engine.store()
        with limited(self.threads):  # the final evaluation's products too
            return self._result(interrupted)

    def _events(self, engine: Engine, reported: Array, bad: Array, done: Array
                ) -> tuple[Array, Array]:
        """Per sweep of the block ``(k, R)``: the reported error is not finite, and the
        stopping rule is met (tested after each sweep's update, as the handbook's ``bp``)."""
        cfg, k = self.config, reported.shape[0]
        bad = np.isfinite(reported, out=bad[:k])
        np.logical_not(bad, out=bad)
        done = done[:k]
        if cfg.ecrit is not None:
            np.less(reported, cfg.ecrit, out=done)
        else:
            done.fill(False)
        if cfg.stop_margin is not None:
            done |= engine.stopped_by_margin(k)
        return bad, done

    def _book(self, s0: int, k: int, reported: Array, solved: Array) -> None:
        """Record sweeps ``s0 … s0 + k − 1`` of the training replicas: history, sweeps
        done, first solved sweep (``reported`` and ``solved`` ``(k, R)``)."""
        loop, plan = self.loop, self.history
        assert loop is not None
        active = loop.active
        lo, hi = loop.recorded(s0, plan.every), loop.recorded(s0 + k, plan.every)
        if hi > lo:  # the block's sweeps that the history keeps
            kept = loop.history[:, lo:hi]
            if plan.mode == "every":
                rows = reported[-s0 % plan.every::plan.every]
            else:
                assert loop.kept is not None
                rows = reported[loop.kept[lo:hi] * plan.every - s0]
            if plan.replicas is None:
                np.copyto(kept, rows.T)
                if not active.all():
                    kept[~active] = np.nan
            else:
                np.copyto(kept, rows[:, plan.replicas].T)
                kept[~active[plan.replicas]] = np.nan
        loop.sweeps[active] = s0 + k
        hit = solved & active & (loop.first_solved < 0)
        newly = hit.any(axis=0)
        if newly.any():  # the block's first solved sweep of those (few) replicas
            loop.first_solved[newly] = s0 + np.argmax(hit[:, newly], axis=0) + 1

    def _start_loop(self) -> LoopState:
        """The loop state a run continues (a fresh one on the first run), with history
        columns for ``max_sweeps``; clears a pending stop request."""
        plan, max_sweeps = self.history, self.config.max_sweeps
        if self.loop is None:
            self.loop = LoopState.fresh(self.net.replicas, plan.columns(max_sweeps),
                                        plan.rows(self.net.replicas))
        else:
            assert self.loop.kept is not None
            self.loop.keep_columns(plan.grown(self.loop.kept, self.sweep, max_sweeps))
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
        recorded = loop.recorded(self.sweep, cfg.history_every)
        history = loop.history[:, :recorded]  # handed over as a read-only view, not copied
        history.flags.writeable = False
        assert loop.kept is not None
        return TrainResult(
            history=history, history_sweeps=loop.kept[:recorded] * cfg.history_every,
            history_replicas=(None if self.history.replicas is None
                              else self.history.replicas.copy()),
            sweeps=loop.sweeps.copy(), stopped=loop.stopped.copy(), solved=solved,
            first_solved=loop.first_solved.copy(), final_error=final_error,
            final_outputs=final_out, diverged=loop.diverged.copy(),
            interrupted=interrupted, history_every=cfg.history_every, notes=notes,
            engine=self.engine.name if self.engine is not None else "readable",
            why_not=self.why_not,
        )

    def request_stop(self) -> None:
        """Ask :meth:`train` to stop after the sweep in progress (what a first Ctrl-C does)."""
        self._stop_requested = True

    def _stop_is_requested(self) -> bool:
        return self._stop_requested

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
            for slot, x in activity.x.items():  # groups (and steps) in the order computed
                y = activity.y[slot]
                if not (np.all(np.isfinite(x[r])) and np.all(np.isfinite(y[r]))):
                    group, what = slot_group(slot), "its net inputs or outputs are not finite"
                    if not isinstance(slot, str):
                        what = f"at step {slot[1]} {what}"
                    break
            if group is None:
                size = {n: float(np.max(np.abs(activity.y[n][r]))) for n in net.output_slots}
                top = max(size, key=size.__getitem__)
                group = slot_group(top)
                what += f" (its outputs reach {size[top]:.3g})"
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
    history: str = "every",
    history_replicas: Sequence[int] | Array | None = None,
) -> TrainResult:
    """Train ``net`` on ``task``; replica ``r`` uses ``seeds[r]``. See :class:`Trainer`."""
    return Trainer(net, task, config, seeds, initialized=initialized, history=history,
                   history_replicas=history_replicas).train(progress)


def _stacked(arrays: list[Array], dtype: np.dtype) -> Array:
    """One task's ``(N, n)`` array, or the per-replica tasks' arrays stacked to ``(R, N, n)``."""
    if len(arrays) == 1:
        return arrays[0].astype(dtype, copy=False)  # the task's own array when it has the dtype
    return np.stack(arrays).astype(dtype, copy=False)


def check_memory(net: Network, tasks: Sequence[Task], config: TrainConfig,
                 history: HistoryPlan | None = None) -> None:
    """Refuse, in one line, a run whose history, optimizer state, activations and records
    would not fit in memory (:mod:`backprop86.resources`), before any of them is made."""
    if not tasks:
        return
    first = tasks[0]
    units = net.history_units
    params = sum(int(w.size) for w in net.params.values()) // net.replicas
    estimate = run_estimate(
        replicas=net.replicas, cases=first.n_cases, inputs=first.n_inputs,
        outputs=first.n_outputs, units=units, params=params, settings=config,
        per_replica_cases=len(tasks) > 1,
        history=None if history is None else (
            history.rows(net.replicas), history.count(config.max_sweeps)),
    )
    check(estimate, f"training {net.replicas:,} replica{'s' * (net.replicas != 1)}",
          {"replicas": "the replicas"})


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


def _quiet() -> np.errstate:
    """Non-finite values are detected by the loop and reported as divergence, not warned."""
    return np.errstate(over="ignore", invalid="ignore", divide="ignore")


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


def check_targets_reachable(net: Network, task: Task, config: TrainConfig) -> None:
    """Refuse, in one line, targets no output unit can give: a coded target (``task`` coded
    with ``config.targets``) outside its output group's range (logistic and softmax
    ``[0, 1]``, tanh ``[−1, 1]``, ReLU ``≥ 0``) can never be met, so no seed could solve."""
    d = task.targets if task.care is None else np.where(task.care > 0, task.targets, np.nan)
    start = 0
    for name in net.outputs:
        group = net.group(name)
        lo, hi = activation(group.activation).output_range
        part = d[:, start:start + group.size]
        start += group.size
        counted = part[np.isfinite(part)]
        if counted.size and (counted.min() < lo or counted.max() > hi):
            low, high = config.targets
            raise ConfigError(
                f"targets {low:g} and {high:g} code task {task.name!r} with values in "
                f"[{counted.min():g}, {counted.max():g}], but output group {name!r} is "
                f"{group.activation}, whose outputs lie in [{lo:g}, {hi:g}]: no seed could "
                f"reach them; use targets within that range (e.g. --set targets="
                f"{max(lo, 0.0):g},{min(hi, 1.0):g})")


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

