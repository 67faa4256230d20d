"""The blocked engines' shared machinery: a chain's layers, flat parameters, recorded programs.

The readable engine (:mod:`backprop86.engine.readable`) makes a new array for
every intermediate and the loop's bookkeeping after every sweep. The engines
built on :class:`BlockEngine` train the common case, a *chain* of groups (an
MLP) trained by gradient descent (eqs. 8–9), with

* **preallocated buffers** and in-place ``out=`` operations: an update allocates
  nothing (the weights and the momentum state ``Δw`` are updated in place);
* **blocks of sweeps**: the outputs of every sweep are written straight into a
  block record, and the reported error and "solved" flags of the block are
  computed once, vectorised over its sweeps (by the readable engine's own
  functions, or in the replica-last layout by the same formulas summed there).
  The training loop rewinds (:meth:`BlockEngine.save`, :meth:`BlockEngine.restore`)
  and replays a block that a replica stopped or diverged in, so the result is
  that of sweep-by-sweep training.

The engines: :class:`~backprop86.engine.numpy_first.NumpyFirst` (the readable
layout, bit for bit), :class:`~backprop86.engine.numpy_last.NumpyLast` (replicas
last, for many tiny networks), and their compiled variants
:class:`~backprop86.engine.compiled_first.CompiledFirst` and
:class:`~backprop86.engine.compiled_last.CompiledLast` (numba).

Notation: ``W[i]`` is layer ``i``'s weights ``(R, n_in, n_out)`` (replica-first) or
``(n_in, n_out, R)`` (replica-last); its element ``[r, i, j]`` is the paper's
``w_ji``, from unit ``i`` below to unit ``j`` above (:mod:`backprop86.network`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from backprop86.arrays import Array
from backprop86.engine.base import Engine, Setup, within
from backprop86.network import Network, bias_param

#: Most sweeps per block. After a block is cut short by a replica that stops, the next
#: block is at most twice as long as the part kept, so runs where replicas stop often
#: replay little.
BLOCK = 64

#: From this many replicas on, the compiled replica-last engine runs on all of numba's threads.
PARALLEL_MIN = 1000

@dataclass(frozen=True)
class Layer:
    """One projection of the chain and the group it feeds: ``x = y_in @ W (+ b)``, ``y = f(x)``."""

    weight: str
    bias: str | None
    activation: str
    n_in: int
    n_out: int


def chain_layers(net: Network) -> list[Layer] | None:
    """The network as a list of layers, or ``None`` when it is not a plain chain."""
    groups = net.groups
    if len(net.inputs) != 1 or groups[0].name != net.inputs[0]:
        return None
    if net.outputs != (groups[-1].name,) or len(net.projections) != len(groups) - 1:
        return None
    layers = []
    for src, tgt, p in zip(groups, groups[1:], net.projections, strict=False):
        if p.source != src.name or p.target != tgt.name or p.mask is not None:
            return None
        if net.tie_counts[p.param] != 1:
            return None
        layers.append(Layer(p.param, bias_param(tgt.name) if tgt.bias else None,
                            str(tgt.activation), src.size, tgt.size))
    return layers



# ----------------------------------------------------------------------------
# The base of the blocked engines: one sweep of updates, recording each chunk's outputs
# ----------------------------------------------------------------------------

#: Bytes of output records a block may hold; fewer sweeps per block when one sweep's are large.
RECORD_BYTES = 8 << 20

#: Bytes of per-sweep bookkeeping a block may hold — each replica's reported error, solved
#: and stopping flags and their scratch, about :data:`BOOK_PER_REPLICA` bytes a sweep — so
#: that a batch of a million networks keeps short blocks instead of 64 sweeps × 48 MB.
BOOK_BYTES = 32 << 20
BOOK_PER_REPLICA = 48


class BlockEngine(Engine):
    """Trains sweeps with preallocated buffers; records outputs for the block's bookkeeping.

    ``record_y[k, c]`` holds the outputs ``(R, B, n_out)`` of chunk ``c`` (one
    update) of the block's ``k``-th sweep, computed before that update;
    ``record_x`` the output group's net inputs (when the reported error needs
    them), ``record_d`` the chunk's targets; ``tail_*`` the same for a last,
    shorter chunk. Weights, ``Δw`` and gradients each live in one flat array
    (:attr:`P`, :attr:`S`, :attr:`G`), so eqs. (8)–(9) are a few operations for
    all parameters at once; ``net.params`` and the optimizer's ``Δw`` are views
    of them (replica-first) or copies written back by :meth:`store` (replica-last).
    """

    unit_axis = -1

    def __init__(self, setup: Setup) -> None:
        super().__init__(setup)
        self.net: Network = setup.net
        self.cfg = cfg = setup.config
        self.layers = chain_layers(self.net)
        assert self.layers is not None
        self.R = R = self.net.replicas
        self.dtype = dt = self.net.dtype
        self.N = setup.n_cases
        size = {"sweep": self.N, "pattern": 1, "minibatch": cfg.batch_size}[cfg.grain]
        self.B = min(size, self.N)
        self.full = self.N // self.B  # chunks of B cases per sweep …
        self.tail = self.N - self.full * self.B  # … and one of `tail` cases, if not 0
        n_out = self.layers[-1].n_out
        keeps = self._keeps_records()
        recorded = self.B if keeps else 0  # cases recorded per chunk
        per_sweep = R * self.N * n_out * dt.itemsize if keeps else 0
        # no longer than the sweeps this call trains: a run continued near its end (a
        # checkpoint, the web page's chunks) does not set up a whole block it never uses
        left = cfg.max_sweeps - getattr(setup, "sweep", 0)
        self.block = max(1, min(self._longest_block(per_sweep), left))
        rows = self.block + (1 if cfg.stop_margin is not None else 0)
        self.record_y = np.empty((rows, self.full, *self._record_shape(recorded)), dt)
        self.tail_y = np.empty((rows, *self._record_shape(self.tail)), dt)
        wants_x = setup.report.name == "cross_entropy"
        self.record_x = np.empty_like(self.record_y) if wants_x else None
        self.tail_x = np.empty_like(self.tail_y) if wants_x else None
        if cfg.order == "sequential":  # every sweep's chunks have the same targets
            self.record_d, self.tail_d = self._target_records(setup.D)
        else:
            self.record_d = np.empty_like(self.record_y)
            self.tail_d = np.empty_like(self.tail_y)
        self.two = dt.type(2.0)
        self.zero = dt.type(0.0)
        self.rates: tuple[float, float] | None = None
        # ε, α and −ε of the sweep as 0-d arrays in the weights' dtype, read by the programs
        self.eps, self.alpha, self.neps = (np.zeros((), dt) for _ in range(3))
        #: Δw is in :attr:`G` (not :attr:`S`) after a step without momentum
        self.dw_in_G = False

    def _keeps_records(self) -> bool:
        """Whether a block records its outputs (a subclass that measures the block's error
        itself may not): when it does, their size bounds the block's length."""
        return True

    def _longest_block(self, per_sweep: int) -> int:
        """Most sweeps per block when one sweep records ``per_sweep`` bytes of outputs:
        :data:`BLOCK`, fewer when a block's records would pass :data:`RECORD_BYTES` or its
        per-sweep bookkeeping :data:`BOOK_BYTES`."""
        return min(BLOCK, RECORD_BYTES // max(per_sweep, 1),
                   BOOK_BYTES // (self.R * BOOK_PER_REPLICA))

    # ------------------------------------------------------------------ parameters

    def _flat(self, shapes: list[tuple[str, tuple[int, ...]]], replica_axis: int) -> list:
        """Allocate :attr:`P`, :attr:`S`, :attr:`G` and return ``(w, Δw, ∂E/∂w)`` views per name.

        ``replica_axis`` is where the replica axis sits in each view (0 or -1).
        """
        dt, total = self.dtype, sum(int(np.prod(s)) for _, s in shapes)
        self.P, self.S, self.G = (np.empty(total, dt) for _ in range(3))
        self.saved_P, self.saved_S = np.empty(total, dt), np.empty(total, dt)  # see save()
        replica = np.empty(total, np.intp)  # the replica of each flat element
        decayed_names = set(self.setup.optimizer.decayed) if self.cfg.decay else set()
        decayed = np.zeros(total, bool)
        views, start = [], 0
        for name, shape in shapes:
            size = int(np.prod(shape))
            seg = slice(start, start + size)
            views.append(tuple(a[seg].reshape(shape) for a in (self.P, self.S, self.G)))
            idx = np.arange(self.R).reshape([-1 if ax == replica_axis % len(shape) else 1
                                             for ax in range(len(shape))])
            replica[seg] = np.broadcast_to(idx, shape).ravel()
            decayed[seg] = name in decayed_names
            start += size
        self.replica, self.decayed = replica, decayed
        l2 = self.cfg.decay and self.cfg.decay_mode == "l2"
        self.l2 = [(w, g, np.empty_like(w)) for (name, _), (w, _, g) in zip(shapes, views,
                                                                          strict=True)
                   if l2 and name in decayed_names]
        self.decay = dt.type(self.cfg.decay)
        return views

    def begin_block(self, active: Array) -> None:
        """Masks of a block: frozen replicas' ``Δw`` and the shrink factor of decayed weights."""
        self.active = active
        all_active = bool(active.all())
        self.mask = None if all_active else active[self.replica]
        if self.cfg.decay and self.cfg.decay_mode == "shrink":
            keep = self.decayed & active[self.replica]
            self.shrink = np.where(keep, 1.0 - self.cfg.decay, 1.0)
        else:
            self.shrink = None
        self._build_step()

    def set_rates(self, lr: float, momentum: float) -> None:
        """ε and α of this sweep, in the weights' dtype, as :meth:`GradientDescent.step` has."""
        if self.rates == (lr, momentum):
            return
        if momentum != 0.0 and self.dw_in_G:  # eq (9) needs Δw(t−1) where it keeps it
            np.copyto(self.S, self.G)
            self.dw_in_G = False
        self.rates = (lr, momentum)
        self.eps[...] = lr
        self.alpha[...] = momentum
        self.neps[...] = -float(lr)
        self._rates_changed()

    def _rates_changed(self) -> None:
        self._build_step()

    def _build_step(self) -> None:
        """Eqs. (8)–(9) for every parameter at once, as :class:`GradientDescent` computes them,
        into the program :attr:`step` (rebuilt when the rates or the block's masks change).

        Without momentum ``Δw = −ε ∂E/∂w`` is computed in the gradient buffer
        :attr:`G` itself (one array less to stream through memory).
        """
        if self.rates is None:
            return
        S, G = self.S, self.G
        ops: Program = []
        for w, g, tmp in self.l2:  # L2 decay: ∂E/∂w + decay · w
            ops += [(np.multiply, (self.decay, w, tmp)), (np.add, (g, tmp, g))]
        if self.rates[1] == 0.0:
            dw = G
            ops.append((np.multiply, (G, self.neps, G)))  # eq (8): Δw = -ε ∂E/∂w
        else:
            dw = S
            ops += [(np.multiply, (S, self.alpha, S)),  # eq (9): α Δw(t-1) …
                    (np.multiply, (self.eps, G, G)), (np.subtract, (S, G, S))]  # … - ε ∂E/∂w
        self.step = ops + self._apply_step(dw)

    def _apply_step(self, dw: Array) -> Program:
        """``w ← w + Δw`` for the active replicas, then the paper's multiplicative decay."""
        ops: Program = []
        if self.mask is not None:
            ops.append((np.multiply, (dw, self.mask, dw)))  # stopped replicas stay frozen
        ops.append((np.add, (self.P, dw, self.P)))  # eq (8): w ← w + Δw
        if self.shrink is not None:
            ops.append((np.multiply, (self.P, self.shrink, self.P)))  # the paper's decay
        return ops

    # ------------------------------------------------------------------ the arithmetic, as programs
    #
    # An update is recorded once as a *program*: a list of ``(function, arguments)``
    # pairs over preallocated arrays, each an in-place NumPy call. Training replays
    # the program (:func:`run`), so an update costs its NumPy calls and little else.

    def _activate(self, ops: Program, name: str, x: Array, y: Array, buf: Buffers) -> None:
        """Eq. (2), ``y = f(x)``, in place."""
        if name == "logistic":  # y = 1 / (1 + e^-x)
            ops += [(np.negative, (x, y)), (np.exp, (y, y)), (np.add, (y, buf.one, y)),
                    (np.reciprocal, (y, y))]
        elif name == "tanh":
            ops.append((np.tanh, (x, y)))
        elif name == "relu":  # max(x, 0) against an array of zeros: a vectorised loop
            ops.append((partial(np.maximum, out=y), (x, buf.zeros[:y.shape[0]])))
        elif name == "linear":
            ops.append((np.copyto, (y, x)))
        else:  # softmax over the units: e^(x - max) / Σ e^(x - max)
            axis = self.unit_axis
            ops += [(partial(np.maximum.reduce, axis=axis, keepdims=True, out=buf.row), (x,)),
                    (np.subtract, (x, buf.row, y)), (np.exp, (y, y)),
                    (partial(np.add.reduce, axis=axis, keepdims=True, out=buf.row), (y,)),
                    (np.divide, (y, buf.row, y))]

    def _through_unit(self, ops: Program, name: str, x: Array, y: Array, dE_dy: Array,
                      out: Array, buf: Buffers) -> Array:
        """Eq. (5): ``dE/dx = dE/dy · f'(x)`` into ``out`` (returns the array holding it)."""
        t = buf.t
        if name == "logistic":  # f' = y (1 - y)
            ops += [(np.subtract, (buf.one, y, t)), (np.multiply, (y, t, t)),
                    (np.multiply, (dE_dy, t, out))]
        elif name == "tanh":  # f' = 1 - y²
            ops += [(np.multiply, (y, y, t)), (np.subtract, (buf.one, t, t)),
                    (np.multiply, (dE_dy, t, out))]
        elif name == "relu":  # f' = [x > 0]
            ops += [(np.greater, (x, self.zero, buf.mask)), (np.multiply, (dE_dy, buf.mask, out))]
        else:  # linear: f' = 1
            return dE_dy
        return out

    def _output_delta(self, ops: Program, x: Array, y: Array, d: Array, buf: Buffers,
                      size: int) -> Array:
        """Eqs. (4)–(5) at the output group (fused ``y - d`` for cross-entropy)."""
        cfg, layer, delta = self.cfg, self.layers[-1], buf.delta
        ops.append((np.subtract, (y, d, delta)))  # eq (4): dE/dy = y - d
        if cfg.error != "cross_entropy":
            if cfg.error in ("tss", "mse"):
                ops.append((np.multiply, (self.two, delta, delta)))
            if cfg.error == "mse":
                ops.append((np.divide, (delta, self.dtype.type(float(size * layer.n_out)),
                                        delta)))
            delta = self._through_unit(ops, layer.activation, x, y, delta, delta, buf)
        if cfg.reduction == "mean":
            ops.append((np.divide, (delta, self.dtype.type(size), delta)))
        return delta

    def _buffers(self, size: int) -> list[Buffers]:
        """Per layer, the arrays of one update on ``size`` cases."""
        return [Buffers(self._shape(size, ly.n_out), self._shape(size, 1), self.dtype,
                        ly.activation == "relu") for ly in self.layers]

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        raise NotImplementedError  # pragma: no cover

    def _record_shape(self, size: int) -> tuple[int, ...]:
        """One chunk's outputs in the records: ``(R, size, n_out)``."""
        return (self.R, size, self.layers[-1].n_out)

    def _target_records(self, D: Array) -> tuple[Array, Array]:
        """Targets beside :attr:`record_y` and :attr:`tail_y` (read-only broadcast views)."""
        D = D[None] if D.ndim == 2 else D  # (1 or R, N, n_out)
        n_out, cut = D.shape[-1], self.full * self.B
        full = D[:, :cut].reshape(D.shape[0], self.full, self.B, n_out)
        return (np.broadcast_to(full.swapaxes(0, 1)[None], self.record_y.shape),
                np.broadcast_to(D[None, :, cut:], self.tail_y.shape))

    # ------------------------------------------------------------------ a block's bookkeeping

    def measures(self, k: int) -> tuple[Array, Array]:
        """Reported error and solved flags ``(k, R)`` of the block's first ``k`` sweeps."""
        parts = [(self.record_y[:k], None if self.record_x is None else self.record_x[:k],
                  self.record_d[:k])]
        if self.tail:
            parts.append((self.tail_y[:k, None], None if self.tail_x is None
                          else self.tail_x[:k, None], self.tail_d[:k, None]))
        return block_measures(self.setup, parts)

    def stopped_by_margin(self, k: int) -> Array:
        """``(k, R)``: after sweep ``j`` every output within ``stop_margin`` of its target.

        The outputs after sweep ``j`` are the ones recorded at the start of sweep
        ``j + 1`` (sweep grain: one chunk); the last sweep's are computed here.
        """
        self.outputs_after(k)
        after, d = self.record_y[1:k + 1, 0], self.record_d[1:k + 1, 0]  # (k, R, N, n_out)
        shape = (k * self.R, *after.shape[2:])
        return within(after.reshape(shape), d.reshape(shape), None, self.cfg.stop_margin,
                      self.setup.mid).reshape(k, self.R)

    # ------------------------------------------------------------------ training

    def sweeps(self, s0: int, k: int, *, stop: Callable[[], bool] = lambda: False,
               until_nonfinite: bool = False) -> int:
        for j in range(k):
            self.set_rates(self.setup.lr(s0 + j), self.setup.momentum(s0 + j))
            self.sweep(j)
            if (until_nonfinite and not self.finite_params()[self.active].all()) or stop():
                return j + 1
        return k

    # ------------------------------------------------------------------ subclasses provide

    def sweep(self, k: int) -> None:
        """Train one sweep with the current rates; its outputs go to row ``k`` of the records."""
        raise NotImplementedError  # pragma: no cover

    def outputs_after(self, k: int) -> None:
        """Forward the whole set with the current weights into ``record_y[k]`` (sweep grain)."""
        raise NotImplementedError  # pragma: no cover

    def save(self) -> object:
        """Keep the weights and ``Δw`` (in :attr:`saved_P`, :attr:`saved_S`) and return the
        order generators' states, to rewind the block with :meth:`restore`."""
        np.copyto(self.saved_P, self.P)
        np.copyto(self.saved_S, self.G if self.dw_in_G else self.S)
        return [rng.bit_generator.state for rng in self.setup.order_rngs or []]

    def restore(self, state: object) -> None:
        np.copyto(self.P, self.saved_P)
        np.copyto(self.S, self.saved_S)
        self.dw_in_G = False
        for rng, st in zip(self.setup.order_rngs or [], state, strict=True):  # type: ignore
            rng.bit_generator.state = st

    def store(self) -> None:
        """Make ``net.params`` and the optimizer's ``Δw`` hold the engine's state."""
        if self.dw_in_G:  # the optimizer's Δw are views of S
            np.copyto(self.S, self.G)

    def finite_params(self) -> Array:
        """Per replica ``(R,)``: every weight and bias is finite (one sum decides the usual
        case; only a non-finite sum tells replicas apart)."""
        if np.isfinite(float(self.P.sum())):
            return np.ones(self.R, dtype=bool)
        bad = np.zeros(self.R, dtype=bool)
        bad[self.replica[~np.isfinite(self.P)]] = True
        return ~bad


Program = list  # [(function, arguments), …]


def run(program: Program) -> None:
    """Replay a recorded program of in-place NumPy calls."""
    for function, args in program:
        function(*args)


class Buffers:
    """One layer's arrays for one update: ``x, y``, deltas, temporaries, ones."""

    def __init__(self, shape: tuple[int, ...], row: tuple[int, ...], dtype: np.dtype,
                 relu: bool) -> None:
        self.x, self.y, self.t, self.delta, self.back = (np.empty(shape, dtype) for _ in range(5))
        self.one = np.ones(shape, dtype)
        self.zeros = np.zeros(shape, dtype) if relu else None
        self.mask = np.empty(shape, bool) if relu else None
        self.row = np.empty(row, dtype)


def block_measures(setup: Setup, parts: list[tuple[Array, Array | None, Array]]
                   ) -> tuple[Array, Array]:
    """Reported error and solved flags ``(k, R)`` from records ``(k, chunks, R, size, n)``.

    ``parts`` holds ``(y, x, d)`` records: the full chunks, then the tail chunk
    (``chunks = 1``), if any. Computed by the readable path's own functions on
    the recorded outputs, summed over a sweep's chunks in chunk order, as
    :meth:`Readable.sweep <backprop86.engine.readable.Readable.sweep>` sums them.
    """
    cfg, R, n_cases = setup.config, setup.net.replicas, setup.n_cases
    report, f = setup.report, setup.net.functions[setup.net.outputs[0]]
    reported = None
    solved = None
    for rec_y, rec_x, rec_d in parts:
        k, chunks, _, size, n = rec_y.shape
        y = rec_y.reshape(k * chunks * R, size, n)
        d = rec_d.reshape(k * chunks * R, size, n)
        x = None if rec_x is None else rec_x.reshape(k * chunks * R, size, n)
        share = size / n_cases if report.name == "mse" else 1.0
        value = (share * report.value(y, d, x, f, None)).reshape(k, chunks, R)
        # chunk by chunk from 0, as the readable sweep accumulates; the tail chunk comes last
        reported = np.cumsum(value, axis=1)[:, -1] if reported is None else reported + value[:, 0]
        ok = within(y, d, None, cfg.solve_margin, setup.mid).reshape(k, chunks, R).all(axis=1)
        solved = ok if solved is None else solved & ok
    assert reported is not None and solved is not None
    return reported.astype(setup.net.dtype, copy=False), solved

