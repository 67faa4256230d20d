"""Checks of recurrent nets (PDP vol. 1 ch. 8, pp. 354-360).

``one_place_per_step``: the shift register's solution — every weight of the
recurrent projection near zero except each unit's link from its neighbour one
place along the shift (with wrap-around), so that each step shifts the pattern
one place.
"""

from __future__ import annotations

import numpy as np

from backprop86.analysis.checks.base import CheckResult, register
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.base import Task


@register("one_place_per_step")
def one_place_per_step(net: Network, task: Task, *, relative: float = 0.25) -> CheckResult:
    """Each unit ``j`` listens to unit ``j + 1`` (mod ``n``) only: a left shift of one place.

    For the network's first projection from a group to itself, ``W[r, i, j]``
    (from unit ``i`` to unit ``j``): the ``n`` links ``W[j + 1, j]`` are positive and
    every other weight is smaller in size than ``relative`` times the weakest of
    them (PDP p. 357: "all weights zero except" the links to the neighbour).
    """
    loops = [p for p in net.projections if p.source == p.target]
    if not loops:
        raise ConfigError("one_place_per_step needs a projection from a group to itself")
    W = net.params[loops[0].param]  # (R, n, n)
    n = W.shape[-1]
    j = np.arange(n)
    links = W[:, (j + 1) % n, j]  # (R, n): unit j+1 -> unit j
    off = np.abs(W).copy()
    off[:, (j + 1) % n, j] = 0.0
    weakest = links.min(axis=1)  # (R,)
    ratio = off.max(axis=(1, 2)) / np.maximum(np.abs(weakest), np.finfo(float).tiny)
    passed = (weakest > 0) & (ratio < relative)
    return CheckResult(
        "one_place_per_step", "shifts one place per step",
        f"the {n} links to each unit from its neighbour one place along are positive, every "
        f"other weight below {relative:.0%} of the weakest of them",
        passed, {"largest_other_over_weakest_link": ratio},
    )
