"""The fast path of the training loop: the readable path's arithmetic, without its overhead.

The readable path — :meth:`Network.forward`, :meth:`Network.backward`,
:class:`~backprop86.optim.GradientDescent` and :meth:`Trainer.run_sweep` — is the
teaching path: one line per equation, a new array for every intermediate. This
module trains the common case, a *chain* of groups (an MLP) trained by gradient
descent (eqs. 8–9), with

* **preallocated buffers** and in-place ``out=`` operations: an update allocates
  nothing (the weights and the momentum state ``Δw`` are updated in place);
* **blocks of sweeps**: the outputs of every sweep are written straight into a
  block record, and the reported error, the "solved" flags, the stopping rules
  and the divergence check are computed once per block, vectorised over its
  sweeps, by the readable path's own functions. A replica that stops or diverges
  inside a block rewinds the block (weights, ``Δw``, order generators) and
  replays it up to that sweep, so the result is that of sweep-by-sweep training;
* a **replica-last layout** ``(cases, units, R)`` for many tiny networks
  (:class:`ReplicaLast`): a projection becomes a few elementwise operations over
  all replicas instead of ``R`` tiny matrix products, and the input layer, shared
  by every replica, one matrix product for all of them.

Agreement with the readable path (``tests/test_fast.py``):

* replica-first (:class:`ReplicaFirst`, used for one network and for large
  layers) performs the same floating-point operations in the same order, so its
  numbers are **bit for bit** those of the readable path — except that the
  logistic of a net input below ``−log(max float) + 1`` (−708 in float64, −87 in
  float32) is ``1/(1 + e^{−x})`` (or 0) rather than the readable path's
  correctly rounded ``e^x``: both are below 1e-307 (1e-38);
* replica-last sums over cases and units in another order, so it agrees to
  rounding (relative differences around 1e-15 per sweep).

``BACKPROP86_FAST=0`` in the environment (or ``Trainer(..., fast=False)``) forces
the readable path.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from backprop86.errors import DivergenceError
from backprop86.network import Network, bias_param
from backprop86.optim import GradientDescent

Array = np.ndarray

#: Environment variable that switches the fast path off (``0``, ``false``, ``no``, ``off``).
ENV = "BACKPROP86_FAST"

#: Most sweeps per block. After a block is cut short by a replica that stops, the next
#: block is at most twice as long as the part kept, so runs where replicas stop often
#: replay little.
BLOCK = 64

#: The replica-last layout is used from this many replicas on, when no group is wider than
#: ``TINY`` units and the cases come in order.
REPLICA_LAST_MIN = 64
TINY = 16

HIDDEN_ACTIVATIONS = ("logistic", "tanh", "relu", "linear")
OUTPUT_ACTIVATIONS = ("logistic", "tanh", "relu", "linear", "softmax")
ERRORS = ("sse", "tss", "mse", "cross_entropy")


def enabled() -> bool:
    """Whether the environment allows the fast path (``BACKPROP86_FAST``, default on)."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


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


def why_not(trainer) -> str | None:
    """``None`` when the fast path can train ``trainer``'s run, else the reason it cannot."""
    cfg, net = trainer.config, trainer.net
    if not enabled():
        return f"switched off by {ENV}"
    layers = chain_layers(net)
    if layers is None:
        return "the network is not a plain chain (skip links, masks, ties or several groups)"
    if any(layer.activation not in HIDDEN_ACTIVATIONS for layer in layers[:-1]):
        return f"hidden activations must be one of {HIDDEN_ACTIVATIONS}"
    out = layers[-1].activation
    if out not in OUTPUT_ACTIVATIONS:
        return f"output activation must be one of {OUTPUT_ACTIVATIONS}"
    if cfg.error not in ERRORS:
        return f"error must be one of {ERRORS}"
    if cfg.error == "cross_entropy" and out not in ("logistic", "softmax"):
        return "cross-entropy needs logistic or softmax outputs (fused gradient)"
    if out == "softmax" and cfg.error != "cross_entropy":
        return "softmax outputs need the cross-entropy error"
    if cfg.optimizer != "sgd" or not isinstance(trainer.optimizer, GradientDescent):
        return "only gradient descent (eqs. 8-9) has a fast path"
    if trainer.care is not None:
        return "don't-care targets"
    if trainer.X.ndim != 2 and cfg.order == "shuffled":
        return "per-replica case sets in shuffled order"
    if cfg.stop_margin is not None and (cfg.grain != "sweep" or cfg.order != "sequential"):
        return "stop_margin needs grain = sweep and order = sequential"
    return None


