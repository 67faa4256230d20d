"""The compiled replica-first engine: one wide network, element-wise steps fused (needs numba).

:class:`backprop86.engine.numpy_first.NumpyFirst` replays an update as a list of NumPy
calls. Between the matrix products of a wide MLP's mini-batch update most of
them are element-wise: the bias, the activation, the output deltas, the bias
gradients and eqs. (8)–(9). Each is a separate pass over its arrays, and a few
of them (a maximum over a short row, a product of floats with booleans) are slow
for their size. :class:`NumbaFirst` keeps the matrix products and the calls it
cannot improve, and does each run of such steps in one compiled loop:

* eq. (1)'s bias and eq. (2) for ReLU and linear units: ``x += b``, ``y = f(x)``;
* a softmax's shift: ``x += b``, ``m = max_k x_k``, ``y = x − m`` (its ``exp``,
  sum and division stay NumPy's);
* the cross-entropy's output delta, fused ``y − d`` (eqs. 4–5, ``/B`` for a mean),
  and the bias gradient ``Σ_cases δ`` (eq. 6 with ``y_i = 1``);
* eq. (5) through ReLU units, ``δ = ∂E/∂y · [x > 0]``, and the bias gradient;
* eqs. (8)–(9): ``Δw = α Δw − ε ∂E/∂w`` (or ``−ε ∂E/∂w``), ``w += Δw``.

Each loop makes the same floating-point operations, in the same order and in
the weights' dtype, as the NumPy calls it replaces (sums over cases run case by
case from the first, as NumPy reduces over a non-contiguous axis; NaN and
signed zeros come out as NumPy's), so the numbers are the readable path's **bit for
bit** (``tests/test_engine_compiled_first.py``).

It pays off for wide layers only: :func:`backprop86.engine.select.choose` asks for
at least :data:`~backprop86.engine.select.FUSED_MIN` parameters (a tiny network's calls are
cheap, and importing numba costs about 0.3 s). ``--set engine=numpy-first`` keeps the
NumPy calls. Shapes: one network, so every array is ``(cases, units)``, a bias
``(1, units)``, and the parameters flat ``(n,)``.
"""

from __future__ import annotations

from functools import partial

import numba
import numpy as np

from backprop86.arrays import Array
from backprop86.engine.base import Setup
from backprop86.engine.blocked import Buffers, Program
from backprop86.engine.numpy_first import NumpyFirst


@numba.njit(cache=True)
def bias_act(x: Array, b: Array, y: Array, relu: bool) -> None:
    """Eqs. (1)–(2) after the product, ``x (B, n)``: ``x += b`` (``b (1, n)`` or ``(0, n)``
    for none), then ``y = max(x, 0)`` (ReLU: NaN stays NaN and ``−0`` gives ``+0``, as
    ``np.maximum(x, 0)`` gives them) or ``y = x`` (linear)."""
    bias = b.shape[0] > 0
    for c in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[c, j] + b[0, j] if bias else x[c, j]  # eq (1): x_j = Σ_i y_i w_ji + b_j
            x[c, j] = v
            y[c, j] = v if (not relu or v > 0 or v != v) else 0  # eq (2); v != v: NaN


@numba.njit(cache=True)
def bias_shift(x: Array, b: Array, y: Array, row: Array) -> None:
    """A softmax's first steps: ``x += b``, ``row = max_k x_k`` per case (``(B, 1)``, NaN if
    any is), ``y = x − row``. (Which zero a tie of ``−0`` and ``+0`` keeps may differ from
    NumPy's reduction; the ``exp`` that follows gives 1 for either.)"""
    bias = b.shape[0] > 0
    for c in range(x.shape[0]):
        for j in range(x.shape[1]):
            v = x[c, j] + b[0, j] if bias else x[c, j]
            x[c, j] = v
            m = v if j == 0 else row[c, 0]  # np.maximum(m, v)
            row[c, 0] = m if (m > v or m != m) else v
        for j in range(x.shape[1]):
            y[c, j] = x[c, j] - row[c, 0]


@numba.njit(cache=True)
def _bias_sum(delta: Array, gb: Array) -> None:
    """Eq. (6) for a bias: ``gb = Σ_c δ_c`` (``(1, n)``), case by case from the first."""
    if gb.shape[0] == 0:
        return
    for j in range(delta.shape[1]):
        gb[0, j] = delta[0, j]
    for c in range(1, delta.shape[0]):
        for j in range(delta.shape[1]):
            gb[0, j] += delta[c, j]


