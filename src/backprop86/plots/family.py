"""Nature Fig. 4 for any trained family-trees net: the weights from the 24 people to each code unit.

One panel per unit of the person1 encoding: a 2 × 12 Hinton diagram with the
English people in the top row (CogSci Fig. 6 order: the men, then the women)
and each Italian twin directly below, as the paper draws them; the unit's bias
to the right. Each panel is titled with the role :mod:`backprop86.analysis.checks.family`
assigns to the unit, if any, and its correlation. matplotlib is imported only
when a figure is drawn (:mod:`backprop86.plots.base`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from backprop86.analysis.checks.base import weights
from backprop86.analysis.checks.family import ROLES, family_units
from backprop86.network import Network, bias_param
from backprop86.plots.base import new_figure, save
from backprop86.plots.hinton import hinton
from backprop86.tasks.family import ENGLISH, ITALIAN


def person_weights(
    net: Network, *, input_group: str = "person1", code_group: str = "person_code",
    replica: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(k, 2, 12)`` (unit, English/Italian row, position) and biases ``(k,)``."""
    W = weights(net, input_group, code_group)[replica]  # (24, k): PEOPLE order, English first
    grid = np.stack([W[:12].T, W[12:].T], axis=1)  # (k, 2, 12)
    b = net.params.get(bias_param(code_group))
    bias = b[replica, 0] if b is not None else np.zeros(W.shape[1])
    return grid, bias


def nature_fig4(
    path: str | Path, net: Network, *, replica: int = 0, title: str,
    input_group: str = "person1", code_group: str = "person_code",
) -> list[Path]:
    """Draw the figure for one replica; returns the written files (PNG and SVG)."""
    grid, bias = person_weights(net, input_group=input_group, code_group=code_group,
                                replica=replica)
    roles: dict[int, str] = {}
    analysis: dict[str, Any] = family_units(
        net, input_group=input_group, code_group=code_group,
        replicas=np.arange(net.replicas) == replica,
    )["replicas"][0]
    for f in ROLES:
        role = analysis["roles"][f]
        mark = "" if role["found"] else ", not clean"
        roles[role["unit"]] = f"{f} (r = {role['r']:+.2f}{mark})"
    k = grid.shape[0]
    scale = float(max(np.abs(grid).max(initial=0.0), np.abs(bias).max(initial=0.0))) or 1.0
    fig = new_figure((820, 150 + 120 * k))
    axes = fig.subplots(k, 1, squeeze=False)[:, 0]
    for u, ax in enumerate(axes):
        M = np.concatenate([grid[u], np.array([[bias[u]], [0.0]])], axis=1)  # bias in column 13
        last = u == k - 1
        hinton(
            ax, M, scale=scale, row_labels=["English", "Italian"],
            col_labels=[f"{e}/{i}" for e, i in zip(ENGLISH, ITALIAN, strict=True)] + ["bias"]
            if last else None,
        )
        ax.set_title(f"unit {u + 1}: {roles.get(u, 'no role assigned')}", fontsize="small",
                     loc="left")
    fig.suptitle(f"{title}\nweights from person1 to the {k} {code_group} units "
                 f"(white +, black −; area ∝ |w|; largest |w| = {scale:.3g})", fontsize="medium")
    return save(fig, path)