def make(trainer) -> Kernel | None:
    """The fast kernel for ``trainer``, or ``None`` when the readable path must train it."""
    if why_not(trainer) is not None:
        return None
    net = trainer.net
    tiny = all(g.size <= TINY for g in net.groups)
    if (net.replicas >= REPLICA_LAST_MIN and tiny and trainer.config.order == "sequential"
            and trainer.X.ndim == 2):
        return ReplicaLast(trainer)
    return ReplicaFirst(trainer)


# ----------------------------------------------------------------------------
# Kernels: one sweep of updates, recording each chunk's outputs
# ----------------------------------------------------------------------------

#: Bytes of output records a block may hold; fewer sweeps per block when one sweep's are large.
RECORD_BYTES = 8 << 20


class Kernel:
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

    def __init__(self, trainer) -> None:
        self.trainer = trainer
        self.net: Network = trainer.net
        self.cfg = cfg = trainer.config
        self.layers = chain_layers(self.net)
        assert self.layers is not None
        self.R = R = self.net.replicas
        self.dtype = dt = self.net.dtype
        self.N = trainer.task.n_cases
        size = {"sweep": self.N, "pattern": 1, "minibatch": cfg.batch_size}[cfg.grain]
        self.B = min(size, self.N)
        self.full = self.N // self.B  # chunks of B cases per sweep …
        self.tail = self.N - self.full * self.B  # … and one of `tail` cases, if not 0
        n_out = self.layers[-1].n_out
        per_sweep = R * self.N * n_out * dt.itemsize
        self.block = max(1, min(BLOCK, RECORD_BYTES // per_sweep, cfg.max_sweeps))
        rows = self.block + (1 if cfg.stop_margin is not None else 0)
        self.record_y = np.empty((rows, self.full, R, self.B, n_out), dt)
        self.tail_y = np.empty((rows, R, self.tail, n_out), dt)
        wants_x = trainer.report.name == "cross_entropy"
        self.record_x = np.empty_like(self.record_y) if wants_x else None
        self.tail_x = np.empty_like(self.tail_y) if wants_x else None
        if cfg.order == "sequential":  # every sweep's chunks have the same targets
            D = trainer.D[None] if trainer.D.ndim == 2 else trainer.D  # (1 or R, N, n_out)
            full = D[:, : self.full * self.B].reshape(D.shape[0], self.full, self.B, n_out)
            self.record_d = np.broadcast_to(full.swapaxes(0, 1)[None], self.record_y.shape)
            self.tail_d = np.broadcast_to(D[None, :, self.full * self.B:], self.tail_y.shape)
        else:
            self.record_d = np.empty_like(self.record_y)
            self.tail_d = np.empty_like(self.tail_y)
        self.two = dt.type(2.0)
        self.zero = dt.type(0.0)
        self.rates: tuple[float, float] | None = None

    # ------------------------------------------------------------------ parameters

    def _flat(self, shapes: list[tuple[str, tuple[int, ...]]], replica_axis: int) -> list:
        """Allocate :attr:`P`, :attr:`S`, :attr:`G` and return ``(w, Δw, ∂E/∂w)`` views per name.

        ``replica_axis`` is where the replica axis sits in each view (0 or -1).
        """
        dt, total = self.dtype, sum(int(np.prod(s)) for _, s in shapes)
        self.P, self.S, self.G = (np.empty(total, dt) for _ in range(3))
        replica = np.empty(total, np.intp)  # the replica of each flat element
        decayed_names = set(self.trainer.optimizer.decayed) if self.cfg.decay else set()
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
        self.NEPS = np.empty(total, dt)  # -ε
        self.ALPHA = np.empty(total, dt)
        self.EPS = np.empty(total, dt)
        return views

    def begin_block(self, active: Array) -> None:
        """Masks of a block: frozen replicas' ``Δw`` and the shrink factor of decayed weights."""
        all_active = bool(active.all())
        self.mask = None if all_active else active[self.replica]
        if self.cfg.decay and self.cfg.decay_mode == "shrink":
            keep = self.decayed & active[self.replica]
            self.shrink = np.where(keep, 1.0 - self.cfg.decay, 1.0)
        else:
            self.shrink = None

    def set_rates(self, lr: float, momentum: float) -> None:
        """ε and α of this sweep, in the weights' dtype, as :meth:`GradientDescent.step` has."""
        if self.rates == (lr, momentum):
            return
        self.rates = (lr, momentum)
        self.NEPS.fill(-float(lr))
        self.ALPHA.fill(float(momentum))
        self.EPS.fill(float(lr))

    def _step(self) -> None:
        """Eqs. (8)–(9) for every parameter at once, as :class:`GradientDescent` computes them."""
        P, S, G = self.P, self.S, self.G
        for w, g, tmp in self.l2:  # L2 decay: ∂E/∂w + decay · w
            np.multiply(self.decay, w, tmp)
            np.add(g, tmp, g)
        if self.rates[1] == 0.0:
            np.multiply(G, self.NEPS, S)  # eq (8): Δw = -ε ∂E/∂w
        else:
            np.multiply(S, self.ALPHA, S)  # eq (9): α Δw(t-1) …
            np.multiply(self.EPS, G, G)
            np.subtract(S, G, S)  # … - ε ∂E/∂w
        if self.mask is not None:
            np.multiply(S, self.mask, S)  # stopped replicas stay frozen
        np.add(P, S, P)
        if self.shrink is not None:
            np.multiply(P, self.shrink, P)  # the paper's decay: w ← (1 - decay) w

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
        elif name == "relu":
            ops.append((partial(np.maximum, out=y), (x, self.zero)))
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

    def _buffers(self, size: int, products: bool = False) -> list[Buffers]:
        """Per layer, the arrays of one update on ``size`` cases (``products``: replica-last)."""
        return [Buffers(self._shape(size, ly.n_out), self._shape(size, 1), self.dtype,
                        ly.activation == "relu",
                        (size, ly.n_in, ly.n_out, self.R) if products else None)
                for ly in self.layers]

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        raise NotImplementedError  # pragma: no cover

    # ------------------------------------------------------------------ subclasses provide

    def sweep(self, k: int) -> None:
        """Train one sweep with the current rates; its outputs go to row ``k`` of the records."""
        raise NotImplementedError  # pragma: no cover

    def outputs_after(self, k: int) -> None:
        """Forward the whole set with the current weights into ``record_y[k]`` (sweep grain)."""
        raise NotImplementedError  # pragma: no cover

    def save(self) -> object:
        """Weights, ``Δw`` and order generators, to rewind a block."""
        rngs = self.trainer.order_rngs or []
        return self.P.copy(), self.S.copy(), [rng.bit_generator.state for rng in rngs]

    def restore(self, state: object) -> None:
        P, S, rng_states = state  # type: ignore[misc]
        np.copyto(self.P, P)
        np.copyto(self.S, S)
        for rng, st in zip(self.trainer.order_rngs or [], rng_states, strict=True):
            rng.bit_generator.state = st

    def store(self) -> None:
        """Make ``net.params`` and the optimizer's ``Δw`` hold the kernel's state."""

    def finite_params(self) -> Array:
        """Per replica ``(R,)``: every weight and bias is finite (``Trainer._finite_params``)."""
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
                 relu: bool, prod: tuple[int, ...] | None) -> None:
        self.x, self.y, self.t, self.delta, self.back = (np.empty(shape, dtype) for _ in range(5))
        self.one = np.ones(shape, dtype)
        self.mask = np.empty(shape, bool) if relu else None
        self.row = np.empty(row, dtype)
        self.prod = np.empty(prod, dtype) if prod is not None else None


class ReplicaFirst(Kernel):
    """The readable path's layout ``(R, cases, units)`` and its exact sequence of operations.

    For one network (``R = 1``) the replica axis is dropped and ``np.dot`` used,
    which for 2-D arrays calls the same BLAS routine as ``@`` with less overhead.
    ``net.params`` and the optimizer's ``Δw`` become views of the flat arrays.
    """

    def __init__(self, trainer) -> None:
        super().__init__(trainer)
        net, R, dt = self.net, self.R, self.dtype
        self.mm = np.dot if R == 1 else np.matmul
        steps = trainer.optimizer._step
        names = list(net.params)
        views = self._flat([(n, net.params[n].shape) for n in names], 0)
        for name, (w, dw, _) in zip(names, views, strict=True):
            np.copyto(w, net.params[name])
            np.copyto(dw, steps[name])
            net.params[name], steps[name] = w, dw  # the network trains in place
        by_name = dict(zip(names, views, strict=True))
        sq = self.squeeze
        self.W = [sq(by_name[ly.weight][0]) for ly in self.layers]
        self.gW = [sq(by_name[ly.weight][2]) for ly in self.layers]
        self.b = [None if ly.bias is None else sq(by_name[ly.bias][0]) for ly in self.layers]
        self.gb = [None if ly.bias is None else sq(by_name[ly.bias][2]) for ly in self.layers]
        buffers = {size: self._buffers(size) for size in {self.B, self.tail} if size}
        X = trainer.X
        X3 = X[None] if X.ndim == 2 else X  # (1 or R, N, n_in)
        self.gathered: dict[int, tuple[Array, Array]] = {}
        if self.cfg.order != "sequential":  # gathered cases of one chunk, (R, size, n)
            self.gathered = {size: (np.empty((R, size, X.shape[-1]), dt),
                                    np.empty((R, size, trainer.D.shape[-1]), dt))
                             for size in buffers}
        self.programs: list[list[Program]] = []
        for k in range(self.block):
            row = []
            for c in range(self.full + (1 if self.tail else 0)):
                full = c < self.full
                size = self.B if full else self.tail
                if self.gathered:
                    y_in = self.gathered[size][0]
                else:
                    y_in = X3[:, c * self.B:c * self.B + size]
                rec_x = (None if self.record_x is None else
                         self.record_x[k, c] if full else self.tail_x[k])
                row.append(self._program(
                    sq(y_in), buffers[size],
                    buffers[size][-1].x if rec_x is None else sq(rec_x),
                    sq(self.record_y[k, c] if full else self.tail_y[k]),
                    sq(self.record_d[k, c] if full else self.tail_d[k]), size))
            self.programs.append(row)
        self.after: list[Program] = []
        if self.cfg.stop_margin is not None:
            for k in range(self.block + 1):
                ops: Program = []
                self._forward(ops, sq(X3), buffers[self.B], buffers[self.B][-1].x,
                              sq(self.record_y[k, 0]))
                self.after.append(ops)

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        return (size, n) if self.R == 1 else (self.R, size, n)

    def squeeze(self, a: Array) -> Array:
        """Drop the replica axis of one network's arrays."""
        return a[0] if self.R == 1 else a

    def _forward(self, ops: Program, y_in: Array, bufs: list[Buffers], x_out: Array,
                 y_out: Array) -> None:
        """Eqs. (1)–(2) layer by layer; the output group's ``x, y`` go to ``x_out, y_out``."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            buf = bufs[i]
            x, y = (x_out, y_out) if i == last else (buf.x, buf.y)
            ops.append((self.mm, (y_in, self.W[i], x)))  # eq (1): x = y_in @ W
            if self.b[i] is not None:
                ops.append((np.add, (x, self.b[i], x)))  # eq (1) bias
            self._activate(ops, layer.activation, x, y, buf)  # eq (2): y = f(x)
            y_in = y

    def _program(self, y_in: Array, bufs: list[Buffers], x_out: Array, y_out: Array,
                 d: Array, size: int) -> Program:
        """Forward, eqs. (3)–(7) backward, and eqs. (8)–(9) for one chunk of ``size`` cases."""
        ops: Program = []
        self._forward(ops, y_in, bufs, x_out, y_out)
        mm, layers = self.mm, self.layers
        last = len(layers) - 1
        delta = self._output_delta(ops, x_out, y_out, d, bufs[last], size)
        for i in range(last, -1, -1):
            y_src = y_in if i == 0 else bufs[i - 1].y
            if self.gb[i] is not None:  # eq (6) for the bias, y_i = 1
                ops.append((partial(np.add.reduce, axis=-2, keepdims=True, out=self.gb[i]),
                            (delta,)))
            ops.append((mm, (y_src.swapaxes(-1, -2), delta, self.gW[i])))  # eq (6)
            if i == 0:
                break
            buf = bufs[i - 1]
            # eq (7): dE/dy_i = Σ_j dE/dx_j w_ji
            ops.append((mm, (delta, self.W[i].swapaxes(-1, -2), buf.back)))
            delta = self._through_unit(ops, layers[i - 1].activation, buf.x, buf.y, buf.back,
                                       buf.delta, buf)
        ops.append((self._step, ()))  # eqs (8)-(9)
        return ops

    def sweep(self, k: int) -> None:
        if not self.gathered:
            for program in self.programs[k]:
                run(program)
            return
        order, X, D = self.trainer._chunks(), self.trainer.X, self.trainer.D
        for c, program in enumerate(self.programs[k]):
            size = order[c].shape[1]
            x_in, d_in = self.gathered[size]
            np.take(X, order[c], axis=0, out=x_in)  # this chunk's cases, shuffled
            np.take(D, order[c], axis=0, out=d_in)
            np.copyto(self.record_d[k, c] if c < self.full else self.tail_d[k], d_in)
            run(program)

    def outputs_after(self, k: int) -> None:
        run(self.after[k])


class ReplicaLast(Kernel):
    """Many tiny networks in the layout ``(cases, units, R)``: replicas on the fast axis.

    A projection ``x[c, j, r] = Σ_i y[c, i, r] w[i, j, r]`` becomes one
    broadcast product ``(c, i, j, r)`` summed over ``i``; from the input group,
    which every replica sees alike, it is one matrix product
    ``X (c, i) @ W (i, j·R)``. Cases come in order. The kernel keeps the weights
    and ``Δw`` in its own layout; :meth:`store` writes them back.
    """

    unit_axis = 1

    def __init__(self, trainer) -> None:
        super().__init__(trainer)
        net, R = self.net, self.R
        order = {n: i for i, n in enumerate(net.params)}
        shapes = []
        for ly in self.layers:
            shapes.append((ly.weight, (ly.n_in, ly.n_out, R)))
            if ly.bias is not None:
                shapes.append((ly.bias, (ly.n_out, R)))
        shapes.sort(key=lambda item: order[item[0]])
        self.views = dict(zip([n for n, _ in shapes], self._flat(shapes, -1), strict=True))
        views = self.views
        self.W = [views[ly.weight][0] for ly in self.layers]
        self.gW = [views[ly.weight][2] for ly in self.layers]
        self.b = [None if ly.bias is None else views[ly.bias][0] for ly in self.layers]
        self.gb = [None if ly.bias is None else views[ly.bias][2] for ly in self.layers]
        self.load()
        buffers = {size: self._buffers(size, True) for size in {self.B, self.tail} if size}
        X, D = trainer.X, trainer.D[:, :, None]  # (N, n_in) shared by all; (N, n_out, 1)
        self.programs: list[list[Program]] = []
        for k in range(self.block):
            row = []
            for c in range(self.full + (1 if self.tail else 0)):
                size = self.B if c < self.full else self.tail
                start = c * self.B
                ops = self._program(X[start:start + size], D[start:start + size], buffers[size])
                self._record(ops, buffers[size], k, c)
                row.append(ops)
            self.programs.append(row)
        self.after = []
        if self.cfg.stop_margin is not None:
            for k in range(self.block + 1):
                ops = []
                self._forward(ops, X, buffers[self.B])
                self._record(ops, buffers[self.B], k, 0)
                self.after.append(ops)

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        return (size, n, self.R)

    def load(self) -> None:
        """Take the weights and ``Δw`` from the network and the optimizer."""
        steps = self.trainer.optimizer._step
        for name, (w, dw, _) in self.views.items():
            for dst, src in ((w, self.net.params[name]), (dw, steps[name])):
                np.copyto(dst, np.moveaxis(src[:, 0] if name.startswith("b:") else src, 0, -1))

    def store(self) -> None:
        steps = self.trainer.optimizer._step
        for name, (w, dw, _) in self.views.items():
            for src, dst in ((w, self.net.params[name]), (dw, steps[name])):
                np.copyto(dst[:, 0] if name.startswith("b:") else dst, np.moveaxis(src, -1, 0))

    def _forward(self, ops: Program, X: Array, bufs: list[Buffers]) -> None:
        """Eqs. (1)–(2) for every replica at once."""
        y_in = X
        for i, layer in enumerate(self.layers):
            W, buf = self.W[i], bufs[i]
            if i == 0:  # the input group is shared: one matrix product for all replicas
                n_in, n_out, R = W.shape
                ops.append((np.dot, (X, W.reshape(n_in, n_out * R),
                                     buf.x.reshape(len(X), n_out * R))))
            elif W.shape[0] == 1:  # one source unit: nothing to sum
                ops.append((np.multiply, (y_in, W[0], buf.x)))
            else:  # eq (1): x[c, j, r] = Σ_i y[c, i, r] w[i, j, r]
                ops += [(np.multiply, (y_in[:, :, None, :], W, buf.prod)),
                        (partial(np.add.reduce, axis=1, out=buf.x), (buf.prod,))]
            if self.b[i] is not None:
                ops.append((np.add, (buf.x, self.b[i], buf.x)))
            self._activate(ops, layer.activation, buf.x, buf.y, buf)
            y_in = buf.y

    def _program(self, X: Array, D: Array, bufs: list[Buffers]) -> Program:
        ops: Program = []
        self._forward(ops, X, bufs)
        layers = self.layers
        last = len(layers) - 1
        out = bufs[last]
        delta = self._output_delta(ops, out.x, out.y, D, out, len(X))
        for i in range(last, -1, -1):
            W, prod = self.W[i], bufs[i].prod
            n_in, n_out, R = W.shape
            if self.gb[i] is not None:  # eq (6) for the bias, y_i = 1
                ops.append((partial(np.add.reduce, axis=0, out=self.gb[i]), (delta,)))
            if i == 0:  # eq (6) from the shared input: one matrix product
                ops.append((np.dot, (X.T, delta.reshape(len(X), n_out * R),
                                     self.gW[0].reshape(n_in, n_out * R))))
                break
            buf = bufs[i - 1]
            ops += [(np.multiply, (buf.y[:, :, None, :], delta[:, None, :, :], prod)),
                    (partial(np.add.reduce, axis=0, out=self.gW[i]), (prod,))]  # eq (6)
            if n_out == 1:  # eq (7) with one target unit: nothing to sum
                ops.append((np.multiply, (delta, W[:, 0], buf.back)))
            else:  # eq (7): dE/dy_i = Σ_j dE/dx_j w_ji
                ops += [(np.multiply, (delta[:, None, :, :], W, prod)),
                        (partial(np.add.reduce, axis=2, out=buf.back), (prod,))]
            delta = self._through_unit(ops, layers[i - 1].activation, buf.x, buf.y, buf.back,
                                       buf.delta, buf)
        ops.append((self._step, ()))  # eqs (8)-(9)
        return ops

    def _record(self, ops: Program, bufs: list[Buffers], k: int, c: int) -> None:
        """Copy the chunk's outputs (and net inputs) to the records, in ``(R, cases, n)``."""
        full = c < self.full
        rec_y = self.record_y[k, c] if full else self.tail_y[k]
        ops.append((np.copyto, (rec_y, np.moveaxis(bufs[-1].y, -1, 0))))
        if self.record_x is not None:
            rec_x = self.record_x[k, c] if full else self.tail_x[k]
            ops.append((np.copyto, (rec_x, np.moveaxis(bufs[-1].x, -1, 0))))

    def sweep(self, k: int) -> None:
        for program in self.programs[k]:
            run(program)

    def outputs_after(self, k: int) -> None:
        run(self.after[k])


# ----------------------------------------------------------------------------
# The loop: blocks of sweeps, bookkeeping vectorised over each block
# ----------------------------------------------------------------------------


def block_measures(trainer, kernel: Kernel, k: int) -> tuple[Array, Array]:
    """Reported error and solved flags ``(k, R)`` of the block's first ``k`` sweeps.

    Computed by the readable path's own functions on the recorded outputs, summed
    over a sweep's chunks in chunk order, as :meth:`Trainer.run_sweep` sums them.
    """
    from backprop86.train import within

    cfg, R = trainer.config, kernel.R
    report, f = trainer.report, trainer.net.functions[trainer.net.outputs[0]]
    reported = None
    solved = np.ones((k, R), dtype=bool)
    parts = [(kernel.record_y, kernel.record_x, kernel.record_d, kernel.full, kernel.B)]
    if kernel.tail:
        parts.append((kernel.tail_y[:, None], None if kernel.tail_x is None
                      else kernel.tail_x[:, None], kernel.tail_d[:, None], 1, kernel.tail))
    for rec_y, rec_x, rec_d, chunks, size in parts:
        n = rec_y.shape[-1]
        y = rec_y[:k].reshape(k * chunks * R, size, n)
        d = rec_d[:k].reshape(k * chunks * R, size, n)
        x = None if rec_x is None else rec_x[:k].reshape(k * chunks * R, size, n)
        share = size / kernel.N if report.name == "mse" else 1.0
        value = (share * report.value(y, d, x, f, None)).reshape(k, chunks, R)
        # chunk by chunk from 0, as run_sweep accumulates; the tail chunk comes last
        reported = np.cumsum(value, axis=1)[:, -1] if reported is None else reported + value[:, 0]
        ok = within(y, d, None, cfg.solve_margin, trainer.mid).reshape(k, chunks, R)
        solved &= ok.all(axis=1)
    assert reported is not None
    return reported.astype(trainer.net.dtype, copy=False), solved


def block_events(trainer, kernel: Kernel, reported: Array) -> tuple[Array, Array]:
    """Per sweep of the block ``(k, R)``: non-finite reported error, and the stopping rule met.

    The stopping rule is tested after each sweep's update, as
    :meth:`Trainer._stop_rule` tests it; with ``stop_margin`` the outputs after
    sweep ``j`` are the ones the block recorded at the start of sweep ``j + 1``.
    """
    from backprop86.train import within

    cfg, k, R = trainer.config, reported.shape[0], kernel.R
    bad = ~np.isfinite(reported)
    done = np.zeros_like(bad)
    if cfg.ecrit is not None:
        done |= reported < cfg.ecrit
    if cfg.stop_margin is not None:
        after = kernel.record_y[1:k + 1, 0]  # (k, R, N, n_out)
        d = kernel.record_d[1:k + 1, 0]
        shape = (k * R, *after.shape[2:])
        done |= within(after.reshape(shape), d.reshape(shape), None, cfg.stop_margin,
                       trainer.mid).reshape(k, R)
    return bad, done


def train(trainer, kernel: Kernel, progress: Callable[[int, int, int], None] | None):
    """:meth:`Trainer.train` by blocks of sweeps, with the same result and loop state.

    A block of ``k`` sweeps runs with the set of training replicas fixed; its
    bookkeeping then follows :meth:`Trainer.train` sweep by sweep, vectorised
    over the block. If a replica diverges or stops at sweep ``j < k - 1`` of the
    block, the block is rewound and replayed for ``j + 1`` sweeps only. Weights
    that stop being finite stay so (``inf`` and ``NaN`` are absorbing under
    ``w += Δw``), so one check at the end of a block finds whether it happened.
    """
    from backprop86.train import LoopState, TrainResult, _finish_sweep_on_ctrl_c, within

    cfg, R = trainer.config, kernel.R
    every = cfg.history_every
    columns = (cfg.max_sweeps + every - 1) // every
    if trainer.loop is None:
        trainer.loop = LoopState.fresh(R, columns)
    loop = trainer.loop
    loop.ensure_columns(columns)
    notes = loop.notes
    interrupted = False
    trainer._stop_requested = False
    # non-finite values are detected below and reported as divergence, not as warnings
    def quiet() -> np.errstate:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def run(s0: int, k: int, until_nonfinite: bool = False) -> int:
        """Train sweeps ``s0 … s0 + k - 1``; the number done (fewer on a stop request)."""
        with quiet():
            for j in range(k):
                kernel.set_rates(trainer.lr(s0 + j), trainer.momentum(s0 + j))
                kernel.sweep(j)
                if until_nonfinite and not kernel.finite_params()[loop.active].all():
                    return j + 1
                if trainer._stop_requested:
                    return j + 1
        return k

    try:
        with _finish_sweep_on_ctrl_c(trainer):
            length = kernel.block
            while trainer.sweep < cfg.max_sweeps and loop.active.any():
                if trainer._stop_requested:
                    interrupted = True
                    break
                trainer.resumable = False
                s0 = trainer.sweep
                k = min(length, cfg.max_sweeps - s0)
                saved = kernel.save() if k > 1 else None
                kernel.begin_block(loop.active)
                try:
                    k = run(s0, k)
                    with quiet():
                        if cfg.stop_margin is not None:
                            kernel.outputs_after(k)
                        reported, solved_now = block_measures(trainer, kernel, k)
                        bad, done = block_events(trainer, kernel, reported)
                        params_ok = kernel.finite_params()
                    rows = np.flatnonzero(((bad | done) & loop.active).any(axis=1))
                    last = int(rows[0]) if rows.size else k - 1
                    if k > 1 and not params_ok[loop.active].all():  # the sweep they broke at
                        kernel.restore(saved)
                        last = min(last, run(s0, k, until_nonfinite=True) - 1)
                    length = min(kernel.block, 2 * (last + 1))  # shorter after an event
                    if last < k - 1:  # rewind and replay up to the first event
                        kernel.restore(saved)
                        k = run(s0, last + 1)
                        with quiet():
                            params_ok = kernel.finite_params()
                        reported, solved_now = reported[:k], solved_now[:k]
                        bad, done = bad[:k], done[:k]
                except KeyboardInterrupt:
                    if saved is not None:
                        kernel.restore(saved)
                        kernel.store()
                        trainer.resumable = True
                    raise
                active = loop.active
                trainer.sweep = s0 + k
                cols = [j for j in range(k) if (s0 + j) % every == 0]
                if cols:
                    loop.history[:, (s0 + np.array(cols)) // every] = np.where(
                        active[:, None], reported[cols].T, np.nan)
                loop.sweeps[active] = s0 + k
                hit = solved_now & active & (loop.first_solved < 0)
                newly = hit.any(axis=0)
                loop.first_solved[newly] = s0 + np.argmax(hit, axis=0)[newly] + 1
                bad_now = active & (bad[-1] | ~params_ok)
                if bad_now.any():
                    kernel.store()
                    loop.diverged |= bad_now
                    notes.append(trainer._divergence_note(s0 + k, bad_now, reported[-1]))
                    active &= ~bad_now
                    if not active.any() and R == 1:
                        trainer.resumable = True
                        raise DivergenceError(notes[-1])
                loop.stopped |= active & done[-1]
                active &= ~done[-1]
                trainer.resumable = True
                if progress is not None:
                    kernel.store()
                    progress(trainer.sweep, cfg.max_sweeps, int(active.sum()))
    except KeyboardInterrupt:
        interrupted = True
    kernel.store()
    result_notes = list(notes)
    if interrupted:
        result_notes.append(f"interrupted at sweep {trainer.sweep}"
                            + ("" if trainer.resumable else " (in the middle of a sweep)"))
    with np.errstate(all="ignore"):
        final_error, final_out = trainer.evaluate()
    solved = (within(final_out, trainer.D, trainer.care, cfg.solve_margin, trainer.mid)
              & ~loop.diverged)
    return TrainResult(
        history=loop.history[:, : (trainer.sweep + every - 1) // every].copy(),
        sweeps=loop.sweeps.copy(), stopped=loop.stopped.copy(), solved=solved,
        first_solved=loop.first_solved.copy(), final_error=final_error,
        final_outputs=final_out, diverged=loop.diverged.copy(),
        interrupted=interrupted, history_every=every, notes=result_notes,
    )


__all__ = ["ENV", "Kernel", "ReplicaFirst", "ReplicaLast", "enabled", "make", "train", "why_not"]
