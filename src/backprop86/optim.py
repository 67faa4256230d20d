"""Weight updates: gradient descent with momentum (Nature eqs. 8–9), weight decay, Adam, schedules.

Parameters and gradients are dicts of ``(R, …)`` arrays (a leading replica axis).
Every optimizer keeps its state in preallocated buffers and updates the weights
in place, so one training step allocates nothing it could reuse.

Replicas that have met their stopping rule are frozen through the ``active``
mask ``(R,)``: their weights and state do not change any more.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError


@dataclass(frozen=True)
class Schedule:
    """A piecewise-constant value by sweep: ``base``, then each ``(sweep, value)`` from its sweep.

    ``Schedule(0.002, ((20, 0.01),))`` is ε = 0.002 for sweeps 0–19 and 0.01 from
    sweep 20 on (the family-tree recipe).
    """

    base: float
    changes: tuple[tuple[int, float], ...] = ()

    def __post_init__(self) -> None:
        sweeps = [s for s, _ in self.changes]
        if sweeps != sorted(sweeps) or any(s < 0 for s in sweeps):
            raise ConfigError(f"schedule sweeps must be non-negative and increasing, got {sweeps}")

    def __call__(self, sweep: int) -> float:
        value = self.base
        for start, v in self.changes:
            if sweep >= start:
                value = v
        return value

    def fill(self, s0: int, out: Array) -> Array:
        """Sweeps ``s0 … s0 + len(out) − 1``'s values into ``out``: ``out[j] = self(s0 + j)``."""
        out[:] = self.base
        for start, v in self.changes:
            out[max(start - s0, 0):] = v
        return out


