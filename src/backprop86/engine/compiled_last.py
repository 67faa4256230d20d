"""The compiled replica-last engine: many tiny one-hidden-layer networks (needs numba).

The NumPy replica-last engine (:class:`backprop86.engine.numpy_last.NumpyLast`) trains ``R``
networks with one NumPy call per step of the update, each a pass over every
network's arrays. Here a whole block of sweeps is one compiled call: the networks,
held in the replica-last layout ``(…, R)`` of
:class:`~backprop86.engine.numpy_last.NumpyLast`, are cut into tiles of :data:`TILE`;
each tile is copied into arrays of its own, trained for all the block's sweeps while
they stay in the core's nearest cache (eqs. 1–9, the loops running over the tile's
networks, which the compiler vectorises), and copied back. The sweeps write the
block's reported error and solved flags themselves; the rest of the block's
bookkeeping (stopping, rewinds, divergence, history) is the training loop's and
:class:`~backprop86.engine.numpy_last.NumpyLast`'s, unchanged.

Scope: a chain ``input → hidden → output`` (one hidden group), full-batch
grain (one update per sweep), cases in order, ``sse``/``tss``/``mse``,
logistic, tanh or linear units, biases optional, gradient descent with
momentum, no weight decay. :mod:`backprop86.engine.select` picks it when numba is
installed (engine ``compiled-last``).

Per network and case ``c``, with ``factor`` the error's constant (``½·2`` for
sse, 2 for tss, ``2/(N·n_out)`` for mse, ``/N`` more for a mean reduction):

* eq. (1)–(2): ``x_j = b_j + Σ_i y_i w_ji``, ``y_j = f(x_j)``, hidden then output;
* eqs. (3)–(5): ``δ_o = factor · (y_o − d_o) · f'(y_o)``;
* eq. (7): ``δ_j = f'(y_j) · Σ_o δ_o w_oj``;
* eq. (6): ``∂E/∂w_ji += δ_j y_i`` (``y_i = 1`` for a bias), summed over the cases;
* eqs. (8)–(9): ``Δw = α Δw − ε ∂E/∂w`` (``−ε ∂E/∂w`` when ``α = 0``),
  ``Δw ·= keep`` (0 for a stopped network), ``w += Δw``.

Sums over cases run case by case in order, so the numbers agree with the
readable path to rounding (``tests/test_engine_compiled_last.py``). The loops may fuse a
product and a sum into one rounding (``fastmath={"contract"}``: FMA instructions,
about a sixth faster here); no other fast-math liberty is taken, so NaN and
infinities behave as IEEE arithmetic says. Every network makes the same operations in
the same order whether its tile is vectorised or (narrower than :data:`NARROW`)
trained a network at a time, and whatever the block's length: replica ``r`` of a batch
equals the run of its seed alone, bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from backprop86.arrays import Array
from backprop86.engine.base import Setup
from backprop86.engine.blocked import PARALLEL_MIN, RECORD_BYTES
from backprop86.engine.numpy_last import NumpyLast

#: Activation codes of the compiled kernel. ``LIBRARY_LOGISTIC`` is the logistic with the
#: library's ``exp``, one call per number: only the ablation in ``benchmarks/`` uses it.
CODES = {"logistic": 0, "tanh": 1, "linear": 2}
LIBRARY_LOGISTIC = 3


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _f(x: float, code: int) -> float:
    """Eq. (2): ``y = f(x)``."""
    if code == 0 or code == LIBRARY_LOGISTIC:
        return 1.0 / (1.0 + np.exp(-x))
    if code == 1:
        return np.tanh(x)
    return x


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _df(y: float, code: int) -> float:
    """``f'(x)`` from ``y = f(x)``: ``y (1 − y)``, ``1 − y²`` or 1."""
    if code == 0 or code == LIBRARY_LOGISTIC:
        return y * (1.0 - y)
    if code == 1:
        return 1.0 - y * y
    return 1.0


