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
  sweeps (by the readable path's own functions, or in the replica-last layout by
  the same formulas summed there). A replica that stops or diverges inside a
  block rewinds the block (weights, ``Δw``, order generators) and replays it up
  to that sweep, so the result is that of sweep-by-sweep training;
* a **replica-last layout** ``(cases, units, R)`` for many tiny networks
  (:class:`ReplicaLast`): a projection becomes one ``np.einsum`` over all
  replicas instead of ``R`` tiny matrix products, and the input layer, shared
  by every replica, one matrix product for all of them; see the class for the
  passes it saves (−ε folded into the deltas, ``exp(−x)`` logistics, zero-input
  cases skipped).

Agreement with the readable path (``tests/test_fast.py``):

* replica-first (:class:`ReplicaFirst`, used for one network and for large
  layers) performs the same floating-point operations in the same order, so its
  numbers are **bit for bit** those of the readable path — except that the
  logistic of a net input below ``−log(max float) + 1`` (−708 in float64, −87 in
  float32) is ``1/(1 + e^{−x})`` (or 0) rather than the readable path's
  correctly rounded ``e^x``: both are below 1e-307 (1e-38);
* replica-last sums over cases and units in another order, so it agrees to
  rounding (relative differences around 1e-15 per sweep).

With numba installed (``pip install backprop86[fast]``), two kinds of run get
compiled loops (numba is imported only then; ``BACKPROP86_NUMBA=0`` keeps the
NumPy calls):

* many tiny networks with one hidden group trained full batch go to
  :class:`backprop86.kernels.NumbaLast`: the replica-last layout and its block
  bookkeeping, each block of sweeps one compiled loop over the networks
  (``tests/test_kernels.py``);
* one network of at least :data:`FUSED_MIN` parameters goes to
  :class:`backprop86.fused.NumbaFirst`: :class:`ReplicaFirst` with each run of
  element-wise steps between its matrix products one compiled loop, still bit
  for bit (``tests/test_fused.py``).