class Optimizer:
    """Base class: ``step(params, grads, lr, momentum, active)`` updates ``params`` in place."""

    def __init__(
        self,
        params: Mapping[str, Array],
        *,
        decay: float = 0.0,
        decay_mode: str = "shrink",
        decay_biases: bool = True,
        bias_max: float | None = None,
    ) -> None:
        if decay_mode not in ("shrink", "l2"):
            raise ConfigError(f"decay_mode must be 'shrink' or 'l2', got {decay_mode!r}")
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.decay_mode = decay_mode
        self.decayed = [n for n in params if decay_biases or not n.startswith("b:")]
        #: The constraint ``b ≤ bias_max`` on every bias after each update (None: none).
        self.bias_max = bias_max
        self.biases = [n for n in params if n.startswith("b:")]
        self._step = {n: np.zeros_like(p) for n, p in params.items()}

    @property
    def delta_w(self) -> dict[str, Array]:
        """``Δw`` of the latest step per parameter, ``(R, …)``: eq. (9)'s ``Δw(t−1)``.

        Engines that keep the weights in their own buffers make these arrays views
        of theirs, or write their ``Δw`` back here before anyone reads it.
        """
        return self._step

    def _apply(
        self, params: Mapping[str, Array], active: Array | None
    ) -> None:
        """``w ← w + Δw`` for the active replicas, then the paper's multiplicative decay,
        then the constraint on biases (:meth:`constrain`)."""
        for name, w in params.items():
            dw = self._step[name]
            if active is not None:
                dw *= active.reshape(-1, *([1] * (dw.ndim - 1)))  # frozen replicas: Δw = 0
            w += dw  # eq (8): w ← w + Δw, (R, …)
        if self.decay and self.decay_mode == "shrink":
            shrink = 1.0 - self.decay
            for name in self.decayed:
                w = params[name]
                if active is None:
                    w *= shrink
                else:
                    w *= np.where(active, shrink, 1.0).reshape(-1, *([1] * (w.ndim - 1)))
        self.constrain(params)

    def constrain(self, params: Mapping[str, Array]) -> None:
        """Keep every bias ≤ ``bias_max`` (PDP's "biases constrained negative"): a bias the
        update took above it is set to it. Frozen replicas already hold to it."""
        if self.bias_max is not None:
            for name in self.biases:
                np.minimum(params[name], self.bias_max, out=params[name])

    def _l2(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """L2 decay adds ``decay · w`` to the gradient (``E' = E + ½ decay Σ w²``)."""
        if self.decay and self.decay_mode == "l2":
            for name in self.decayed:
                grads[name] += self.decay * params[name]

    def step(
        self,
        params: Mapping[str, Array],
        grads: Mapping[str, Array],
        lr: float | Array,
        momentum: float | Array,
        active: Array | None = None,
    ) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def state(self) -> dict[str, Array]:
        """Arrays that a checkpoint must keep to resume bit for bit."""
        return {f"step:{n}": a for n, a in self._step.items()}

    def load_state(self, state: Mapping[str, Array]) -> None:
        for key, value in state.items():
            kind, name = key.split(":", 1)
            getattr(self, f"_{kind}")[name][...] = value


def _per_replica(value: float | Array, ndim: int) -> float | Array:
    """A scalar, or an ``(R,)`` array reshaped to broadcast over ``(R, …)`` parameters."""
    if isinstance(value, float):  # the common case, a schedule's value: no NumPy call
        return value
    if np.ndim(value) == 0:
        return float(value)
    return np.asarray(value).reshape(-1, *([1] * (ndim - 1)))


class GradientDescent(Optimizer):
    """Nature eqs. (8)–(9): ``Δw(t) = −ε ∂E/∂w(t) + α Δw(t−1)``; ``w ← w + Δw``.

    ``Δw(t−1)`` is kept in place between steps, so momentum costs no allocation.
    """

    def step(self, params, grads, lr, momentum, active=None):
        self._l2(params, grads)
        for name, g in grads.items():
            dw = self._step[name]  # holds Δw(t−1), (R, …)
            eps = _per_replica(lr, g.ndim)
            alpha = _per_replica(momentum, g.ndim)
            if isinstance(alpha, float) and alpha == 0.0:
                np.multiply(g, -eps, out=dw)  # eq (8): Δw = −ε ∂E/∂w (in the weights' dtype)
            else:  # eq (9): Δw = α Δw(t−1) − ε ∂E/∂w, in place
                dw *= alpha
                dw -= eps * g
        self._apply(params, active)


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015): ``m ← β₁m + (1−β₁)g``, ``v ← β₂v + (1−β₂)g²``,
    ``Δw = −ε m̂ / (√v̂ + δ)`` with bias-corrected ``m̂, v̂``.

    ``momentum`` is ignored (β₁ plays its part).
    """

    def __init__(
        self,
        params: Mapping[str, Array],
        *,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        **kwargs,
    ) -> None:
        super().__init__(params, **kwargs)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self._m = {n: np.zeros_like(p) for n, p in params.items()}
        self._v = {n: np.zeros_like(p) for n, p in params.items()}
        self._t = {"t": np.zeros(1)}

    def step(self, params, grads, lr, momentum, active=None):
        self._l2(params, grads)
        self._t["t"] += 1
        t = float(self._t["t"][0])
        c1 = 1.0 - self.beta1**t
        c2 = 1.0 - self.beta2**t
        for name, g in grads.items():
            m, v, dw = self._m[name], self._v[name], self._step[name]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * (g * g)
            np.sqrt(v / c2, out=dw)
            dw += self.eps
            np.divide(m / c1, dw, out=dw)
            dw *= -_per_replica(lr, g.ndim)
        self._apply(params, active)

    def state(self) -> dict[str, Array]:
        out = super().state()
        out.update({f"m:{n}": a for n, a in self._m.items()})
        out.update({f"v:{n}": a for n, a in self._v.items()})
        out["t:t"] = self._t["t"]
        return out


OPTIMIZERS = {"sgd": GradientDescent, "adam": Adam}


def make_optimizer(
    name: str,
    params: Mapping[str, Array],
    *,
    decay: float = 0.0,
    decay_mode: str = "shrink",
    decay_biases: bool = True,
    adam: Sequence[float] = (0.9, 0.999, 1e-8),
    bias_max: float | None = None,
) -> Optimizer:
    """Build an optimizer by name (``sgd`` — gradient descent with momentum — or ``adam``)."""
    common = dict(decay=decay, decay_mode=decay_mode, decay_biases=decay_biases,
                  bias_max=bias_max)
    if name == "sgd":
        return GradientDescent(params, **common)
    if name == "adam":
        b1, b2, eps = adam
        return Adam(params, beta1=b1, beta2=b2, eps=eps, **common)
    raise ConfigError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZERS)}")
