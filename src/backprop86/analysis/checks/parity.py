"""Checks of parity nets (PDP Fig. 6, Table 3).

``count_code``: which hidden units are on depends only on the number of on
inputs, and the on-sets are nested, monotone in that count.
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import ON, CheckResult, hidden_activity, register
from backprop86.network import Network
from backprop86.tasks.base import Task


@register("count_code")
def count_code(net: Network, task: Task, *, group: str | None = None) -> CheckResult:
    """Which hidden units are on depends only on the number of on inputs, monotonically.

    With ``C_c`` the set of on units (activation > 0.5) for inputs with ``c`` bits
    on, a replica passes when (1) all inputs with the same count give the same
    set and (2) the sets are strictly nested in one direction,
    ``C_0 ⊂ C_1 ⊂ … ⊂ C_n`` (Fig. 6's thermometer) or ``C_0 ⊃ C_1 ⊃ … ⊃ C_n``
    (Table 3's mirror image: 1111, 1011, 1010, 0010, 0000).
    """
    H = hidden_activity(net, task, [group] if group else None) > ON  # (R, N, h)
    counts = task.inputs.sum(axis=1).round().astype(int)  # (N,)
    levels = np.unique(counts)
    first = np.array([np.flatnonzero(counts == c)[0] for c in levels])
    per_count = H[:, first, :]  # (R, n_levels, h)
    expected = per_count[:, np.searchsorted(levels, counts), :]  # (R, N, h)
    consistent = np.all(expected == H, axis=(1, 2))
    a, b = per_count[:, :-1, :], per_count[:, 1:, :]
    changes = np.any(a != b, axis=2).all(axis=1)  # every step changes the code
    up = np.all(a <= b, axis=(1, 2)) & changes  # C_c ⊆ C_{c+1}
    down = np.all(a >= b, axis=(1, 2)) & changes
    distinct = np.array([len({tuple(row) for row in r}) for r in per_count])
    return CheckResult(
        "count_code", "count code",
        "on-units depend only on the number of on inputs and are nested, monotone in it",
        consistent & (up | down),
        {"consistent": consistent, "monotone": up | down, "codes": distinct},
    )
