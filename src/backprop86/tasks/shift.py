"""The shift register (PDP vol. 1 ch. 8, pp. 354-357): every pattern and its circular shift."""

from __future__ import annotations

import numpy as np

from backprop86.errors import ConfigError
from backprop86.tasks.base import Task, register
from backprop86.tasks.boolean import all_binary


@register("shift_register")
def shift_register(units: int = 3, shift: int = 2) -> Task:
    """All ``2**units`` bit patterns, each to itself shifted ``shift`` places to the left,
    circularly: target bit ``j`` is input bit ``(j + shift) mod units`` (``units = 3``,
    ``shift = 2``: 001 → 100). A recurrent net with the units as its only group, clamped at
    step 0, computes it in ``shift`` synchronous steps of one place each."""
    for name, value, low in (("units", units, 2), ("shift", shift, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"shift_register needs {name} ≥ {low} (an integer), got {value!r}")
    if units > 12:
        raise ConfigError(f"shift_register takes at most 12 units (4096 patterns), got {units}")
    X = all_binary(units)
    D = np.roll(X, -shift, axis=1)  # (2^n, n): d_j = x_{(j + shift) mod n}
    return Task(f"shift-register-{units}", X, D,
                description=f"{units}-bit patterns shifted {shift} places left, circularly")
