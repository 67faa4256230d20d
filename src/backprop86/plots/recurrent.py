"""Activity over time: what a recurrent net does with a sequence, step by step.

For a few cases, :func:`activity_over_time` draws the history of one replica of a
recurrent network (:meth:`~backprop86.network.Network.unroll`): one panel per
group, and in it one heat map per case side by side, the group's units down, the
steps ``0 … T`` across, dark for active.
Steps at which the group is clamped to the data are framed; at the steps where an
output group has targets, each unit's target is marked (a filled dot: on, an open
ring: off; nothing for a "don't care").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.plots.base import new_figure, save

if TYPE_CHECKING:  # pragma: no cover
    from backprop86.network import Network

CLAMP_COLOUR = "#1f5fa8"
TARGET_COLOUR = "#e8590c"


def history(net: Network, inputs: Array, replica: int = 0) -> dict[str, Array]:
    """Every group's activity at steps ``0 … T`` for the cases ``inputs`` ``(N, n_in)``:
    ``{group: (N, T + 1, n)}``, for one replica."""
    y = net.forward(inputs).y
    out = {}
    for g in net.groups:
        steps = [y[g.name, t] for t in range(net.steps + 1)]
        out[g.name] = np.stack([a[replica if a.shape[0] > 1 else 0] for a in steps], axis=1)
    return out


def activity_over_time(
    path: str | Path,
    net: Network,
    inputs: Array,
    *,
    labels: Sequence[str],
    title: str,
    targets: Array | None = None,
    care: Array | None = None,
    replica: int = 0,
    mid: float = 0.5,
    width: int = 760,
) -> list[Path]:
    """Heat maps of each group's units over the steps ``0 … T``: a panel per group, the
    cases side by side in it.

    ``inputs`` ``(N, n_in)``: the cases (every input slot side by side, as the task holds
    them); ``targets`` ``(N, n_out)`` (every output slot) and ``care`` mark the targets
    at the target steps, on where ``≥ mid``; ``labels``: the ``N`` cases' names.
    """
    if not net.recurrent:
        raise ConfigError("activity over time needs a recurrent network (steps, delays or "
                          "clamps); this one is feed-forward")
    inputs = np.asarray(inputs, dtype=float)
    n_cases = inputs.shape[0]
    if len(labels) != n_cases:
        raise ConfigError(f"{n_cases} cases but {len(labels)} labels")
    H = history(net, inputs, replica)
    marks = _target_marks(net, targets, care, mid)
    T = net.steps
    groups = net.groups
    sizes = [g.size for g in groups]
    span = T + 2  # a case's steps and the gap after them
    cell = max(12, min(36, (width - 140) // (n_cases * span)))
    row = max(6, min(cell, 420 // max(sum(sizes), 1)))  # a unit's height: tall groups shrink,
    panels = [n * (row if n > 10 else max(row, 14)) for n in sizes]  # small ones stay legible
    height = max(260, 150 + sum(panels) + 46 * len(groups))
    fig = new_figure((width, height))
    # one panel per group, the cases side by side in it (few axes: quick to lay out)
    axes = fig.subplots(len(groups), 1, squeeze=False,
                        height_ratios=panels)[:, 0]
    low = min(0.0, *(float(a.min()) for a in H.values()))
    high = max(1.0, *(float(a.max()) for a in H.values()))
    for gi, (ax, g) in enumerate(zip(axes, groups, strict=True)):
        image = np.full((g.size, n_cases * span - 1), np.nan)  # NaN: the gaps, not drawn
        for c in range(n_cases):
            image[:, c * span:c * span + T + 1] = H[g.name][c].T  # (n, T + 1)
            ax.add_patch(_frame(c * span, T + 1, g.size, "black", 0.8))
            for t in net.clamped.get(g.name, ()):
                ax.add_patch(_frame(c * span + t, 1, g.size, CLAMP_COLOUR, 2.5))
            for (t, j), on in marks.get(g.name, {}).items():
                _mark(ax, c * span + t, j, on[c], cell, panels[gi] // g.size)
        ax.imshow(image, cmap="Greys", vmin=low, vmax=high, aspect="auto",
                  interpolation="nearest")
        _ticks(ax, g.size, T, n_cases, bottom=gi == len(groups) - 1)
        ax.set_ylabel(g.name, fontsize="medium")
        for side in ax.spines.values():
            side.set_visible(False)
        if gi == 0:
            top = ax.secondary_xaxis("top")
            top.set_xticks([c * span + T / 2 for c in range(n_cases)], list(labels),
                           fontsize="medium")
            top.tick_params(length=0)
            for side in top.spines.values():
                side.set_visible(False)
    fig.supxlabel("step t", fontsize="medium")
    fig.suptitle(f"{title}\ndark = active ({low:g} … {high:g}); blue frame: clamped to the data; "
                 "target at a target step: ● on, ○ off", fontsize="medium")
    return save(fig, path)


def _target_marks(net: Network, targets: Array | None, care: Array | None, mid: float
                  ) -> dict[str, dict[tuple[int, int], Array]]:
    """``{group: {(step, unit): on}}`` with ``on`` ``(N,)`` holding True (on), False (off)
    or None (don't care) per case."""
    if targets is None:
        return {}
    D = np.asarray(targets, dtype=float)
    C = np.ones_like(D) if care is None else np.asarray(care, dtype=float)
    out: dict[str, dict[tuple[int, int], Array]] = {}
    start = 0
    for name, t in net.output_slots:  # type: ignore[misc]
        n = net.group(name).size
        for j in range(n):
            col = start + j
            out.setdefault(name, {})[t, j] = np.array(
                [bool(d >= mid) if k else None for d, k in zip(D[:, col], C[:, col], strict=True)],
                dtype=object)
        start += n
    return out


def _frame(x: float, width: int, n: int, colour: str, line: float) -> Any:
    """A frame round ``width`` steps from column ``x``, over all ``n`` units."""
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, -0.5), width, n, fill=False, edgecolor=colour, linewidth=line,
                     zorder=2)


def _mark(ax: Any, t: int, j: int, on: bool | None, cell: int, row: int) -> None:
    if on is None:
        return
    size = (0.45 * min(cell, row)) ** 2  # points² (at 100 dpi a point is 1.4 px: room left)
    ax.scatter([t], [j], s=size, marker="o", linewidths=1.5, edgecolors=TARGET_COLOUR,
               facecolors=TARGET_COLOUR if on else "none", zorder=3)


def _ticks(ax: Any, n: int, T: int, n_cases: int, *, bottom: bool) -> None:
    """Steps across under each case (numbered on the bottom panel), units down (every unit
    up to 10, else 1 and every fifth)."""
    steps = [c * (T + 2) + t for c in range(n_cases) for t in range(T + 1)]
    ax.set_xticks(steps, [str(t) for _ in range(n_cases) for t in range(T + 1)] if bottom
                  else [""] * len(steps), fontsize="small")
    shown = range(n) if n <= 10 else [0, *range(4, n, 5)]
    ax.set_yticks(list(shown), [str(k + 1) for k in shown], fontsize="small")
    ax.tick_params(length=0)