@numba.njit(cache=True)
def ce_delta(y: Array, d: Array, size: float, delta: Array, gb: Array) -> None:
    """Cross-entropy's fused output delta, ``δ = (y − d) / size`` (``size`` 1 for a sum), and
    its bias gradient; ``y, d, δ (B, n_out)``, ``gb (1, n_out)`` or ``(0, 1)`` for none."""
    for c in range(y.shape[0]):
        for j in range(y.shape[1]):
            delta[c, j] = (y[c, j] - d[c, j]) / size  # eqs (4)-(5) fused: dE/dx = y - d
    _bias_sum(delta, gb)


@numba.njit(cache=True)
def relu_back(back: Array, x: Array, delta: Array, gb: Array, zero: float) -> None:
    """Eq. (5) through ReLU units, ``δ = ∂E/∂y · [x > 0]`` (``zero`` 0 in the dtype: a
    product with 0, as NumPy's with ``False``), and its bias gradient; ``back, x, δ (B, n)``,
    ``gb (1, n)`` or ``(0, 1)`` for none."""
    for c in range(x.shape[0]):
        for j in range(x.shape[1]):
            delta[c, j] = back[c, j] if x[c, j] > 0 else back[c, j] * zero  # eq (5)
    _bias_sum(delta, gb)


@numba.njit(cache=True)
def sgd(P: Array, S: Array, G: Array, eps: float, alpha: float, momentum: bool) -> None:
    """Eqs. (8)–(9) on the flat parameters: with momentum ``S = α S − ε G``, ``P += S``;
    without, ``G = −ε G`` (Δw kept in ``G``), ``P += G``."""
    if momentum:
        for k in range(P.shape[0]):
            s = S[k] * alpha - eps * G[k]  # eq (9): Δw = α Δw(t-1) - ε ∂E/∂w
            S[k] = s
            P[k] = P[k] + s  # eq (8): w ← w + Δw
    else:
        neps = -eps
        for k in range(P.shape[0]):
            g = G[k] * neps  # eq (8): Δw = -ε ∂E/∂w
            G[k] = g
            P[k] = P[k] + g  # eq (8): w ← w + Δw


class CompiledFirst(NumpyFirst):
    """:class:`~backprop86.engine.numpy_first.NumpyFirst` with its element-wise runs
    compiled (module docstring)."""

    name = "compiled-first"

    def __init__(self, setup: Setup) -> None:
        self.none = np.zeros((0, 1), setup.net.dtype)  # stands for an absent bias
        super().__init__(setup)

    def _bias(self, b: Array | None) -> Array:
        return self.none if b is None else b

    def _bias_activate(self, ops: Program, i: int, x: Array, y: Array, buf: Buffers) -> None:
        name, b = self.layers[i].activation, self._bias(self.b[i])
        if name in ("relu", "linear"):
            ops.append((bias_act, (x, b, y, name == "relu")))
        elif name == "softmax":  # e^(x - max) / Σ e^(x - max): NumPy's exp, sum and division
            ops += [(bias_shift, (x, b, y, buf.row)), (np.exp, (y, y)),
                    (partial(np.add.reduce, axis=-1, keepdims=True, out=buf.row), (y,)),
                    (np.divide, (y, buf.row, y))]
        else:
            super()._bias_activate(ops, i, x, y, buf)

    def _output_delta_and_bias(self, ops: Program, x: Array, y: Array, d: Array,
                               buf: Buffers, size: int, gb: Array | None) -> Array:
        if self.cfg.error != "cross_entropy":
            return super()._output_delta_and_bias(ops, x, y, d, buf, size, gb)
        scale = self.dtype.type(size if self.cfg.reduction == "mean" else 1)
        ops.append((ce_delta, (y, d, scale, buf.delta, self._bias(gb))))
        return buf.delta

    def _hidden_delta_and_bias(self, ops: Program, i: int, buf: Buffers,
                               gb: Array | None) -> Array:
        if self.layers[i].activation != "relu":
            return super()._hidden_delta_and_bias(ops, i, buf, gb)
        ops.append((relu_back, (buf.back, buf.x, buf.delta, self._bias(gb), self.zero)))
        return buf.delta

    def _build_step(self) -> None:
        if self.rates is None or self.l2 or self.mask is not None or self.shrink is not None:
            return super()._build_step()
        momentum = self.rates[1] != 0.0
        self.step = [(sgd, (self.P, self.S, self.G, self.eps[()], self.alpha[()], momentum))]
        return None