``BACKPROP86_FAST=0`` in the environment (or ``trainer.use_fast = False``) forces
the readable path.
"""

from __future__ import annotations

import importlib.util
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
#: Environment variable that switches the compiled (numba) sweep off; the NumPy fast path stays.
NUMBA_ENV = "BACKPROP86_NUMBA"

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
    if out == "softmax" and not np.all(trainer.D.sum(axis=-1) == 1.0):
        return "softmax outputs need targets that sum to 1 in every case (dE/dx = y - d)"
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
        if compiled_fits(trainer):
            from backprop86.kernels import NumbaLast  # imports numba: only here

            return NumbaLast(trainer)
        return ReplicaLast(trainer)
    if compiled_enabled() and fused_fits(trainer):
        from backprop86.fused import NumbaFirst  # imports numba: only here

        return NumbaFirst(trainer)
    return ReplicaFirst(trainer)


def compiled_enabled() -> bool:
    """Whether numba is installed and ``BACKPROP86_NUMBA`` (default on) allows its sweep."""
    if os.environ.get(NUMBA_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return importlib.util.find_spec("numba") is not None


#: :class:`backprop86.fused.NumbaFirst` trains one network from this many parameters on
#: (a tiny network's NumPy calls are cheap, and importing numba costs about 0.3 s).
FUSED_MIN = 1 << 14


def fused_fits(trainer) -> bool:
    """Whether :class:`backprop86.fused.NumbaFirst` should train this replica-first run:
    one network with at least :data:`FUSED_MIN` parameters."""
    net = trainer.net
    return net.replicas == 1 and sum(p.size for p in net.params.values()) >= FUSED_MIN


def compiled_fits(trainer) -> bool:
    """Whether :class:`backprop86.kernels.NumbaLast` can train this replica-last run.

    One hidden group, full-batch grain, a squared error (reported and trained),
    logistic/tanh/linear units, no weight decay, float64.
    """
    cfg, layers = trainer.config, chain_layers(trainer.net)
    return (layers is not None and len(layers) == 2 and cfg.grain == "sweep"
            and cfg.error in ("sse", "tss", "mse") and trainer.report.name != "cross_entropy"
            and all(ly.activation in ("logistic", "tanh", "linear") for ly in layers)
            and not cfg.decay and trainer.net.dtype == np.float64 and compiled_enabled())


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
        keeps = self._keeps_records()
        recorded = self.B if keeps else 0  # cases recorded per chunk
        per_sweep = R * self.N * n_out * dt.itemsize if keeps else 0
        self.block = max(1, min(BLOCK, RECORD_BYTES // max(per_sweep, 1), cfg.max_sweeps))
        rows = self.block + (1 if cfg.stop_margin is not None else 0)
        self.record_y = np.empty((rows, self.full, *self._record_shape(recorded)), dt)
        self.tail_y = np.empty((rows, *self._record_shape(self.tail)), dt)
        wants_x = trainer.report.name == "cross_entropy"
        self.record_x = np.empty_like(self.record_y) if wants_x else None
        self.tail_x = np.empty_like(self.tail_y) if wants_x else None
        if cfg.order == "sequential":  # every sweep's chunks have the same targets
            self.record_d, self.tail_d = self._target_records(trainer.D)
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
        # a block's bookkeeping, (sweeps, R): written in place, so a block allocates little
        self.bad, self.done, self.event = (np.empty((self.block, R), bool) for _ in range(3))

    def _keeps_records(self) -> bool:
        """Whether a block records its outputs (a subclass that measures the block's error
        itself may not): when it does, their size bounds the block's length."""
        return True

    # ------------------------------------------------------------------ parameters

    def _flat(self, shapes: list[tuple[str, tuple[int, ...]]], replica_axis: int) -> list:
        """Allocate :attr:`P`, :attr:`S`, :attr:`G` and return ``(w, Δw, ∂E/∂w)`` views per name.

        ``replica_axis`` is where the replica axis sits in each view (0 or -1).
        """
        dt, total = self.dtype, sum(int(np.prod(s)) for _, s in shapes)
        self.P, self.S, self.G = (np.empty(total, dt) for _ in range(3))
        self.saved_P, self.saved_S = np.empty(total, dt), np.empty(total, dt)  # see save()
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
        ops.append((np.add, (self.P, dw, self.P)))  # w(t+1) = w(t) + Δw(t)
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
        return block_measures(self.trainer, parts)

    def stopped_by_margin(self, k: int) -> Array:
        """``(k, R)``: after sweep ``j`` every output within ``stop_margin`` of its target.

        The outputs after sweep ``j`` are the ones recorded at the start of sweep
        ``j + 1`` (sweep grain: one chunk).
        """
        from backprop86.train import within

        after, d = self.record_y[1:k + 1, 0], self.record_d[1:k + 1, 0]  # (k, R, N, n_out)
        shape = (k * self.R, *after.shape[2:])
        return within(after.reshape(shape), d.reshape(shape), None, self.cfg.stop_margin,
                      self.trainer.mid).reshape(k, self.R)

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
        return [rng.bit_generator.state for rng in self.trainer.order_rngs or []]

    def restore(self, state: object) -> None:
        np.copyto(self.P, self.saved_P)
        np.copyto(self.S, self.saved_S)
        self.dw_in_G = False
        for rng, st in zip(self.trainer.order_rngs or [], state, strict=True):  # type: ignore
            rng.bit_generator.state = st

    def store(self) -> None:
        """Make ``net.params`` and the optimizer's ``Δw`` hold the kernel's state."""
        if self.dw_in_G:  # the optimizer's Δw are views of S
            np.copyto(self.S, self.G)

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
                 relu: bool) -> None:
        self.x, self.y, self.t, self.delta, self.back = (np.empty(shape, dtype) for _ in range(5))
        self.one = np.ones(shape, dtype)
        self.zeros = np.zeros(shape, dtype) if relu else None
        self.mask = np.empty(shape, bool) if relu else None
        self.row = np.empty(row, dtype)


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
        for i, buf in enumerate(bufs):
            x, y = (x_out, y_out) if i == last else (buf.x, buf.y)
            ops.append((self.mm, (y_in, self.W[i], x)))  # eq (1): x = y_in @ W
            self._bias_activate(ops, i, x, y, buf)
            y_in = y

    def _bias_activate(self, ops: Program, i: int, x: Array, y: Array, buf: Buffers) -> None:
        """Eq. (1)'s bias, ``x += b``, then eq. (2), ``y = f(x)``, for layer ``i``."""
        if self.b[i] is not None:
            ops.append((np.add, (x, self.b[i], x)))
        self._activate(ops, self.layers[i].activation, x, y, buf)

    def _program(self, y_in: Array, bufs: list[Buffers], x_out: Array, y_out: Array,
                 d: Array, size: int) -> Program:
        """Forward, eqs. (3)–(7) backward, and eqs. (8)–(9) for one chunk of ``size`` cases."""
        ops: Program = []
        self._forward(ops, y_in, bufs, x_out, y_out)
        mm, layers = self.mm, self.layers
        last = len(layers) - 1
        delta = self._output_delta_and_bias(ops, x_out, y_out, d, bufs[last], size,
                                            self.gb[last])
        for i in range(last, -1, -1):
            y_src = y_in if i == 0 else bufs[i - 1].y
            ops.append((mm, (y_src.swapaxes(-1, -2), delta, self.gW[i])))  # eq (6)
            if i == 0:
                break
            # eq (7): dE/dy_i = Σ_j dE/dx_j w_ji
            ops.append((mm, (delta, self.W[i].swapaxes(-1, -2), bufs[i - 1].back)))
            delta = self._hidden_delta_and_bias(ops, i - 1, bufs[i - 1], self.gb[i - 1])
        return ops

    def _output_delta_and_bias(self, ops: Program, x: Array, y: Array, d: Array, buf: Buffers,
                               size: int, gb: Array | None) -> Array:
        """Eqs. (4)–(5) at the output group, then eq. (6) for its bias (``y_i = 1``)."""
        delta = self._output_delta(ops, x, y, d, buf, size)
        self._bias_gradient(ops, delta, gb)
        return delta

    def _hidden_delta_and_bias(self, ops: Program, i: int, buf: Buffers,
                               gb: Array | None) -> Array:
        """Eq. (5) into layer ``i``'s units from ``buf.back`` (eq. 7), then its bias's eq. (6)."""
        delta = self._through_unit(ops, self.layers[i].activation, buf.x, buf.y, buf.back,
                                   buf.delta, buf)
        self._bias_gradient(ops, delta, gb)
        return delta

    def _bias_gradient(self, ops: Program, delta: Array, gb: Array | None) -> None:
        """Eq. (6) for a bias: ``∂E/∂b = Σ_cases δ``."""
        if gb is not None:
            ops.append((partial(np.add.reduce, axis=-2, keepdims=True, out=gb), (delta,)))

    def sweep(self, k: int) -> None:
        if not self.gathered:
            for program in self.programs[k]:
                run(program)
                run(self.step)  # eqs (8)-(9)
        else:
            order, X, D = self.trainer._chunks(), self.trainer.X, self.trainer.D
            for c, program in enumerate(self.programs[k]):
                size = order[c].shape[1]
                x_in, d_in = self.gathered[size]
                np.take(X, order[c], axis=0, out=x_in)  # this chunk's cases, shuffled
                np.take(D, order[c], axis=0, out=d_in)
                np.copyto(self.record_d[k, c] if c < self.full else self.tail_d[k], d_in)
                run(program)
                run(self.step)
        self.dw_in_G = self.rates[1] == 0.0

    def outputs_after(self, k: int) -> None:
        run(self.after[k])


