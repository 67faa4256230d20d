"""Statistics over replicas: success rates with Wilson intervals, quantiles of sweeps and errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from backprop86.train import TrainResult

Array = np.ndarray


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
    return (max(0.0, centre - half), min(1.0, centre + half))


def quantiles(values: Array, qs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> dict[str, float | None]:
    """Named quantiles (``"q05"``, ``"q25"``, …) of the finite values; ``None`` when there are none."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    out: dict[str, float | None] = {}
    for q in qs:
        out[f"q{round(q * 100):02d}"] = float(np.quantile(v, q)) if v.size else None
    return out


def median_or_none(values: Array) -> float | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def summarize(result: TrainResult, seeds: list[int]) -> dict[str, Any]:
    """The summary every run reports: solved count, rate, 95 % interval, sweeps to solve and to stop."""
    n = len(seeds)
    solved = int(result.solved.sum())
    to_solve = result.first_solved[result.solved & (result.first_solved > 0)].astype(float)
    to_stop = result.sweeps[result.stopped].astype(float)
    lo, hi = wilson(solved, n)
    return {
        "seeds": n,
        "solved": solved,
        "rate": solved / n if n else 0.0,
        "ci95": [lo, hi],
        "median_sweeps_to_solve": median_or_none(to_solve),
        "sweeps_to_solve_iqr": _iqr(to_solve),
        "stopped": int(result.stopped.sum()),
        "median_sweeps_to_stop": median_or_none(to_stop),
        "sweeps_to_stop_iqr": _iqr(to_stop),
        "diverged": int(result.diverged.sum()),
        "final_error_quantiles": quantiles(result.final_error),
    }


def _iqr(values: Array) -> list[float] | None:
    q = quantiles(values, (0.25, 0.75))
    if q["q25"] is None:
        return None
    return [q["q25"], q["q75"]]  # type: ignore[list-item]