#: ``exp`` by ``2^k · p(r)``: ``k = round(a / ln 2)``, ``r = a − k ln 2`` (``ln 2`` in two
#: parts, Cody and Waite), ``p`` the Taylor polynomial of ``e^r`` to degree 13 (|r| ≤ ln 2 / 2:
#: truncation below 1e-17); ``k`` read from the bits of ``a / ln 2 + SHIFT``.
LOG2E = 1.4426950408889634
LN2_HI = 0.6931471803691238
LN2_LO = 1.9082149292705877e-10
SHIFT = 6755399441055744.0  # 1.5 · 2^52: adding it rounds to an integer, kept in the low bits
SHIFT_BITS = 0x4338000000000000  # SHIFT's bit pattern


#: ``1 / n!`` for ``n = 0 … 13``: the Taylor coefficients of ``e^t``.
INVERSE_FACTORIALS = tuple(1.0 / math.factorial(n) for n in range(14))


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _taylor(t: float) -> float:
    """``e^t ≈ Σ_{n ≤ 13} t^n / n!`` by Horner's rule (a loop of constant length: unrolled)."""
    p = INVERSE_FACTORIALS[13]
    for n in range(12, -1, -1):
        p = p * t + INVERSE_FACTORIALS[n]
    return p


@intrinsic
def _bits_of(typingctx, x):
    """The int64 with the bit pattern of the float64 ``x`` (a reinterpretation, no conversion)."""
    if x != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def _float_of(typingctx, n):
    """The float64 with the bit pattern of the int64 ``n`` (a reinterpretation)."""
    if n != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _logistic(x: float) -> float:
    """Eq. (2) for a logistic unit, ``1 / (1 + e^{−x})``, with ``e^{−x}`` computed here in
    operations the compiler vectorises over a loop of networks (a library ``exp`` is one call
    per number).

    ``s = a · LOG2E + SHIFT`` holds ``k = round(a / ln 2)`` in its low bits: ``2^k`` is
    ``k + 1023`` in the exponent bits, and ``s − SHIFT`` is ``k`` itself (read once: whether
    the compiler fuses ``a · LOG2E + SHIFT`` into one rounding or not, scale and reduction
    agree). The exponent ``a = −x`` is clipped to ``[−708, 709]`` (``e^a`` stays finite: 1 or
    about 1e-308 where the readable path has 1 or 0); NaN stays NaN.
    """
    a = min(max(-x, -708.0), 709.0)
    s = a * LOG2E + SHIFT
    scale = _float_of((_bits_of(s) - SHIFT_BITS + 1023) << 52)  # 2^k
    k = s - SHIFT
    t = (a - k * LN2_HI) - k * LN2_LO  # |t| ≤ ln 2 / 2
    return 1.0 / (1.0 + _taylor(t) * scale)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _hidden_unit(h: Array, j: int, n: int, xi: float, w: Array, k: int, b: Array, m: int,
                 code: int) -> None:
    """Eqs. (1)–(2) of hidden unit ``j`` of a tile, its last input's term fused with its
    bias and ``f``: ``h[j] ← f(h[j] + x_i · w[k] + b[m])``.

    The tile's loops index its 2-d arrays (a row taken as an array of its own costs a
    reference count, and a tile's sweep would take hundreds), and hold no branch around a
    load or a store and no two names for one array (the compiler vectorises them only so):
    a unit without a bias gets a row of zeros (a sum that starts from +0 is never −0, so
    adding 0 changes nothing).
    """
    if code == 0:
        for r in range(n):
            h[j, r] = _logistic(h[j, r] + xi * w[k, r] + b[m, r])
    else:
        for r in range(n):
            h[j, r] = _f(h[j, r] + xi * w[k, r] + b[m, r], code)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _output_unit(x: Array, o: int, n: int, h: Array, j: int, w: Array, k: int, b: Array,
                 m: int, code: int) -> None:
    """Eqs. (1)–(2) of output unit ``o``, its last hidden unit's term fused with its bias and
    ``f``: ``x[o] ← f(x[o] + h[j] · w[k] + b[m])`` (see :func:`_hidden_unit`)."""
    if code == 0:
        for r in range(n):
            x[o, r] = _logistic(x[o, r] + h[j, r] * w[k, r] + b[m, r])
    else:
        for r in range(n):
            x[o, r] = _f(x[o, r] + h[j, r] * w[k, r] + b[m, r], code)