class ReplicaLast(Kernel):
    """Many tiny networks in the layout ``(cases, units, R)``: replicas on the fast axis.

    A projection ``x[c, j, r] = Σ_i y[c, i, r] w[i, j, r]`` becomes one
    ``np.einsum`` over all replicas (one pass, products summed as they are
    made) instead of ``R`` tiny matrix products; from the input group, which
    every replica sees alike, it is one matrix product ``X (c, i) @ W (i, j·R)``.
    Cases come in order. The kernel keeps the weights and ``Δw`` in its own
    layout; :meth:`store` writes them back.

    An update here is a short list of NumPy calls, each over every replica, so
    it costs the calls' passes over memory; it makes as few as it can:

    * **−ε folded into the deltas.** The output deltas are multiplied by
      ``−ε`` (and by the error's constant factor and ``1/B`` for a mean), so
      eq. (6) yields ``−ε ∂E/∂w`` directly and eq. (8) is a single ``w += Δw``;
      without momentum ``Δw`` is the gradient buffer :attr:`G` itself.
    * **Logistic units from ``e = exp(−x)``**: ``y = 1/(1 + e)``; from the
      input group the product ``(−X) @ W`` gives ``−x`` at no cost (negation
      is exact).
    * **Zero input rows.** Without a bias on the first layer, a case whose
      inputs are all 0 (XOR's ``00``) gives that layer the net input 0 in
      every replica at every update: its activity is the constant ``f(0)``
      and it adds nothing to the first layer's gradient, so the first layer
      is computed for the other cases only. Such cases go first in their
      chunk (the sums over cases only change order).
    * **Bookkeeping in this layout**: outputs are recorded as ``(B, n, R)``
      and the block's error and solved flags summed over cases there.

    The sums run in another order than the readable path's, so the numbers
    agree to rounding (``tests/test_fast.py``).
    """

    unit_axis = 1

    def __init__(self, trainer) -> None:
        super().__init__(trainer)
        net, R, dt = self.net, self.R, self.dtype
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
        # the rates, as 0-d arrays that the programs read
        self.l2_rate = np.zeros((), dt)  # −ε · decay
        self.scale = {s: np.zeros((), dt) for s in {self.B, self.tail} if s}  # −ε · factor
        self.one = np.ones((), dt)
        X = self.trainer.X[self.order]
        D = self.trainer.D[self.order][:, :, None]  # (N, n_out, 1)
        buffers = {size: self._buffers_last(size) for size in self.scale}
        n_chunks = self.full + (1 if self.tail else 0)
        shared = {size: (self.full if size == self.B else 0) + (size == self.tail) > 1
                  for size in buffers}  # buffers that several chunks use in turn
        self.programs: list[Program] = []
        #: ``records[k][c]``: copy chunk ``c``'s outputs to row ``k`` of the records
        self.records: list[list[Program]] = [[] for _ in range(self.record_y.shape[0])]
        for c in range(n_chunks):
            full = c < self.full
            size = self.B if full else self.tail
            cases = slice(c * self.B, c * self.B + size)
            bufs = buffers[size]
            self.programs.append(self._program(X[cases], D[cases], self.zeros[c], bufs,
                                               shared[size]))
            for k, row in enumerate(self.records):
                ops = [(np.copyto, (self.record_y[k, c] if full else self.tail_y[k],
                                    bufs[-1].y))]
                if self.record_x is not None:
                    ops.append((np.copyto, (self.record_x[k, c] if full else self.tail_x[k],
                                            bufs[-1].x)))
                row.append(ops)
        self.after: Program = []
        if self.cfg.stop_margin is not None:  # sweep grain: one chunk of all cases
            self._forward(self.after, X, self.zeros[0], buffers[self.B], shared[self.B])
        # bookkeeping scratch: residuals, flags for the side-of-mid test, per-sweep results
        self.residual = np.empty_like(self.record_y)
        self.tail_residual = np.empty_like(self.tail_y)
        self.flags = np.empty(self.record_y.shape, bool)
        self.tail_flags = np.empty(self.tail_y.shape, bool)
        self.high = self.record_d[:1] > trainer.mid  # targets above the midpoint
        self.tail_high = self.tail_d[:1, None] > trainer.mid
        rows = self.record_y.shape[0]
        self.reported, self.part = np.empty((rows, R), dt), np.empty((rows, R), dt)
        self.solved, self.ok = np.empty((rows, R), bool), np.empty((rows, R), bool)

    # ------------------------------------------------------------------ layout

    def _shape(self, size: int, n: int) -> tuple[int, ...]:
        return (size, n, self.R)

    def _record_shape(self, size: int) -> tuple[int, ...]:
        return (size, self.layers[-1].n_out, self.R)

    def _target_records(self, D: Array) -> tuple[Array, Array]:
        """Targets ``(…, B, n_out, 1)`` beside the records, cases in :attr:`order`."""
        self.order, self.zeros = self._zero_rows_first(self.trainer.X)
        D = D[self.order][:, :, None]
        cut = self.full * self.B
        full = D[:cut].reshape(self.full, self.B, *D.shape[1:])
        rows = self.record_y.shape[0]
        return (np.broadcast_to(full, (rows, *full.shape)),
                np.broadcast_to(D[cut:], (rows, *D[cut:].shape)))

    def _zero_rows_first(self, X: Array) -> tuple[Array, list[int]]:
        """The case order (all-zero input rows first in each chunk) and their count per chunk.

        Only when the first layer has no bias and feeds a hidden group (see the
        class docstring); otherwise the cases stay in order and no row counts.
        """
        n_chunks = self.full + (1 if self.tail else 0)
        order = np.arange(self.N)
        if self.layers[0].bias is not None or len(self.layers) < 2:
            return order, [0] * n_chunks
        zero = ~X.any(axis=1)
        zeros = []
        for c in range(n_chunks):
            cases = order[c * self.B:(c + 1) * self.B]
            order[c * self.B:(c + 1) * self.B] = np.concatenate([cases[zero[cases]],
                                                                 cases[~zero[cases]]])
            zeros.append(int(zero[cases].sum()))
        return order, zeros

    def load(self) -> None:
        """Take the weights and ``Δw`` from the network and the optimizer."""
        steps = self.trainer.optimizer._step
        for name, (w, dw, _) in self.views.items():
            for dst, src in ((w, self.net.params[name]), (dw, steps[name])):
                np.copyto(dst, np.moveaxis(src[:, 0] if name.startswith("b:") else src, 0, -1))
        self.dw_in_G = False

    def store(self) -> None:
        steps = self.trainer.optimizer._step
        for name, (w, dw, g) in self.views.items():
            for src, dst in ((w, self.net.params[name]), (g if self.dw_in_G else dw, steps[name])):
                np.copyto(dst[:, 0] if name.startswith("b:") else dst, np.moveaxis(src, -1, 0))

    # ------------------------------------------------------------------ rates and eqs. (8)-(9)

    def _factor(self, size: int) -> float:
        """The constant of the output deltas: ``dE/dx = factor · (y − d) f'(x)``."""
        cfg, n_out = self.cfg, self.layers[-1].n_out
        factor = {"tss": 2.0, "mse": 2.0 / (size * n_out)}.get(cfg.error, 1.0)
        return factor / size if cfg.reduction == "mean" else factor

    def _rates_changed(self) -> None:
        assert self.rates is not None
        lr = float(self.rates[0])
        self.l2_rate[...] = -lr * self.cfg.decay
        for size, scale in self.scale.items():
            scale[...] = -lr * self._factor(size)
        self._build_step()

    def _build_step(self) -> None:
        """Eqs. (8)–(9) from ``G = −ε ∂E/∂w``, as a program: ``Δw = G (+ α Δw)``, ``w += Δw``."""
        if self.rates is None:
            return
        G, S = self.G, self.S
        ops: Program = []
        for w, g, tmp in self.l2:  # L2 decay: −ε (∂E/∂w + decay · w)
            ops += [(np.multiply, (w, self.l2_rate, tmp)), (np.add, (g, tmp, g))]
        dw = G  # eq (8)
        if self.rates[1] != 0.0:
            dw = S
            ops += [(np.multiply, (S, self.alpha, S)), (np.add, (S, G, S))]  # eq (9)
        self.step = ops + self._apply_step(dw)

    # ------------------------------------------------------------------ an update, as a program

    def _buffers_last(self, size: int) -> list[LastBuffers]:
        dt, R = self.dtype, self.R
        return [LastBuffers(size, ly.n_out, R, dt, self.one) for ly in self.layers]

    def _needs_x(self, i: int) -> bool:
        """Whether layer ``i``'s net input must be kept (recorded, or relu's derivative)."""
        last = i == len(self.layers) - 1
        return (last and self.record_x is not None) or self.layers[i].activation != "logistic"

    def _forward(self, ops: Program, X: Array, zeros: int, bufs: list[LastBuffers],
                 shared: bool) -> None:
        """Eqs. (1)–(2) for every replica at once; the first ``zeros`` cases have zero inputs.

        ``shared``: other chunks use the same buffers, so the constant activity of
        the zero-input cases is written at every update rather than once.
        """
        y_in = X
        for i, layer in enumerate(self.layers):
            W, b, buf = self.W[i], self.b[i], bufs[i]
            n_in, n_out, R = W.shape
            logistic = layer.activation == "logistic"
            rows = slice(zeros, None) if i == 0 else slice(None)
            if i == 0 and zeros:  # f(0) for the zero-input cases, whose net input is 0
                f = self.net.functions[self.net.groups[1].name]
                f0 = f.forward(np.zeros((), self.dtype)).astype(self.dtype)
                np.copyto(buf.y[:zeros], f0)
                if shared:
                    ops.append((np.copyto, (buf.y[:zeros], f0)))
            x = buf.e if logistic else buf.x  # logistic units compute e = exp(−x) in place
            if i == 0:  # the input group is shared: one matrix product for all replicas
                size = len(X) - zeros
                src = -X[rows] if logistic else X[rows]  # (−X) @ W = −x exactly
                ops.append((np.dot, (src, W.reshape(n_in, n_out * R),
                                     x[rows].reshape(size, n_out * R))))
                if b is not None:
                    ops.append((np.subtract if logistic else np.add, (x, b, x)))
                if logistic and self._needs_x(i):
                    ops.append((np.negative, (x, buf.x)))
            else:
                if n_in == 1:  # one source unit: nothing to sum
                    ops.append((np.multiply, (y_in, W[0], buf.x)))
                else:  # eq (1): x[c, j, r] = Σ_i y[c, i, r] w[i, j, r]
                    ops.append((einsum("cir,ijr->cjr", buf.x), (y_in, W)))
                if b is not None:
                    ops.append((np.add, (buf.x, b, buf.x)))
                if logistic:
                    ops.append((np.negative, (buf.x, x)))
            if logistic:  # eq (2): y = 1 / (1 + e^-x)
                ops += [(np.exp, (x[rows], x[rows])), (np.add, (x[rows], self.one, buf.y[rows])),
                        (np.divide, (self.one, buf.y[rows], buf.y[rows]))]
            else:
                self._activate(ops, layer.activation, buf.x[rows], buf.y[rows], buf)
            y_in = buf.y

    def _program(self, X: Array, D: Array, zeros: int, bufs: list[LastBuffers],
                 shared: bool) -> Program:
        """One update on a chunk: forward, eqs. (3)–(7) backward, eqs. (8)–(9)."""
        ops: Program = []
        self._forward(ops, X, zeros, bufs, shared)
        layers, size = self.layers, len(X)
        last = len(layers) - 1
        out = bufs[last]
        if out.y.nbytes <= 1 << 20:  # targets for every replica: a plain subtraction
            D = np.ascontiguousarray(np.broadcast_to(D, out.y.shape))
        delta = out.delta
        ops.append((np.subtract, (out.y, D, delta)))  # eq (4): y - d
        if self.cfg.error != "cross_entropy":  # eq (5); cross-entropy: dE/dx = y - d
            delta = self._through_unit(ops, layers[last].activation, out.x, out.y, delta,
                                       delta, out)
        ops.append((np.multiply, (delta, self.scale[size], delta)))  # × −ε · factor
        for i in range(last, -1, -1):
            W = self.W[i]
            n_in, n_out, R = W.shape
            if self.gb[i] is not None:  # eq (6) for the bias, y_i = 1
                ops.append((partial(np.add.reduce, axis=0, out=self.gb[i]), (delta,)))
            if i == 0:  # eq (6) from the shared input: one matrix product
                live = slice(zeros if self.layers[0].bias is None else 0, None)
                ops.append((np.dot, (X[live].T, delta[live].reshape(-1, n_out * R),
                                     self.gW[0].reshape(n_in, n_out * R))))
                break
            below = bufs[i - 1]
            ops.append((einsum("cir,cjr->ijr", self.gW[i]), (below.y, delta)))  # eq (6)
            rows = slice(zeros, None) if i == 1 else slice(None)  # zero-input cases: no need
            d, back = delta[rows], below.back[rows]
            if n_out == 1:  # eq (7) with one target unit: nothing to sum
                ops.append((np.multiply, (d, W[:, 0], back)))
            else:  # eq (7): dE/dy_i = Σ_j dE/dx_j w_ij
                ops.append((einsum("cjr,ijr->cir", back), (d, W)))
            self._through_unit(ops, layers[i - 1].activation, below.x[rows], below.y[rows],
                               back, below.delta[rows], below.sliced(rows))
            delta = below.delta
        return ops

    def sweep(self, k: int) -> None:
        for program, record in zip(self.programs, self.records[k], strict=True):
            run(program)
            run(record)
            run(self.step)  # eqs (8)-(9)
        self.dw_in_G = self.rates[1] == 0.0

    def outputs_after(self, k: int) -> None:
        run(self.after)
        run(self.records[k][0])

    # ------------------------------------------------------------------ bookkeeping

    def measures(self, k: int) -> tuple[Array, Array]:
        """The block's error and solved flags summed over cases in this layout.

        The squared-error reports are ``factor · Σ (y − d)²`` over a sweep's cases
        and units; the others go through :func:`block_measures` on a transposed copy.
        """
        report = self.trainer.report.name
        parts = [(self.record_y[:k], self.record_d[:k], self.high, self.residual[:k],
                  self.flags[:k])]
        if self.tail:
            parts.append((self.tail_y[:k, None], self.tail_d[:k, None], self.tail_high,
                          self.tail_residual[:k, None], self.tail_flags[:k, None]))
        if report not in ("sse", "tss", "mse"):  # (k, chunks, B, n, R) → (k, chunks, R, B, n)
            xs = [None, None] if self.record_x is None else [self.record_x[:k],
                                                              self.tail_x[:k, None]]
            return block_measures(self.trainer, [
                (np.moveaxis(y, -1, 2), None if x is None else np.moveaxis(x, -1, 2),
                 np.moveaxis(np.broadcast_to(d, y.shape), -1, 2))
                for (y, d, _, _, _), x in zip(parts, xs, strict=False)])
        factor = {"sse": 0.5, "tss": 1.0, "mse": 1.0 / (self.N * self.layers[-1].n_out)}[report]
        reported, solved = self.reported[:k], self.solved[:k]
        for j, (y, d, high, r, flags) in enumerate(parts):
            np.subtract(y, d, out=r)
            self._on_target(y, high, r, flags, self.cfg.solve_margin,
                            solved if j == 0 else self.ok[:k])
            r = r.reshape(k, -1, self.R)
            np.einsum("kmr,kmr->kr", r, r, out=reported if j == 0 else self.part[:k])
            if j:
                solved &= self.ok[:k]
                reported += self.part[:k]
        reported *= factor
        return reported, solved

    def stopped_by_margin(self, k: int) -> Array:
        y, d = self.record_y[1:k + 1, :1], self.record_d[1:k + 1, :1]
        r, flags = self.residual[:k, :1], self.flags[:k, :1]
        np.subtract(y, d, out=r)
        return self._on_target(y, self.high, r, flags, self.cfg.stop_margin, self.ok[:k])

    def _on_target(self, y: Array, high: Array, r: Array, flags: Array,
                   margin: float | None, out: Array) -> Array:
        """``out`` ``(k, R)``: :func:`train.on_target` for every case and unit of a sweep.

        ``y`` and ``r = y − d`` are ``(k, chunks, B, n, R)``, ``high = d > mid``;
        ``|r|`` replaces ``r`` when ``margin`` is given (all ``|r| < margin`` ⇔
        ``max |r| < margin``, NaN included).
        """
        k, R = out.shape
        if margin is None:
            np.greater(y, self.trainer.mid, out=flags)
            np.equal(flags, high, out=flags)
            return np.logical_and.reduce(flags.reshape(k, -1, R), axis=1, out=out)
        np.abs(r, out=r)
        largest = np.maximum.reduce(r.reshape(k, -1, R), axis=1, out=self.part[:k])
        return np.less(largest, margin, out=out)


