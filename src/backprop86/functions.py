"""Activation and error functions, each value written beside its derivative.

Array conventions (DESIGN §2): every array carries a leading replica axis ``R``;
activations are ``(R, N, n)`` for ``N`` cases and ``n`` units (a leading axis of
length 1 broadcasts over replicas).

Every function here is exact and warning-free for any finite input: the logistic
never overflows, softmax subtracts the row maximum, and the cross-entropy value is
computed from the net input through a stable log-sigmoid / log-softmax.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError, DataError

# ----------------------------------------------------------------------------
# Activations: y = f(x) and the backward rule dE/dx = dE/dy · f'(x)
# ----------------------------------------------------------------------------


@functools.cache
def _exp_limit(dtype: np.dtype) -> float:
    """Largest ``z`` for which ``exp(z)`` is finite in ``dtype``, less a margin."""
    return float(np.log(np.finfo(dtype).max)) - 1.0


def logistic(x: Array, out: Array | None = None) -> Array:
    """Logistic function, Nature eq. (2): ``y = 1 / (1 + exp(-x))``.

    For ``x`` above ``-log(max float)`` this is exactly the textbook formula
    (so the article's run is reproduced bit for bit); below it ``1 + exp(x)``
    rounds to 1 and ``y = exp(x)`` is the correctly rounded value, so no
    overflow warning is ever raised.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    limit = _exp_limit(x.dtype)
    if out is None:
        out = np.empty_like(x)
    np.maximum(x, -limit, out=out)
    np.negative(out, out=out)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    if x.size and x.min() < -limit:  # one reduction decides the usual case (NaN: no)
        np.exp(x, out=out, where=x < -limit)
    return out


def log_logistic(x: Array) -> Array:
    """``log y = -softplus(-x)`` computed without overflow or cancellation."""
    return -np.logaddexp(0.0, -x)


def max_units(x: Array) -> Array:
    """``x.max(axis=-1, keepdims=True)``: the largest net input of each case (NaN if any).

    Over a short unit axis NumPy's reduction costs about a call per case; a
    running ``np.maximum`` over the unit columns is one pass per unit and gives
    the same numbers (a maximum is exact), so many cases of a few units take it.
    """
    n = x.shape[-1]
    if n == 0 or n > 32 or x.size < 1024 * n:
        return x.max(axis=-1, keepdims=True)
    m = x[..., :1].copy()
    for k in range(1, n):
        np.maximum(m, x[..., k:k + 1], out=m)
    return m


def log_softmax(x: Array) -> Array:
    """``log softmax(x)`` along the unit axis, stable for any finite input."""
    shifted = x - max_units(x)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


@dataclass(frozen=True)
class Activation:
    """A unit's output function ``y = f(x)`` and its backward rule."""

    name: ClassVar[str] = ""
    #: The outputs ``f`` can give: ``[lo, hi]``, an end reached only in the limit when
    #: ``f`` approaches it (a target outside can never be met).
    output_range: ClassVar[tuple[float, float]] = (-math.inf, math.inf)

    def forward(self, x: Array, out: Array | None = None) -> Array:  # pragma: no cover
        """Eq. (2): ``y = f(x)``, ``(R, N, n)``; written into ``out`` when given."""
        raise NotImplementedError

    def backward(self, x: Array, y: Array, dE_dy: Array) -> Array:  # pragma: no cover
        """Nature eq. (5): ``dE/dx = dE/dy · f'(x)``; shapes ``(R, N, n)``."""
        raise NotImplementedError


@dataclass(frozen=True)
class Logistic(Activation):
    """``y = 1/(1+e^-x)``; ``f'(x) = y(1 - y)`` (Nature eqs. 2 and 5)."""

    name: ClassVar[str] = "logistic"
    output_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        return logistic(x, out)  # eq (2): y = 1/(1 + e^−x), (R,N,n)

    def backward(self, x: Array, y: Array, dE_dy: Array) -> Array:
        return dE_dy * (y * (1.0 - y))  # eq (5): dE/dx = dE/dy · y(1 − y), (R,N,n)


@dataclass(frozen=True)
class Tanh(Activation):
    """``y = tanh(x)``; ``f'(x) = 1 - y²``."""

    name: ClassVar[str] = "tanh"
    output_range: ClassVar[tuple[float, float]] = (-1.0, 1.0)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        return np.tanh(x, out=out)

    def backward(self, x: Array, y: Array, dE_dy: Array) -> Array:
        return dE_dy * (1.0 - y * y)  # eq (5) with f' = 1 − y², (R,N,n)


@dataclass(frozen=True)
class ReLU(Activation):
    """``y = max(0, x)``; ``f'(x) = [x > 0]``."""

    name: ClassVar[str] = "relu"
    output_range: ClassVar[tuple[float, float]] = (0.0, math.inf)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        return np.maximum(x, 0.0, out=out)

    def backward(self, x: Array, y: Array, dE_dy: Array) -> Array:
        return dE_dy * (x > 0.0)  # eq (5) with f' = [x > 0], (R,N,n)


@dataclass(frozen=True)
class Linear(Activation):
    """``y = x``; ``f'(x) = 1``."""

    name: ClassVar[str] = "linear"

    def forward(self, x: Array, out: Array | None = None) -> Array:
        if out is None:
            return x.copy()
        np.copyto(out, x)
        return out

    def backward(self, x: Array, y: Array, dE_dy: Array) -> Array:
        return dE_dy.copy()


@dataclass(frozen=True)
class Softmax(Activation):
    """``y_j = e^{x_j} / Σ_k e^{x_k}`` over the units of a group.

    Backward is the Jacobian-vector product
    ``dE/dx_j = y_j (dE/dy_j − Σ_k dE/dy_k y_k)``.
    """

    name: ClassVar[str] = "softmax"
    output_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def forward(self, x: Array, out: Array | None = None) -> Array:
        e = np.exp(x - max_units(x), out=out)
        e /= e.sum(axis=-1, keepdims=True)
        return e

    def backward(self, x: Array, y: Array, dE_dy: Array) -> Array:
        # eq (5) through the group's Jacobian: y_j (dE/dy_j − Σ_k dE/dy_k y_k), (R,N,n)
        return y * (dE_dy - (dE_dy * y).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Logistic, Tanh, ReLU, Linear, Softmax)
}


