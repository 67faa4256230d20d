"""Failures: what an unsolved network answers, in words.

:func:`failure_kind` names what one replica gets wrong ("all outputs ≈ 0.5",
"output ≈ 0.5 on 11", "wrong on 2 patterns (01, 10)"); :func:`count_kinds`
groups the replicas of a sweep by it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from backprop86.arrays import Array
from backprop86.engine import on_target

#: Patterns listed by name in a failure kind; beyond this many only their count is given.
MAX_LISTED = 6


#: An output within this fraction of the target range from the midpoint counts as
#: undecided ("≈ 0.5") when a sweep groups its failures.
UNDECIDED = 0.1


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

    The replicas that solve the task are found for all at once (``None``, as
    :func:`failure_kind` says); only the others are put in words one by one, so a million
    replicas cost little more than the few that fail.
    """
    y = np.asarray(outputs, dtype=np.float64)
    d = np.asarray(targets, dtype=np.float64)
    kinds: list[str | None] = [None] * y.shape[0]
    if y.ndim == 3 and y.shape[1:] == d.shape:
        cares = np.ones(d.shape, dtype=bool) if care is None else np.asarray(care) > 0
        with np.errstate(invalid="ignore"):
            ok = on_target(y, d, margin, mid) | ~cares  # (R, N, n_out)
        solved = ok.reshape(len(kinds), -1).all(axis=1)
        solved &= np.isfinite(np.where(cares, y, 0.0)).reshape(len(kinds), -1).all(axis=1)
    else:  # shapes failure_kind refuses: let it say so
        solved = np.zeros(len(kinds), dtype=bool)
    if diverged is not None:
        solved &= ~np.asarray(diverged, dtype=bool)
    for r in np.flatnonzero(~solved).tolist():
        if diverged is not None and diverged[r]:
            kinds[r] = "diverged"
            continue
        kinds[r] = failure_kind(y[r], targets, labels, mid=mid, margin=margin, near=near,
                                care=care)
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
