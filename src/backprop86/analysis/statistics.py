"""Statistics over replicas: intervals and tests of success rates, quantiles of measured values.

Pure functions of counts and arrays; :mod:`backprop86.analysis.summary` applies
them to a training result.
"""

from __future__ import annotations

import math

import numpy as np

from backprop86.arrays import Array


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (95 % by default).

    ``p̂ = k/n``; centre ``(p̂ + z²/2n) / (1 + z²/n)``; half-width
    ``z √(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n)``. Unlike the normal interval it stays
    inside [0, 1] and is sensible at ``k = 0`` and ``k = n``.
    """
    if n <= 0:
        return (0.0, 1.0)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, {n}], got {successes}")
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends: no rounding residue
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return (lo, hi)


def binomial_p_value(k: int, n: int, p: float) -> float:
    """Exact two-sided binomial test: the probability, under ``Binomial(n, p)``, of an outcome
    no more likely than ``k`` successes in ``n`` trials,
    ``Σ_j P(j) over P(j) ≤ P(k)`` with ``P(j) = C(n, j) p^j (1 − p)^(n−j)``.

    It asks whether a small published sample (two runs, eight held-out cases) is a
    plausible draw from the measured rate ``p``.
    """
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    probs = [math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(n + 1)]
    cutoff = probs[k] * (1 + 1e-9)
    return min(1.0, sum(q for q in probs if q <= cutoff))


def quantiles(
    values: Array, qs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
) -> dict[str, float | None]:
    """Named quantiles (``"q05"``, ``"q25"``, …) of the finite values; ``None`` if none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    out: dict[str, float | None] = {}
    for q in qs:
        out[f"q{round(q * 100):02d}"] = float(np.quantile(v, q)) if v.size else None
    return out


def median_or_none(values: Array) -> float | None:
    """The median of the finite values; ``None`` if there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def iqr(values: Array) -> list[float] | None:
    """The interquartile range ``[q25, q75]`` of the finite values; ``None`` if there are none."""
    q = quantiles(values, (0.25, 0.75))
    if q["q25"] is None:
        return None
    return [q["q25"], q["q75"]]  # type: ignore[list-item]


def binomial_tail(k: int, n: int, p: float, upper: bool) -> float:
    """One-sided exact binomial test: ``P(X ≥ k)`` (``upper``) or ``P(X ≤ k)`` under
    ``Binomial(n, p)``. It asks the question in its direction: is a published count *this
    good* (or this bad) a plausible draw from the measured rate ``p``?"""
    if not 0 <= k <= n:
        raise ValueError(f"k must be in [0, {n}], got {k}")
    js = range(k, n + 1) if upper else range(0, k + 1)
    return min(1.0, sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in js))


def censored_quantiles(
    times: Array, n: int, cap: int, qs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
) -> dict[str, float | None]:
    """Quantiles of a time-to-event over all ``n`` runs, of which only ``times`` (the runs
    that got there within ``cap``) are observed; the other ``n − len(times)`` are
    right-censored: slower than ``cap``, their times unknown.

    The empirical quantile over all runs (the Kaplan–Meier estimate when every censored
    run is censored at the same ``cap``): the ``⌈q·n⌉``-th smallest time, ``None`` when it
    falls among the censored runs ("> cap").
    """
    t = np.sort(np.asarray(times, dtype=np.float64))
    out: dict[str, float | None] = {}
    for q in qs:
        rank = max(1, math.ceil(q * n - 1e-9))  # 1-based rank among all n runs
        out[f"q{round(q * 100):02d}"] = float(t[rank - 1]) if rank <= t.size else None
    return out


def censored_percentile(value: float, times: Array, n: int) -> float:
    """Percentile of ``value`` among all ``n`` runs, the censored ones counted as slower than
    any observed time: ``100 · (#times < value + ½ #times = value) / n``."""
    t = np.asarray(times, dtype=np.float64)
    if n <= 0:
        return float("nan")
    return 100.0 * (float(np.sum(t < value)) + 0.5 * float(np.sum(t == value))) / n


def median_ci(values: Array, z: float = 1.959963984540054) -> tuple[float, float] | None:
    """Distribution-free 95 % interval of the median from order statistics: the ``l``-th and
    ``u``-th smallest of ``n`` values, ``l = ⌊(n − z√n)/2⌋``, ``u = ⌈1 + (n + z√n)/2⌉``
    (the binomial(n, ½) normal approximation), clipped to ``[1, n]``; ``None`` for no values."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    n = v.size
    if n == 0:
        return None
    lo = max(1, math.floor((n - z * math.sqrt(n)) / 2))
    hi = min(n, math.ceil(1 + (n + z * math.sqrt(n)) / 2))
    return float(v[lo - 1]), float(v[hi - 1])


#: Student's t, 97.5th percentile, for 1 … 30 degrees of freedom (beyond: the normal's 1.96).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
         2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
         2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def mean_ci(values: Array) -> dict[str, float | None]:
    """Mean of ``values`` (one per seed) with its 95 % interval, ``mean ± t₀.₉₇₅(n−1) · s/√n``
    (Student's t; ``s`` the sample standard deviation), and the smallest and largest value.
    One value has no interval (``None``)."""
    v = np.asarray(values, dtype=np.float64)
    n = v.size
    if n == 0:
        return {"mean": None, "lo": None, "hi": None, "min": None, "max": None, "n": 0}
    mean = float(v.mean())
    if n == 1:
        lo = hi = None
    else:
        t = _T975[n - 2] if n - 1 <= len(_T975) else 1.959963984540054
        half = t * float(v.std(ddof=1)) / math.sqrt(n)
        lo, hi = mean - half, mean + half
    return {"mean": mean, "lo": lo, "hi": hi, "min": float(v.min()), "max": float(v.max()),
            "n": n}
