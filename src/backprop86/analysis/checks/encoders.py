"""Checks of encoders (PDP Tables 5 and 7; the handbook's 4-2-4).

``distinct_codes``: every pattern gets its own hidden code.
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import CheckResult, hidden_activity, register
from backprop86.network import Network
from backprop86.tasks.base import Task


@register("distinct_codes")
def distinct_codes(
    net: Network, task: Task, *, group: str | None = None, min_distance: float = 0.2,
) -> CheckResult:
    """Every pattern gets its own hidden code.

    The distance between two codes is the largest difference in any one unit
    (L∞); a replica passes when the closest pair of patterns is at least
    ``min_distance`` apart. ``levels`` counts the distinct codes after rounding
    each activation to 0, 0.5 or 1 (PDP Table 5 uses all three).
    """
    H = hidden_activity(net, task, [group] if group else None)  # (R, N, h)
    diff = np.abs(H[:, :, None, :] - H[:, None, :, :]).max(axis=-1)  # (R, N, N)
    n = H.shape[1]
    diff[:, np.arange(n), np.arange(n)] = np.inf
    closest = diff.min(axis=(1, 2))
    rounded = np.round(H * 2) / 2
    levels = np.array([len({tuple(row) for row in r}) for r in rounded])
    where = group or "hidden"
    return CheckResult(
        "distinct_codes", "distinct codes",
        f"the {n} patterns' {where} codes pairwise at least {min_distance:g} apart in some unit",
        closest >= min_distance,
        {"closest": closest, "rounded_codes": levels},
    )
