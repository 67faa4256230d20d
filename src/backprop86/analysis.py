"""Statistics over replicas: success rates with Wilson intervals, quantiles of sweeps and errors,
and what the failed nets get wrong, in words."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop86.errors import ConfigError
from backprop86.train import TrainResult, on_target

Array = np.ndarray

#: The sweep counts a claim or a series can be about.
SWEEP_METRICS = ("sweeps_to_solve", "sweeps_to_stop")


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
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else None


def sweeps_to(metric: str, result: TrainResult) -> Array:
    """Per replica that got there, as floats: ``sweeps_to_solve`` — the first sweep whose
    outputs solved the task, among the solved replicas — or ``sweeps_to_stop``."""
    if metric == "sweeps_to_solve":
        return result.first_solved[result.solved & (result.first_solved > 0)].astype(float)
    if metric == "sweeps_to_stop":
        return result.sweeps[result.stopped].astype(float)
    raise ConfigError(f"unknown metric {metric!r}; expected one of {', '.join(SWEEP_METRICS)}")


def summarize(result: TrainResult) -> dict[str, Any]:
    """The summary every run reports: solved count, rate, 95 % CI, sweeps to solve and to stop."""
    n = result.solved.size
    solved = int(result.solved.sum())
    to_solve = sweeps_to("sweeps_to_solve", result)
    to_stop = sweeps_to("sweeps_to_stop", result)
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


# ----------------------------------------------------------------------------
# Failures: what an unsolved network answers, in words
# ----------------------------------------------------------------------------

#: Patterns listed by name in a failure kind; beyond this many only their count is given.
MAX_LISTED = 6


def failure_kind(
    outputs: Array,
    targets: Array,
    labels: Sequence[str],
    *,
    mid: float = 0.5,
    margin: float | None = None,
    near: float = 0.1,
    care: Array | None = None,
) -> str | None:
    """What one network gets wrong, in words; ``None`` when it solves the task.

    ``outputs``, ``targets``: ``(N, n_out)``; ``labels``: the ``N`` pattern names.
    *Solved* is the training criterion: every output on the target's side of
    ``mid`` (``margin=None``), or every output within ``margin`` of its target,
    i.e. ``|y − d| < margin``. An output is *undecided* when ``|y − mid| < near``.

    Kinds: ``"diverged"`` (a non-finite output); ``"all outputs ≈ 0.5"`` (every
    output undecided); otherwise the parts that apply, joined by ``"; "`` —
    ``"output ≈ 0.5 on 2 patterns (01, 11)"``, ``"wrong on 11"`` (clearly on the
    wrong side), ``"short of the 0.1 margin on 10"`` (right side, not close enough).
    Undecided patterns are named whether or not they happen to be on the right side,
    so the kind does not flicker with the last digit of an output near ``mid``.
    """
    y = np.asarray(outputs, dtype=np.float64)
    d = np.asarray(targets, dtype=np.float64)
    if y.shape != d.shape or y.ndim != 2:
        raise ValueError(f"outputs {y.shape} and targets {d.shape} must both be (cases, outputs)")
    cares = np.ones_like(d, dtype=bool) if care is None else np.asarray(care) > 0
    if not np.all(np.isfinite(y[cares])):
        return "diverged"
    side_ok = on_target(y, d, None, mid)
    ok = on_target(y, d, margin, mid) | ~cares
    if ok.all():
        return None
    undecided = (np.abs(y - mid) < near) & cares
    if undecided[cares].all():
        return f"all outputs ≈ {mid:g}"
    pattern_undecided = undecided.any(axis=1)
    pattern_wrong = (~side_ok & cares).any(axis=1) & ~pattern_undecided
    pattern_short = (~ok).any(axis=1) & ~pattern_undecided & ~pattern_wrong
    parts = []
    if pattern_undecided.any():
        parts.append(f"output ≈ {mid:g} on {_patterns(labels, pattern_undecided)}")
    if pattern_wrong.any():
        parts.append(f"wrong on {_patterns(labels, pattern_wrong)}")
    if pattern_short.any():
        parts.append(f"short of the {margin:g} margin on {_patterns(labels, pattern_short)}")
    return "; ".join(parts)


def classify_failures(
    outputs: Array,
    targets: Array,
    labels: Sequence[str],
    *,
    diverged: Array | None = None,
    mid: float = 0.5,
    margin: float | None = None,
    near: float = 0.1,
    care: Array | None = None,
) -> list[str | None]:
    """:func:`failure_kind` of every replica.

    ``outputs``: ``(R, N, n_out)``; ``targets``: ``(N, n_out)``.

    ``diverged`` ``(R,)`` marks replicas whose training produced a non-finite value.
    """
    y = np.asarray(outputs)
    kinds: list[str | None] = []
    for r in range(y.shape[0]):
        if diverged is not None and diverged[r]:
            kinds.append("diverged")
            continue
        kinds.append(
            failure_kind(y[r], targets, labels, mid=mid, margin=margin, near=near, care=care)
        )
    return kinds


def failure_kinds(
    outputs: Array,
    targets: Array,
    labels: Sequence[str],
    **criterion: Any,
) -> dict[str, int]:
    """How many replicas fail in each way, most common first (see :func:`classify_failures`)."""
    return count_kinds(classify_failures(outputs, targets, labels, **criterion))


def count_kinds(kinds: Sequence[str | None]) -> dict[str, int]:
    """Counts of the non-``None`` kinds, most common first, ties in alphabetical order."""
    counts: dict[str, int] = {}
    for k in kinds:
        if k is not None:
            counts[k] = counts.get(k, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _patterns(labels: Sequence[str], which: Array) -> str:
    names = [label for label, w in zip(labels, which, strict=True) if w]
    if len(names) == 1:
        return names[0]
    if len(names) <= MAX_LISTED:
        return f"{len(names)} patterns ({', '.join(names)})"
    return f"{len(names)} of {len(labels)} patterns"
