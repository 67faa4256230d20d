"""Checks of symmetry detectors (Nature Fig. 1; PDP Fig. 9).

``mirror_antisymmetry``: ``w_i = −w_{n+1−i}`` into each hidden unit, residual
``max_i |w_i + w_{n+1−i}| / max_i |w_i|`` below 5 %; ``ratio_124``: the side
magnitudes stand 1 : 2 : 4 (each within ±15 %).
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import CheckResult, first_fed_by, register, weights
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.base import Task


@register("mirror_antisymmetry")
def mirror_antisymmetry(
    net: Network, task: Task, *, source: str = "input", group: str | None = None,
    max_residual: float = 0.05,
) -> CheckResult:
    """Weights placed symmetrically about the middle are equal and opposite.

    For hidden unit ``j`` with input weights ``w`` (``n`` inputs) the residual is
    ``max_i |w_i + w_{n−1−i}| / max_i |w_i|``; a replica passes when every hidden
    unit's residual is below ``max_residual`` (5 %). Then every palindrome gives
    the unit a net input of 0 from the inputs.
    """
    group = group or first_fed_by(net, source)
    W = weights(net, source, group)  # (R, n, H)
    mirror = np.abs(W + W[:, ::-1, :]).max(axis=1)  # (R, H)
    scale = np.abs(W).max(axis=1)
    residual = (mirror / np.where(scale > 0, scale, np.inf)).max(axis=1)  # (R,)
    residual = np.where(scale.max(axis=1) > 0, residual, np.inf)
    return CheckResult(
        "mirror_antisymmetry", "mirror anti-symmetry",
        f"every {group} unit: max|w_i + w_mirror(i)| < {max_residual:.0%} of its largest weight",
        residual < max_residual, {"residual": residual},
    )


@register("ratio_124")
def ratio_124(
    net: Network, task: Task, *, source: str = "input", group: str | None = None,
    tolerance: float = 0.15,
) -> CheckResult:
    """The magnitudes on each side of the midpoint stand in the ratio 1 : 2 : 4 : ….

    Side magnitude ``m_k = (|w_k| + |w_{n−1−k}|) / 2`` for ``k < n/2``; sorted
    ascending and divided by the smallest, they must match ``1, 2, 4, …`` within
    ``tolerance`` (relative) in every hidden unit. Each of the ``2^(n/2)``
    half-patterns then sends a unique sum that only its mirror image cancels.
    """
    group = group or first_fed_by(net, source)
    W = np.abs(weights(net, source, group))  # (R, n, H)
    half = W.shape[1] // 2
    if half < 2:
        raise ConfigError("ratio_124 needs at least 4 inputs (two magnitudes per side)")
    m = 0.5 * (W[:, :half, :] + W[:, ::-1, :][:, :half, :])  # (R, half, H)
    m = np.sort(m, axis=1)
    smallest = m[:, :1, :]
    ratios = m / np.where(smallest > 0, smallest, np.nan)  # (R, half, H)
    expected = (2.0 ** np.arange(half))[None, :, None]
    with np.errstate(invalid="ignore"):
        deviation = np.abs(ratios / expected - 1).max(axis=(1, 2))
    deviation = np.where(np.isfinite(deviation), deviation, np.inf)
    median_ratio = np.median(ratios, axis=2)  # (R, half)
    return CheckResult(
        "ratio_124", "1:2:4 ratio",
        f"sorted side magnitudes of every {group} unit within ±{tolerance:.0%} of "
        + ":".join(str(2**k) for k in range(half)),
        deviation <= tolerance,
        {"deviation": deviation, "ratio": median_ratio},
    )
