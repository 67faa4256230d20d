"""The compiled replica-last engine: many tiny one-hidden-layer networks (needs numba).

The NumPy replica-last engine (:class:`backprop86.engine.numpy_last.NumpyLast`) trains ``R``
networks with one NumPy call per step of the update, each a pass over every
network's arrays. Here the whole sweep is one compiled loop over the
networks: each network runs eqs. (1)–(9) on its own numbers, held in the
replica-last layout ``(…, R)`` of :class:`~backprop86.engine.numpy_last.NumpyLast`, whose
block bookkeeping (reported error, solved flags, stopping, rewinds,
divergence, history) :class:`CompiledLast` keeps unchanged.

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
infinities behave as IEEE arithmetic says.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

from backprop86.arrays import Array
from backprop86.engine.base import Setup
from backprop86.engine.blocked import PARALLEL_MIN
from backprop86.engine.numpy_last import NumpyLast

#: Activation codes of the compiled kernel. ``LIBRARY_LOGISTIC`` is the logistic with the
#: library's ``exp``, one call per number: only the ablation in ``benchmarks/`` uses it.
CODES = {"logistic": 0, "tanh": 1, "linear": 2}
LIBRARY_LOGISTIC = 3


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _f(x: float, code: int) -> float:
    """Eq. (2): ``y = f(x)``."""
    if code == 0 or code == LIBRARY_LOGISTIC:
        return 1.0 / (1.0 + np.exp(-x))
    if code == 1:
        return np.tanh(x)
    return x


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
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


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _taylor(t: float) -> float:
    """``e^t ≈ Σ_{n ≤ 13} t^n / n!`` by Horner's rule (a loop of constant length: unrolled)."""
    p = INVERSE_FACTORIALS[13]
    for n in range(12, -1, -1):
        p = p * t + INVERSE_FACTORIALS[n]
    return p


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _logistic(x: Array, scale: Array, bits: Array, kf: Array) -> None:
    """Eq. (2) for logistic units in place, ``x ← 1 / (1 + e^{−x})``, in loops the compiler
    vectorises (a library ``exp`` is one call per number).

    ``scale`` and ``bits`` are the same scratch memory as float64 and int64, ``kf``
    keeps ``k + SHIFT`` for the reduction (``k`` read once: whether the compiler fuses
    ``a · LOG2E + SHIFT`` into one rounding or not, scale and reduction agree). The
    exponent ``−x`` is clipped to ``[−708, 709]`` (``e^{−x}`` stays finite: 1 or
    about 1e-308 where the readable path has 1 or 0); NaN stays NaN.
    """
    n = x.shape[0]
    for r in range(n):  # k + SHIFT, whose low bits hold k
        a = min(max(-x[r], -708.0), 709.0)
        scale[r] = a * LOG2E + SHIFT
        kf[r] = scale[r]
    for r in range(n):  # 2^k: k + 1023 in the exponent bits
        bits[r] = (bits[r] - SHIFT_BITS + 1023) << 52
    for r in range(n):
        a = min(max(-x[r], -708.0), 709.0)
        k = kf[r] - SHIFT  # the scale's own k
        t = (a - k * LN2_HI) - k * LN2_LO  # |t| ≤ ln 2 / 2
        x[r] = 1.0 / (1.0 + _taylor(t) * scale[r])


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _activate(x: Array, code: int, scale: Array, bits: Array, kf: Array) -> None:
    """Eq. (2) in place on a piece's row ``x``."""
    if code == 0:
        _logistic(x, scale, bits, kf)
    else:
        for r in range(x.shape[0]):
            x[r] = _f(x[r], code)


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _step(w: Array, dw: Array, g: Array, lr: float, alpha: float, keep: Array) -> None:
    """Eqs. (8)–(9) for one weight of a piece of networks, each argument ``(n,)``."""
    for r in range(w.shape[0]):
        d = alpha * dw[r] - lr * g[r] if alpha != 0.0 else -(lr * g[r])  # eq (9); eq (8)
        d *= keep[r]  # stopped replicas stay frozen (× 0)
        dw[r] = d
        w[r] += d


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _replicas(lo: int, hi: int, X: Array, D: Array,
              W1: Array, b1: Array, W2: Array, b2: Array,
              S1: Array, Sb1: Array, S2: Array, Sb2: Array,
              G1: Array, Gb1: Array, G2: Array, Gb2: Array,
              H: Array, DO: Array, back: Array, scale: Array, kscr: Array, rec_y: Array,
              err: Array, ok: Array,
              act_h: int, act_o: int, factor: float, mid: float, margin: float,
              lr: float, alpha: float, keep: Array) -> None:
    """One full-batch update of networks ``lo … hi − 1``; outputs before it go to ``rec_y``
    (unless it has no rows: nothing is recorded).

    Every parameter array is flattened to ``(n, R)``: ``W1`` row ``i·n_h + j`` holds
    ``w_ji`` (input ``i`` to hidden ``j``) of every network, ``W2`` row ``j·n_out + o``,
    ``b1`` row ``j``, ``b2`` row ``o`` (``(0, R)`` without a bias); ``S*`` the ``Δw`` and
    ``G*`` the gradients alike. ``X (N, n_in)``, ``D (N, n_out)``; scratch ``H (n_h, R)``,
    ``DO (n_out, R)``, ``back (R,)``, ``scale (R,)``, ``kscr (R,)``; ``rec_y (N·n_out, R)``;
    ``err (R,)`` gets the sweep's ``Σ (y − d)²`` and ``ok (R,)`` 1 where every output is on target
    (``|y − d| < margin``, or with ``margin < 0`` on its target's side of ``mid``), else
    0; ``keep (R,)`` 1 for a training network, 0 for a frozen one. The innermost loops
    run over the piece's networks, along contiguous rows.
    """
    n_cases, n_in = X.shape
    n_h, n_out = H.shape[0], DO.shape[0]
    bias1, bias2 = b1.shape[0] > 0, b2.shape[0] > 0
    n = hi - lo
    record = rec_y.shape[0] > 0
    bk = back[lo:hi]
    sc, bt, kf = scale[lo:hi], scale[lo:hi].view(np.int64), kscr[lo:hi]
    er, hit = err[lo:hi], ok[lo:hi]
    er[:] = 0.0
    hit[:] = 1.0
    for G in (G1, G2, Gb1, Gb2):  # ∂E/∂w summed over the cases from 0
        for k in range(G.shape[0]):
            G[k, lo:hi] = 0.0
    for c in range(n_cases):
        for j in range(n_h):  # eqs (1)-(2), hidden group
            h = H[j, lo:hi]
            h[:] = 0.0
            for i in range(n_in):
                xi, w = X[c, i], W1[i * n_h + j, lo:hi]
                for r in range(n):
                    h[r] += xi * w[r]
            if bias1:
                b = b1[j, lo:hi]
                for r in range(n):
                    h[r] += b[r]
            _activate(h, act_h, sc, bt, kf)
        for o in range(n_out):  # eqs (1)-(2), output group; eqs (3)-(5)
            x = DO[o, lo:hi]
            x[:] = 0.0
            for j in range(n_h):
                h, w = H[j, lo:hi], W2[j * n_out + o, lo:hi]
                for r in range(n):
                    x[r] += h[r] * w[r]
            if bias2:
                b = b2[o, lo:hi]
                for r in range(n):
                    x[r] += b[r]
            # y: recorded, or in `back` (free until the backward pass below)
            y, d = (rec_y[c * n_out + o, lo:hi] if record else bk), D[c, o]
            y[:] = x
            _activate(y, act_o, sc, bt, kf)
            high = d > mid
            for r in range(n):
                e = y[r] - d
                er[r] += e * e  # eq (3), for the reported error
                on_target = abs(e) < margin if margin >= 0.0 else (y[r] > mid) == high
                hit[r] = hit[r] if on_target else 0.0
                x[r] = factor * e * _df(y[r], act_o)  # now δ_o
            if bias2:
                g = Gb2[o, lo:hi]
                for r in range(n):
                    g[r] += x[r]  # eq (6), y_i = 1
        for j in range(n_h):
            h = H[j, lo:hi]
            bk[:] = 0.0
            for o in range(n_out):
                delta, w, g = DO[o, lo:hi], W2[j * n_out + o, lo:hi], G2[j * n_out + o, lo:hi]
                for r in range(n):
                    g[r] += h[r] * delta[r]  # eq (6)
                    bk[r] += delta[r] * w[r]  # eq (7): dE/dy_j = Σ_o δ_o w_oj
            for r in range(n):
                bk[r] *= _df(h[r], act_h)  # eq (5): δ_j
            if bias1:
                g = Gb1[j, lo:hi]
                for r in range(n):
                    g[r] += bk[r]
            for i in range(n_in):
                xi, g = X[c, i], G1[i * n_h + j, lo:hi]
                for r in range(n):
                    g[r] += xi * bk[r]  # eq (6)
    kp = keep[lo:hi]
    for W, S, G in ((W1, S1, G1), (W2, S2, G2), (b1, Sb1, Gb1), (b2, Sb2, Gb2)):
        for k in range(W.shape[0]):
            _step(W[k, lo:hi], S[k, lo:hi], G[k, lo:hi], lr, alpha, kp)