def einsum(subscripts: str, out: Array) -> Callable[..., Array]:
    """``np.einsum(subscripts, *operands, out=out)``: one pass for a product summed over an axis."""
    return partial(np.einsum, subscripts, out=out, optimize=False)


class LastBuffers:
    """One layer's arrays ``(B, n, R)`` for one update of :class:`ReplicaLast`.

    ``e`` holds the logistic's ``exp(−x)``.
    """

    def __init__(self, size: int, n: int, R: int, dtype: np.dtype, one: Array) -> None:
        shape = (size, n, R)
        self.x, self.e, self.y, self.t, self.delta, self.back = (np.empty(shape, dtype)
                                                                 for _ in range(6))
        self.one = one  # 0-d
        self.zeros = np.zeros(shape, dtype)
        self.mask = np.empty(shape, bool)
        self.row = np.empty((size, 1, R), dtype)

    def sliced(self, rows: slice) -> LastBuffers:
        """The buffers ``_through_unit`` uses (``t``, ``mask``, ``one``) for the cases ``rows``."""
        view = object.__new__(LastBuffers)
        view.t, view.mask, view.one = self.t[rows], self.mask[rows], self.one
        return view


# ----------------------------------------------------------------------------
# The loop: blocks of sweeps, bookkeeping vectorised over each block
# ----------------------------------------------------------------------------