#: Tiles of fewer networks than this run a network at a time (:func:`_network`): the
#: vectorised loops cost more than they save on rows this short.
NARROW = 8


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _act(x: float, code: int) -> float:
    """Eq. (2), ``y = f(x)``: :func:`_logistic` for logistic units, else :func:`_f`."""
    return _logistic(x) if code == 0 else _f(x, code)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _network(r: int, lo: int, s: int, X: Array, D: Array, w1: Array, v1: Array, w2: Array,
             v2: Array, g1: Array, gv1: Array, g2: Array, gv2: Array, rec_y: Array, t: Array,
             h: Array, delta: Array, record: bool, act_h: int, act_o: int, factor: float,
             mid: float, margin: float) -> None:
    """One sweep's cases (eqs. 1–7) of network ``r`` of a tile (network ``lo + r`` of the
    run) in scalar arithmetic: :func:`_tile`'s loops over the tile's networks for a tile
    too narrow to vectorise, the same operations in the same order (so the same numbers).
    ``t[0]`` holds δ_j, ``t[1]`` ``Σ (y − d)²``, ``t[2]`` 1 while every output is on target;
    the gradients are summed into ``g1 … gv2``; ``h (n_h,)`` and ``delta (n_out,)`` are
    scratch for the hidden outputs and δ_o."""
    n_cases, n_in = X.shape
    n_out = D.shape[1]
    n_h = w1.shape[0] // n_in
    bias1, bias2 = v1.shape[0] > 0, v2.shape[0] > 0
    for c in range(n_cases):
        for j in range(n_h):  # eqs (1)-(2), hidden group
            a = 0.0
            for i in range(n_in):
                a += X[c, i] * w1[i * n_h + j, r]
            if bias1:
                a += v1[j, r]
            h[j] = _act(a, act_h)
        for o in range(n_out):  # eqs (1)-(2), output group; eqs (3)-(5)
            a = 0.0
            for j in range(n_h):
                a += h[j] * w2[j * n_out + o, r]
            if bias2:
                a += v2[o, r]
            y = _act(a, act_o)
            if record:
                rec_y[s, c * n_out + o, lo + r] = y
            d = D[c, o]
            e = y - d
            t[1, r] += e * e  # eq (3), for the reported error
            on = abs(e) < margin if margin >= 0.0 else (y > mid) == (d > mid)
            t[2, r] = t[2, r] if on else 0.0
            delta[o] = factor * e * _df(y, act_o)  # δ_o
            if bias2:
                gv2[o, r] += delta[o]  # eq (6), y_i = 1
        for j in range(n_h):  # eqs (5)-(7), hidden group
            back = 0.0
            for o in range(n_out):
                g2[j * n_out + o, r] += h[j] * delta[o]  # eq (6)
                back += delta[o] * w2[j * n_out + o, r]  # eq (7)
            back *= _df(h[j], act_h)  # eq (5): δ_j
            if bias1:
                gv1[j, r] += back
            for i in range(n_in):
                g1[i * n_h + j, r] += X[c, i] * back  # eq (6)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _tile(lo: int, hi: int, X: Array, D: Array,
          W1: Array, b1: Array, W2: Array, b2: Array,
          S1: Array, Sb1: Array, S2: Array, Sb2: Array,
          rec_y: Array, err: Array, ok: Array,
          act_h: int, act_o: int, factor: float, report: float, mid: float, margin: float,
          lr: Array, alpha: Array, keep: Array) -> None:
    """``len(lr)`` sweeps (full-batch updates) of networks ``lo … hi − 1``, one after the
    other, in a tile's own arrays (copied in, trained, copied back: they stay in the
    core's nearest cache for all the sweeps).

    Every parameter array is flattened to ``(n, R)``: ``W1`` row ``i·n_h + j`` holds
    ``w_ji`` (input ``i`` to hidden ``j``) of every network, ``W2`` row ``j·n_out + o``,
    ``b1`` row ``j``, ``b2`` row ``o`` (``(0, R)`` without a bias); ``S*`` the ``Δw``
    alike. ``X (N, n_in)``, ``D (N, n_out)``. Sweep ``s`` uses the rates ``lr[s]``,
    ``alpha[s]``; its outputs before the update go to ``rec_y[s] (N·n_out, R)`` (unless
    that has no rows: nothing is recorded); ``err[s] (R,)`` gets ``report · Σ (y − d)²``
    and ``ok[s] (R,)`` True where every output is on target (``|y − d| < margin``, or with
    ``margin < 0`` on its target's side of ``mid``); ``keep (R,)`` is 1 for a training
    network, 0 for a frozen one. The innermost loops run over the tile's networks, along
    contiguous rows, in the order of the readable path's sums: the numbers are those of
    one network at a time.
    """
    n_cases, n_in = X.shape
    n_out = D.shape[1]
    n_h = W1.shape[0] // n_in
    bias1, bias2 = b1.shape[0] > 0, b2.shape[0] > 0
    record = rec_y.shape[1] > 0
    n = hi - lo
    w1, w2 = W1[:, lo:hi].copy(), W2[:, lo:hi].copy()
    v1, v2 = b1[:, lo:hi].copy(), b2[:, lo:hi].copy()
    s1, s2 = S1[:, lo:hi].copy(), S2[:, lo:hi].copy()
    t1, t2 = Sb1[:, lo:hi].copy(), Sb2[:, lo:hi].copy()
    g1, g2 = np.zeros_like(w1), np.zeros_like(w2)  # ∂E/∂w summed over the cases
    gv1, gv2 = np.zeros_like(v1), np.zeros_like(v2)
    kp = keep[lo:hi].copy()
    h = np.empty((n_h, n))  # hidden outputs
    x = np.empty((n_out, n))  # output net inputs, outputs, then δ_o
    # per network: δ_j of one hidden unit (row 0), Σ (y − d)² (1), all outputs on target
    # (2), 0 (3: the bias of a unit without one), an absent bias's gradient (4: never read)
    t = np.empty((5, n))
    t[3] = 0.0
    h1, d1 = np.empty(n_h), np.empty(n_out)  # one network's hidden outputs and δ_o
    bh, bo = (v1 if bias1 else t), (v2 if bias2 else t)
    gh, go = (gv1 if bias1 else t), (gv2 if bias2 else t)
    for s in range(lr.shape[0]):
        for r in range(n):
            t[1, r] = 0.0
            t[2, r] = 1.0
        for r in range(n if n < NARROW else 0):  # a network at a time, in scalars
            _network(r, lo, s, X, D, w1, v1, w2, v2, g1, gv1, g2, gv2, rec_y, t, h1, d1,
                     record, act_h, act_o, factor, mid, margin)
        for c in range(n_cases if n >= NARROW else 0):
            for j in range(n_h):  # eqs (1)-(2), hidden group: x_j = Σ_i y_i w_ji (+ b_j)
                if n_in == 1:
                    h[j] = 0.0
                for i in range(n_in - 1):
                    xi, k = X[c, i], i * n_h + j
                    if i == 0:
                        for r in range(n):
                            h[j, r] = 0.0 + xi * w1[k, r]
                    else:
                        for r in range(n):
                            h[j, r] += xi * w1[k, r]
                _hidden_unit(h, j, n, X[c, n_in - 1], w1, (n_in - 1) * n_h + j,
                             bh, j if bias1 else 3, act_h)
            for o in range(n_out):  # eqs (1)-(2), output group
                if n_h == 1:
                    x[o] = 0.0
                for j in range(n_h - 1):
                    k = j * n_out + o
                    if j == 0:
                        for r in range(n):
                            x[o, r] = 0.0 + h[j, r] * w2[k, r]
                    else:
                        for r in range(n):
                            x[o, r] += h[j, r] * w2[k, r]
                _output_unit(x, o, n, h, n_h - 1, w2, (n_h - 1) * n_out + o,
                             bo, o if bias2 else 3, act_o)
                if record:
                    rec_y[s, c * n_out + o, lo:hi] = x[o]
                d = D[c, o]
                high = d > mid
                m = o if bias2 else 4
                for r in range(n):  # eqs (3)-(5)
                    y = x[o, r]
                    e = y - d
                    t[1, r] += e * e  # eq (3), for the reported error
                    # |y − d| < margin, or (margin < 0) on the target's side of mid
                    on = (abs(e) < margin) | ((margin < 0.0) & ((y > mid) == high))
                    t[2, r] = t[2, r] if on else 0.0
                    delta = factor * e * _df(y, act_o)  # δ_o
                    x[o, r] = delta
                    go[m, r] += delta  # eq (6) for the bias, y_i = 1 (row 4: no bias)
            for j in range(n_h):  # eqs (5)-(7), hidden group
                for o in range(n_out - 1):
                    k = j * n_out + o
                    if o == 0:
                        for r in range(n):
                            g2[k, r] += h[j, r] * x[o, r]  # eq (6)
                            t[0, r] = 0.0 + x[o, r] * w2[k, r]  # eq (7)
                    else:
                        for r in range(n):
                            g2[k, r] += h[j, r] * x[o, r]
                            t[0, r] += x[o, r] * w2[k, r]
                if n_out == 1:
                    t[0] = 0.0
                o = n_out - 1
                k, m, x0 = j * n_out + o, j if bias1 else 4, X[c, 0]
                for r in range(n):  # the last output fused with f', the bias and input 0
                    g2[k, r] += h[j, r] * x[o, r]  # eq (6)
                    back = t[0, r] + x[o, r] * w2[k, r]  # eq (7): dE/dy_j = Σ_o δ_o w_oj
                    back *= _df(h[j, r], act_h)  # eq (5): δ_j
                    t[0, r] = back
                    gh[m, r] += back  # eq (6) for the bias (row 4: no bias)
                    g1[j, r] += x0 * back  # eq (6)
                for i in range(1, n_in):
                    xi, k = X[c, i], i * n_h + j
                    for r in range(n):
                        g1[k, r] += xi * t[0, r]  # eq (6)
        for r in range(n):
            err[s, lo + r] = report * t[1, r]
            ok[s, lo + r] = t[2, r] != 0.0
        _step(w1, s1, g1, n, lr[s], alpha[s], kp)
        _step(w2, s2, g2, n, lr[s], alpha[s], kp)
        _step(v1, t1, gv1, n, lr[s], alpha[s], kp)
        _step(v2, t2, gv2, n, lr[s], alpha[s], kp)
    for dst, src in ((W1, w1), (W2, w2), (b1, v1), (b2, v2), (S1, s1), (S2, s2),
                     (Sb1, t1), (Sb2, t2)):
        dst[:, lo:hi] = src


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"}, inline="always")
def _step(W: Array, S: Array, G: Array, n: int, lr: float, alpha: float, keep: Array) -> None:
    """Eqs. (8)–(9) for a tile's rows ``(m, n)`` of one parameter: ``Δw`` into ``S``, ``w``
    updated; the gradients ``G`` are set back to 0 for the next sweep."""
    for k in range(W.shape[0]):
        for r in range(n):
            d = alpha * S[k, r] - lr * G[k, r] if alpha != 0.0 else -(lr * G[k, r])  # (9); (8)
            d *= keep[r]  # stopped replicas stay frozen (× 0)
            S[k, r] = d
            W[k, r] += d
            G[k, r] = 0.0