#: Networks per piece of work: the compiled sweeps run piece by piece (in parallel or not).
PIECE = 512


@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def sweeps_serial(X, D, W1, b1, W2, b2, S1, Sb1, S2, Sb2, G1, Gb1, G2, Gb2,
                  H, DO, back, scale, kscr, rec_y, err, ok, act_h, act_o, factor, mid, margin,
                  lr, alpha, keep):
    """``len(lr)`` sweeps (full-batch updates) of every network, piece after piece.

    The arguments are :func:`_replicas`'s, except that ``rec_y``, ``err``, ``ok``,
    ``lr`` and ``alpha`` have a leading axis: sweep ``s`` writes ``rec_y[s]``,
    ``err[s]``, ``ok[s]`` with the rates ``lr[s]``, ``alpha[s]``. The networks are
    independent, so each piece runs all the sweeps before the next piece starts.
    """
    R = H.shape[1]
    for p in range((R + PIECE - 1) // PIECE):
        for s in range(lr.shape[0]):
            _replicas(p * PIECE, min(R, (p + 1) * PIECE), X, D, W1, b1, W2, b2,
                      S1, Sb1, S2, Sb2, G1, Gb1, G2, Gb2, H, DO, back, scale, kscr, rec_y[s],
                      err[s], ok[s], act_h, act_o, factor, mid, margin, lr[s], alpha[s], keep)


@numba.njit(cache=True, parallel=True, error_model="numpy", fastmath={"contract"})
def sweeps_parallel(X, D, W1, b1, W2, b2, S1, Sb1, S2, Sb2, G1, Gb1, G2, Gb2,
                    H, DO, back, scale, kscr, rec_y, err, ok, act_h, act_o, factor, mid, margin,
                    lr, alpha, keep):
    """:func:`sweeps_serial` with the pieces shared among numba's threads."""
    R = H.shape[1]
    for p in numba.prange((R + PIECE - 1) // PIECE):
        for s in range(lr.shape[0]):
            _replicas(p * PIECE, min(R, (p + 1) * PIECE), X, D, W1, b1, W2, b2,
                      S1, Sb1, S2, Sb2, G1, Gb1, G2, Gb2, H, DO, back, scale, kscr, rec_y[s],
                      err[s], ok[s], act_h, act_o, factor, mid, margin, lr[s], alpha[s], keep)


class CompiledLast(NumpyLast):
    """:class:`~backprop86.engine.numpy_last.NumpyLast`, each sweep one compiled loop over the
    networks.

    Weights, ``Δw``, gradients and output records are the replica-last arrays
    of the parent class (views of its flat :attr:`P`, :attr:`S`, :attr:`G`), so
    saving, rewinding, storing and the block's bookkeeping are the parent's;
    ``Δw`` is always kept in :attr:`S`. From :data:`PARALLEL_MIN` replicas on the
    networks are shared among numba's threads.

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

        (W1, S1, G1), (b1, Sb1, Gb1) = param(hidden.weight), param(hidden.bias)
        (W2, S2, G2), (b2, Sb2, Gb2) = param(output.weight), param(output.bias)
        scratch = (np.empty((hidden.n_out, R), dt), np.empty((output.n_out, R), dt),
                   np.empty(R, dt), np.empty(R, dt), np.empty(R, dt))
        self.before = (self.X, self.D, W1, b1, W2, b2,
                       S1, Sb1, S2, Sb2, G1, Gb1, G2, Gb2, *scratch)
        codes = dict(CODES, logistic=CODES["logistic"] if own_exp else LIBRARY_LOGISTIC)
        self.codes = (codes[hidden.activation], codes[output.activation], self._factor(self.N))
        #: the records of the block's sweeps as ``(sweeps, N·n_out, R)``; ``(sweeps, 0, R)``
        #: when the block's bookkeeping needs no outputs (:meth:`_keeps_records`)
        rows, cases, n_out, _ = self.record_y[:, 0].shape
        self.rows = self.record_y[:, 0].reshape(rows, cases * n_out, R)
        self.lrs, self.alphas = np.empty((2, self.record_y.shape[0]))  # rates of each sweep
        # per sweep of a block: Σ (y − d)² and all outputs on target (1.0 or 0.0), and the
        # reported error's factor when it is a squared error (else the parent measures it)
        self.sq_err, self.all_on = np.empty((2, *self.reported.shape), dt)
        margin = self.cfg.solve_margin
        self.judge = (float(setup.mid), -1.0 if margin is None else float(margin))
        self.report_factor = {"sse": 0.5, "tss": 1.0, "mse": 1.0 / (self.N * output.n_out)
                              }.get(setup.report.name)
        self.compiled = sweeps_parallel if R >= PARALLEL_MIN else sweeps_serial
        self.keep = np.ones(R, dt)  # 1 for a training network, 0 for a frozen one

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
        setup = self.setup
        for j in range(k):
            self.lrs[j], self.alphas[j] = setup.lr(s0 + j), setup.momentum(s0 + j)
        self._run(0, k)
        self.rates = None  # set_rates sets them anew before a single sweep
        return k

    def _run(self, first: int, end: int) -> None:
        """The compiled sweeps into rows ``first … end − 1``, with those rows' rates."""
        rows = slice(first, end)
        self.compiled(*self.before, self.rows[rows], self.sq_err[rows], self.all_on[rows],
                      *self.codes, *self.judge, self.lrs[rows], self.alphas[rows], self.keep)
        self.dw_in_G = False

    def measures(self, k: int) -> tuple[Array, Array]:
        """The block's reported error and solved flags ``(k, R)``, as the sweeps computed them."""
        if self.report_factor is None:
            return super().measures(k)
        reported = np.multiply(self.sq_err[:k], self.report_factor, out=self.reported[:k])
        return reported, np.not_equal(self.all_on[:k], 0.0, out=self.solved[:k])