def block_measures(trainer, parts: list[tuple[Array, Array | None, Array]]
                   ) -> tuple[Array, Array]:
    """Reported error and solved flags ``(k, R)`` from records ``(k, chunks, R, size, n)``.

    ``parts`` holds ``(y, x, d)`` records: the full chunks, then the tail chunk
    (``chunks = 1``), if any. Computed by the readable path's own functions on
    the recorded outputs, summed over a sweep's chunks in chunk order, as
    :meth:`Trainer.run_sweep` sums them.
    """
    from backprop86.train import within

    cfg, R, n_cases = trainer.config, trainer.net.replicas, trainer.task.n_cases
    report, f = trainer.report, trainer.net.functions[trainer.net.outputs[0]]
    reported = None
    solved = None
    for rec_y, rec_x, rec_d in parts:
        k, chunks, _, size, n = rec_y.shape
        y = rec_y.reshape(k * chunks * R, size, n)
        d = rec_d.reshape(k * chunks * R, size, n)
        x = None if rec_x is None else rec_x.reshape(k * chunks * R, size, n)
        share = size / n_cases if report.name == "mse" else 1.0
        value = (share * report.value(y, d, x, f, None)).reshape(k, chunks, R)
        # chunk by chunk from 0, as run_sweep accumulates; the tail chunk comes last
        reported = np.cumsum(value, axis=1)[:, -1] if reported is None else reported + value[:, 0]
        ok = within(y, d, None, cfg.solve_margin, trainer.mid).reshape(k, chunks, R).all(axis=1)
        solved = ok if solved is None else solved & ok
    assert reported is not None and solved is not None
    return reported.astype(trainer.net.dtype, copy=False), solved


