"""Points in the plane: two-class pattern sets with two real inputs, to watch a net carve
the plane (the sets of the web page, ``backprop86 serve``).

Every set draws ``n`` points in the square ``[−1, 1]²`` from ``np.random.default_rng(seed)``
and gives each a target 0 or 1:

* ``xor_points`` — the XOR quadrants: target ``[x₁ > 0] ≠ [x₂ > 0]``;
* ``circle`` — a disc of radius 0.5 (target 1) inside a ring 0.7–1.0 (target 0);
* ``spirals`` — two interleaved spirals, ``r = t``, angle ``2.5·π·t`` and that plus ``π``;
* ``blobs`` — two Gaussian clouds (σ = 0.3) around ``(−0.4, −0.4)`` (0) and ``(0.4, 0.4)`` (1).

``noise`` adds Gaussian jitter of that standard deviation to both coordinates (after the
targets are given, so a noisy point can cross into the other class's region). ``test`` is
the fraction of the ``n`` points held out as the task's :attr:`~backprop86.tasks.base.Task.test`
cases (drawn from the same generator), the rest are trained on. The inputs are the two
coordinates ``(n, 2)``, the targets ``(n, 1)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register

#: The largest number of points a set may have (a page asks for it; a file may too).
MAX_POINTS = 100_000


def _checked(n: object, noise: object, test: object, seed: object) -> tuple[int, float, float, int]:
    if isinstance(n, bool) or not isinstance(n, int) or not 4 <= n <= MAX_POINTS:
        raise ConfigError(f"n must be an integer from 4 to {MAX_POINTS:,}, got {n!r}")
    ok = not isinstance(noise, bool) and isinstance(noise, (int, float))
    if not ok or not 0 <= float(noise) <= 1:  # type: ignore[arg-type]
        raise ConfigError(f"noise must be a number from 0 to 1, got {noise!r}")
    ok = not isinstance(test, bool) and isinstance(test, (int, float))
    if not ok or not 0 <= float(test) < 0.9:  # type: ignore[arg-type]
        raise ConfigError(f"test must be a fraction from 0 to 0.9 (exclusive), got {test!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"seed must be an integer ≥ 0, got {seed!r}")
    held = _held_out(n, float(test))  # type: ignore[arg-type]
    if n - held < 2:
        raise ConfigError(f"test = {test} leaves fewer than 2 of the {n} points to train on")
    return n, float(noise), float(test), seed  # type: ignore[arg-type,return-value]


def _held_out(n: int, test: float) -> int:
    return round(n * test)


def _shape(n: int = 200, noise: float = 0.0, test: float = 0.0, seed: int = 0
           ) -> tuple[int, int, int]:
    n, noise, test, seed = _checked(n, noise, test, seed)
    return n - _held_out(n, test), 2, 1


def _quadrants(rng: np.random.Generator, n: int) -> tuple[Array, Array]:
    X = rng.uniform(-1.0, 1.0, size=(n, 2))
    return X, ((X[:, 0] > 0) != (X[:, 1] > 0)).astype(float)


def _circle(rng: np.random.Generator, n: int) -> tuple[Array, Array]:
    inner = np.arange(n) % 2 == 0  # half the points inside, half in the ring
    radius = np.where(inner, rng.uniform(0.0, 0.5, n), rng.uniform(0.7, 1.0, n))
    angle = rng.uniform(0.0, 2 * math.pi, n)
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1)
    return X, inner.astype(float)


def _spirals(rng: np.random.Generator, n: int) -> tuple[Array, Array]:
    second = np.arange(n) % 2 == 1
    t = rng.uniform(0.05, 1.0, n)
    angle = 2.5 * math.pi * t + np.where(second, math.pi, 0.0)
    X = np.stack([t * np.cos(angle), t * np.sin(angle)], axis=1)
    return X, second.astype(float)


def _blobs(rng: np.random.Generator, n: int) -> tuple[Array, Array]:
    second = np.arange(n) % 2 == 1
    centre = np.where(second, 0.4, -0.4)[:, None]
    X = centre + rng.normal(0.0, 0.3, size=(n, 2))
    return X, second.astype(float)


def _points(kind: str, draw: Callable[[np.random.Generator, int], tuple[Array, Array]],
            description: str, n: int, noise: float, test: float, seed: int) -> Task:
    n, noise, test, seed = _checked(n, noise, test, seed)
    rng = np.random.default_rng(seed)
    X, d = draw(rng, n)
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(n)  # the held-out points: a random subset, not one class
    X, D = X[order], d[order][:, None]
    labels = tuple(f"({a:.2f}, {b:.2f})" for a, b in X)
    held = _held_out(n, test)
    name = f"{kind}-{n}"
    test_task = None
    if held:
        test_task = Task(f"{name}-test", X[:held], D[:held], labels[:held],
                         description=description)
    return Task(name, X[held:], D[held:], labels[held:], description=description,
                test=test_task)


#: The point sets by name, with the words that describe them.
SETS: dict[str, tuple[Callable[[np.random.Generator, int], tuple[Array, Array]], str]] = {
    "xor_points": (_quadrants, "XOR quadrants: 1 where the signs of x₁ and x₂ differ"),
    "circle": (_circle, "a disc (1) inside a ring (0)"),
    "spirals": (_spirals, "two interleaved spirals"),
    "blobs": (_blobs, "two Gaussian clouds"),
}


def _register(kind: str) -> None:
    draw, description = SETS[kind]

    def generator(n: int = 200, noise: float = 0.0, test: float = 0.0, seed: int = 0) -> Task:
        return _points(kind, draw, description, n, noise, test, seed)

    generator.__name__ = kind
    generator.__doc__ = f"{description}: ``n`` points in the plane (see the module)."
    register(kind, _shape)(generator)


for _kind in SETS:
    _register(_kind)