def activation(name: str) -> Activation:
    """Look up an activation by name (``logistic``, ``tanh``, ``relu``, ``linear``, ``softmax``)."""
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}"
        ) from None


# ----------------------------------------------------------------------------
# Errors: E(y, d) per replica and dE/dy (Nature eqs. 3 and 4)
# ----------------------------------------------------------------------------


def _masked(a: Array, care: Array | None) -> Array:
    """Zero the "don't care" entries (``care`` is a 0/1 array broadcasting to ``a``)."""
    return a if care is None else a * care


@dataclass(frozen=True)
class ErrorFunction:
    """An error ``E`` summed over cases and output units, one value per replica.

    ``value`` returns shape ``(R,)``; ``dE_dy`` returns ``(R, N, n)``.  ``care`` is
    an optional 0/1 array ``(N, n)`` marking the targets that count ("don't care"
    targets contribute neither error nor gradient).
    """

    name: ClassVar[str] = ""
    #: Range targets must lie in, inclusive (None = unbounded).
    target_range: ClassVar[tuple[float, float] | None] = None

    def value(self, y: Array, d: Array, x: Array, f: Activation, care: Array | None) -> Array:
        raise NotImplementedError  # pragma: no cover

    def dE_dy(self, y: Array, d: Array, care: Array | None) -> Array:
        raise NotImplementedError  # pragma: no cover

    def dE_dx(self, y: Array, d: Array, x: Array, f: Activation, care: Array | None) -> Array:
        """Eq. (5) at the output: ``dE/dx = f'(x) · dE/dy``; fused where it is simpler."""
        return f.backward(x, y, self.dE_dy(y, d, care))

    def check_targets(self, d: Array, care: Array | None = None, what: str = "targets") -> None:
        """One clear :class:`DataError` when a counted target lies outside :attr:`target_range`;
        ``care`` (0/1) broadcasts to ``d``."""
        if self.target_range is None:
            return
        lo, hi = self.target_range
        counted = d if care is None else d[np.broadcast_to(care, d.shape) > 0]
        if counted.size and (counted.min() < lo or counted.max() > hi):
            raise DataError(
                f"{what} lie in [{counted.min():g}, {counted.max():g}], but the {self.name} "
                f"error needs targets in [{lo:g}, {hi:g}]"
            )


@dataclass(frozen=True)
class SSE(ErrorFunction):
    """Nature eq. (3): ``E = ½ Σ_c Σ_j (y_jc − d_jc)²``; eq. (4): ``dE/dy = y − d``."""

    name: ClassVar[str] = "sse"

    def value(self, y, d, x, f, care):
        r = _masked(y - d, care)  # (R,N,n)
        return 0.5 * np.einsum("rnk,rnk->r", r, r)  # eq (3): ½ Σ_c Σ_j (y − d)², (R,)

    def dE_dy(self, y, d, care):
        return _masked(y - d, care)  # eq (4): dE/dy = y − d, (R,N,n)