def block_events(trainer, kernel: Kernel, reported: Array) -> tuple[Array, Array]:
    """Per sweep of the block ``(k, R)``: non-finite reported error, and the stopping rule met.

    The stopping rule is tested after each sweep's update, as
    :meth:`Trainer._stop_rule` tests it.
    """
    cfg, k = trainer.config, reported.shape[0]
    bad = np.isfinite(reported, out=kernel.bad[:k])
    np.logical_not(bad, out=bad)
    done = kernel.done[:k]
    if cfg.ecrit is not None:
        np.less(reported, cfg.ecrit, out=done)
    else:
        done.fill(False)
    if cfg.stop_margin is not None:
        done |= kernel.stopped_by_margin(k)
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
    from backprop86.train import (
        _finish_sweep_on_ctrl_c,
    )

    cfg, R = trainer.config, kernel.R
    every = cfg.history_every
    loop = trainer._start_loop()
    notes = loop.notes
    interrupted = False
    # non-finite values are detected below and reported as divergence, not as warnings
    def quiet() -> np.errstate:
        return np.errstate(over="ignore", invalid="ignore", divide="ignore")

    def run(s0: int, k: int, until_nonfinite: bool = False) -> int:
        """Train sweeps ``s0 … s0 + k - 1``; the number done (fewer on a stop request)."""
        with quiet():
            if not until_nonfinite and hasattr(kernel, "sweeps"):  # a compiled block of sweeps
                return kernel.sweeps(s0, k)
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
                        reported, solved_now = kernel.measures(k)
                        bad, done = block_events(trainer, kernel, reported)
                        params_ok = kernel.finite_params()
                    event = np.logical_or(bad, done, out=kernel.event[:k])
                    event &= loop.active
                    rows = np.flatnonzero(event.any(axis=1))
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
                first = -s0 % every  # the block's sweeps that the history keeps
                if first < k:
                    c0 = (s0 + first) // every
                    kept = loop.history[:, c0:c0 + len(range(first, k, every))]
                    np.copyto(kept, reported[first::every].T)
                    if not active.all():
                        kept[~active] = np.nan
                loop.sweeps[active] = s0 + k
                hit = np.logical_and(solved_now, active & (loop.first_solved < 0), out=solved_now)
                newly = hit.any(axis=0)
                if newly.any():  # the block's first solved sweep of those (few) replicas
                    loop.first_solved[newly] = s0 + np.argmax(hit[:, newly], axis=0) + 1
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
    return trainer._result(interrupted)


__all__ = ["ENV", "Kernel", "ReplicaFirst", "ReplicaLast", "enabled", "make", "train", "why_not"]