#: Fewest and most sweeps per block when no outputs are recorded
#: (:meth:`CompiledLast._longest_block`).
SHORTEST_BLOCK, LONGEST_BLOCK = 8, 1024

#: Networks per tile: a tile's arrays (a 2-4-1 net's about 45 rows of ``TILE`` numbers,
#: 23 KB) fit in a core's nearest cache, and its loops are a few vector instructions long.
TILE = 64


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def sweeps_serial(X, D, W1, b1, W2, b2, S1, Sb1, S2, Sb2, rec_y, err, ok,
                  act_h, act_o, factor, report, mid, margin, lr, alpha, keep):
    """:func:`_tile`'s sweeps for every network, tile after tile (the networks are
    independent, so each tile runs all the sweeps before the next one starts)."""
    R = keep.shape[0]
    for p in range((R + TILE - 1) // TILE):
        _tile(p * TILE, min(R, (p + 1) * TILE), X, D, W1, b1, W2, b2, S1, Sb1, S2, Sb2,
              rec_y, err, ok, act_h, act_o, factor, report, mid, margin, lr, alpha, keep)


@numba.njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def sweeps_parallel(X, D, W1, b1, W2, b2, S1, Sb1, S2, Sb2, rec_y, err, ok,
                    act_h, act_o, factor, report, mid, margin, lr, alpha, keep):
    """:func:`sweeps_serial` with the tiles shared among numba's threads."""
    R = keep.shape[0]
    for p in numba.prange((R + TILE - 1) // TILE):
        _tile(p * TILE, min(R, (p + 1) * TILE), X, D, W1, b1, W2, b2, S1, Sb1, S2, Sb2,
              rec_y, err, ok, act_h, act_o, factor, report, mid, margin, lr, alpha, keep)


class CompiledLast(NumpyLast):
    """:class:`~backprop86.engine.numpy_last.NumpyLast`, each sweep one compiled loop over the
    networks.

    Weights, ``Δw`` and output records are the replica-last arrays of the parent
    class (views of its flat :attr:`P`, :attr:`S`), so saving, rewinding and storing
    are the parent's; ``Δw`` is always kept in :attr:`S` (the gradients live in each
    tile's own arrays). The sweeps write the reported error and solved flags into the
    parent's :attr:`reported` and :attr:`solved` when the reported error is a squared
    error (else the parent measures them from the records). From
    :data:`PARALLEL_MIN` replicas on the tiles are shared among numba's threads.

    Every case is computed (no zero-input-row skip: the ablation in
    ``benchmarks/run.py`` measured it at 1–11 %, below the 10 % it must save on
    every many-seeds row). ``own_exp=False`` computes logistic units with the
    library's ``exp``: the ablation measures what the hand-made one saves.
    """

    name = "compiled-last"

    def __init__(self, setup: Setup, *, own_exp: bool = True) -> None:
        super().__init__(setup, skip_zero_rows=False)
        dt, R = self.dtype, self.R
        hidden, output = self.layers
        self.X = np.ascontiguousarray(setup.X, dt)  # (N, n_in)
        self.D = np.ascontiguousarray(setup.D, dt)  # (N, n_out)
        none = np.zeros((0, R), dt)  # stands for an absent bias

        def param(name: str | None) -> tuple[Array, Array, Array]:
            """``(w, Δw, ∂E/∂w)`` of ``name`` flattened to ``(n, R)``: views of P, S, G."""
            if name is None:
                return none, none, none
            return tuple(a.reshape(-1, R) for a in self.views[name])  # type: ignore[return-value]

        (W1, S1, _), (b1, Sb1, _) = param(hidden.weight), param(hidden.bias)
        (W2, S2, _), (b2, Sb2, _) = param(output.weight), param(output.bias)
        self.before = (self.X, self.D, W1, b1, W2, b2, S1, Sb1, S2, Sb2)
        codes = dict(CODES, logistic=CODES["logistic"] if own_exp else LIBRARY_LOGISTIC)
        #: the reported error's factor when it is a squared error (else the parent measures it)
        self.report_factor = {"sse": 0.5, "tss": 1.0, "mse": 1.0 / (self.N * output.n_out)
                              }.get(setup.report.name)
        self.codes = (codes[hidden.activation], codes[output.activation], self._factor(self.N),
                      1.0 if self.report_factor is None else self.report_factor)
        #: the records of the block's sweeps as ``(sweeps, N·n_out, R)``; ``(sweeps, 0, R)``
        #: when the block's bookkeeping needs no outputs (:meth:`_keeps_records`)
        rows, cases, n_out, _ = self.record_y[:, 0].shape
        self.rows = self.record_y[:, 0].reshape(rows, cases * n_out, R)
        self.lrs, self.alphas = np.empty((2, rows))  # rates of each sweep
        # per sweep of a block: the reported error and whether all outputs are on target,
        # written by the sweeps where :meth:`measures` hands them over (scratch when the
        # reported error is not a squared error)
        if self.report_factor is None:
            self.sweep_err, self.sweep_ok = np.empty((rows, R), dt), np.empty((rows, R), bool)
        else:
            self.sweep_err, self.sweep_ok = self.reported, self.solved
        margin = self.cfg.solve_margin
        self.judge = (float(setup.mid), -1.0 if margin is None else float(margin))
        self.compiled = sweeps_parallel if R >= PARALLEL_MIN else sweeps_serial
        self.keep = np.ones(R, dt)  # 1 for a training network, 0 for a frozen one

    def _longest_block(self, per_sweep: int) -> int:
        """Without output records a block keeps ``(sweeps, R)`` arrays only (the reported
        error, the solved flags and the loop's flags): as many sweeps as fit in
        :data:`~backprop86.engine.blocked.RECORD_BYTES` at 8 bytes a number, from
        :data:`SHORTEST_BLOCK` to :data:`LONGEST_BLOCK` (one network: few blocks, so little
        bookkeeping between the compiled calls)."""
        if per_sweep:
            return super()._longest_block(per_sweep)
        return min(LONGEST_BLOCK, max(SHORTEST_BLOCK, RECORD_BYTES // (8 * self.R)))

    def _keeps_records(self) -> bool:
        """Outputs are recorded only for ``stop_margin`` or a reported error that is not a
        squared error (the sweep computes ``Σ (y − d)²`` and the solved flags itself)."""
        return (self.cfg.stop_margin is not None
                or self.setup.report.name not in ("sse", "tss", "mse"))

    def begin_block(self, active: Array) -> None:
        self.active = active
        np.copyto(self.keep, active)

    def _rates_changed(self) -> None:
        pass  # the rates go to the compiled sweep as arguments

    def sweep(self, k: int) -> None:
        assert self.rates is not None
        self.lrs[k], self.alphas[k] = self.rates
        self._run(k, k + 1)

    def sweeps(self, s0: int, k: int, *, stop: Callable[[], bool] = lambda: False,
               until_nonfinite: bool = False) -> int:
        """Sweeps ``s0 … s0 + k − 1`` of the run into rows ``0 … k − 1``: one compiled call
        (sweep by sweep when the loop looks for the first non-finite one)."""
        if until_nonfinite:
            return super().sweeps(s0, k, stop=stop, until_nonfinite=True)
        self.setup.lr.fill(s0, self.lrs[:k])
        self.setup.momentum.fill(s0, self.alphas[:k])
        self._run(0, k)
        self.rates = None  # set_rates sets them anew before a single sweep
        return k

    def _run(self, first: int, end: int) -> None:
        """The compiled sweeps into rows ``first … end − 1``, with those rows' rates."""
        rows = slice(first, end)
        self.compiled(*self.before, self.rows[rows], self.sweep_err[rows], self.sweep_ok[rows],
                      *self.codes, *self.judge, self.lrs[rows], self.alphas[rows], self.keep)
        self.dw_in_G = False

    def measures(self, k: int) -> tuple[Array, Array]:
        """The block's reported error and solved flags ``(k, R)``, as the sweeps computed them."""
        if self.report_factor is None:
            return super().measures(k)
        return self.reported[:k], self.solved[:k]