@dataclass(frozen=True)
class TSS(ErrorFunction):
    """The handbook's total sum of squares: ``tss = Σ_c Σ_j (t − a)²`` (no ½)."""

    name: ClassVar[str] = "tss"

    def value(self, y, d, x, f, care):
        r = _masked(y - d, care)
        return np.einsum("rnk,rnk->r", r, r)

    def dE_dy(self, y, d, care):
        return 2.0 * _masked(y - d, care)


@dataclass(frozen=True)
class MSE(ErrorFunction):
    """The article's printed loss: ``mean((y − d)²)`` over cases and units."""

    name: ClassVar[str] = "mse"

    def _count(self, y: Array, care: Array | None) -> float | Array:
        """Targets averaged over: ``N·n``, or per replica the counted ones (at least 1)."""
        if care is None:
            return float(y.shape[-2] * y.shape[-1])
        return np.maximum(np.sum(care, axis=(-2, -1)), 1.0)  # () or (R,): all "don't care" → E = 0

    def value(self, y, d, x, f, care):
        r = _masked(y - d, care)
        return np.einsum("rnk,rnk->r", r, r) / self._count(y, care)

    def dE_dy(self, y, d, care):
        count = self._count(y, care)
        if np.ndim(count):
            count = count[..., None, None]
        return 2.0 * _masked(y - d, care) / count


@dataclass(frozen=True)
class CrossEntropy(ErrorFunction):
    """Cross-entropy, summed over cases.

    Logistic outputs: ``E = −Σ [d log y + (1 − d) log(1 − y)]``;
    softmax outputs: ``E = −Σ d log y``. Both have a fused gradient, used in
    place of eq. (4) × eq. (5), which would divide by ``y(1 − y)`` and lose all
    precision when an output saturates: ``dE/dx = y − d`` for logistic units and
    ``dE/dx = y Σ_j d_j − d`` for a softmax group (``= y − d`` for one-hot targets).
    """

    name: ClassVar[str] = "cross_entropy"
    target_range: ClassVar[tuple[float, float] | None] = (0.0, 1.0)

    def value(self, y, d, x, f, care):
        if isinstance(f, Softmax):
            e = -d * log_softmax(x)
        elif isinstance(f, Logistic):
            # log y = log_logistic(x), log(1 − y) = log_logistic(−x): no overflow, no cancellation
            e = -(d * log_logistic(x) + (1.0 - d) * log_logistic(-x))
        else:
            tiny = np.finfo(y.dtype).tiny
            e = -(d * np.log(np.maximum(y, tiny)) + (1 - d) * np.log(np.maximum(1 - y, tiny)))
        return _masked(e, care).sum(axis=(-2, -1))

    def dE_dy(self, y, d, care):
        tiny = np.finfo(y.dtype).tiny
        return _masked((y - d) / np.maximum(y * (1.0 - y), tiny), care)

    def dE_dx(self, y, d, x, f, care):
        if isinstance(f, Logistic):
            return _masked(y - d, care)  # fused: dE/dx = y − d
        if isinstance(f, Softmax):
            # fused: dE/dx_k = y_k Σ_j c_j d_j − c_k d_k, which is y − d when the
            # counted targets of a case sum to 1 (one-hot, no "don't care")
            cd = _masked(d, care)
            return y * cd.sum(axis=-1, keepdims=True) - cd
        return f.backward(x, y, self.dE_dy(y, d, care))


@dataclass(frozen=True)
class DeadZone(ErrorFunction):
    """Squared error with margins (family trees, PDP sequences).

    An "on" target (``d ≥ ½``) gives no error once ``y ≥ high``, otherwise the
    shortfall from ``high``; an "off" target gives no error once ``y ≤ low``.
    ``E = ½ Σ r²`` with ``r = min(y − high, 0)`` or ``max(y − low, 0)``;
    ``dE/dy = r``.
    """

    name: ClassVar[str] = "dead_zone"
    low: float = 0.2
    high: float = 0.8

    def _residual(self, y: Array, d: Array) -> Array:
        on = d >= 0.5
        return np.where(on, np.minimum(y - self.high, 0.0), np.maximum(y - self.low, 0.0))

    def value(self, y, d, x, f, care):
        r = _masked(self._residual(y, d), care)
        return 0.5 * np.einsum("rnk,rnk->r", r, r)

    def dE_dy(self, y, d, care):
        return _masked(self._residual(y, d), care)


ERRORS: dict[str, type[ErrorFunction]] = {
    cls.name: cls for cls in (SSE, TSS, MSE, CrossEntropy, DeadZone)
}


def error_function(name: str) -> ErrorFunction:
    """An error function by name: ``sse``, ``tss``, ``mse``, ``cross_entropy``, ``dead_zone``."""
    try:
        return ERRORS[name]()
    except KeyError:
        raise ConfigError(
            f"unknown error function {name!r}; expected one of {', '.join(ERRORS)}"
        ) from None
