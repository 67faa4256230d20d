"""Hinton diagrams, the 1986 papers' way of drawing weights and activities.

A white square is a positive value, a black one negative, its area proportional
to the magnitude, on a grey ground. The largest square is :data:`MAX_SIDE` of its
cell, so two neighbouring full-size squares stay apart by a strip of ground.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import bias_param
from backprop86.plots.base import new_figure, save

if TYPE_CHECKING:  # pragma: no cover
    from backprop86.network import Network

#: Side of the largest square (``|w| = scale``) as a fraction of its cell: the rest is the
#: gap that keeps two neighbouring full-size squares distinct.
MAX_SIDE = 0.8
#: Pixels per character of a tick label (the "small" font), to make room for the labels.
CHAR_PX = 7


def hinton(
    ax: Any,
    M: Array,
    *,
    scale: float | None = None,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
) -> None:
    """Draw matrix ``M`` ``(rows, cols)`` as a Hinton diagram on ``ax``.

    Each entry is a square whose *area* is proportional to ``|M_ij| / scale``
    (``scale`` defaults to the largest ``|M|``), white for positive, black for
    negative, on a grey ground — as in Hinton's figures of the 1986 papers.
    """
    from matplotlib.patches import Rectangle

    M = np.asarray(M, dtype=float)
    rows, cols = M.shape
    scale = float(scale if scale is not None else np.abs(M).max(initial=0.0)) or 1.0
    ax.add_patch(Rectangle((-0.5, -0.5), cols, rows, facecolor="#8c8c8c", edgecolor="none"))
    for (i, j), w in np.ndenumerate(M):
        side = MAX_SIDE * np.sqrt(min(abs(w) / scale, 1.0))
        if side > 0:
            ax.add_patch(Rectangle((j - side / 2, i - side / 2), side, side,
                                   facecolor="white" if w > 0 else "black", edgecolor="none"))
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks(range(cols), col_labels if col_labels is not None else [""] * cols,
                  fontsize="small", rotation=90 if col_labels and max(map(len, col_labels)) > 3
                  else 0)
    ax.set_yticks(range(rows), row_labels if row_labels is not None else [""] * rows,
                  fontsize="small")
    ax.tick_params(length=0)


def incoming_matrix(net: Network, group: str, replica: int = 0) -> tuple[Array, list[str]]:
    """Every weight into ``group``'s units side by side, then the bias: ``(n, Σ n_src [+1])``.

    Row ``j`` is unit ``j`` of ``group``; the columns are labelled ``source[i]``
    (and ``bias``).
    """
    blocks, labels = [], []
    for p in net.into[group]:
        W = net.params[p.param][replica]  # (n_src, n)
        blocks.append(W.T)
        n_src = W.shape[0]
        labels += [f"{p.source}" if n_src == 1 else f"{p.source}[{i + 1}]" for i in range(n_src)]
    if net.group(group).bias:
        blocks.append(net.params[bias_param(group)][replica].T)
        labels.append("bias")
    return np.concatenate(blocks, axis=1), labels


def hinton_weights(
    path: str | Path,
    net: Network,
    *,
    replica: int = 0,
    title: str,
    width: int = 760,
) -> list[Path]:
    """Hinton diagrams of a trained net: one panel per receiving group, one row per unit.

    In each panel a row holds every weight into that unit (columns grouped by
    the sending group) and its bias; one scale (the largest weight of the net)
    serves all panels, so sizes compare across them.
    """
    targets = [g.name for g in net.groups if not g.is_input]
    mats = [incoming_matrix(net, name, replica) for name in targets]
    scale = max(float(np.abs(M).max(initial=0.0)) for M, _ in mats) or 1.0
    cols = max(M.shape[1] for M, _ in mats)
    rows = sum(M.shape[0] for M, _ in mats)
    cell = max(14, min(44, (width - 160) // max(cols, 1)))
    # each panel: its rows, its title, and its column labels (rotated when long)
    below = [CHAR_PX * max(map(len, labels)) if max(map(len, labels)) > 3 else 20
             for _, labels in mats]
    height = max(220, 90 + rows * cell + sum(30 + b for b in below))
    fig = new_figure((width, height))
    axes = fig.subplots(len(mats), 1, squeeze=False,
                        height_ratios=[M.shape[0] + 1.5 for M, _ in mats])[:, 0]
    for ax, name, (M, labels) in zip(axes, targets, mats, strict=True):
        units = [f"{name}[{j + 1}]" if M.shape[0] > 1 else name for j in range(M.shape[0])]
        hinton(ax, M, scale=scale, row_labels=units, col_labels=labels)
        ax.set_title(f"into {name}", fontsize="medium", loc="left")
    fig.suptitle(f"{title}\n(white +, black −; area ∝ |w|; largest |w| = {scale:.3g})",
                 fontsize="medium")
    return save(fig, path)


def hinton_activity(
    path: str | Path,
    activity: Array,
    *,
    case_labels: Sequence[str],
    unit_labels: Sequence[str],
    title: str,
    width: int = 520,
) -> list[Path]:
    """Activations ``(N cases, n units)`` as a Hinton diagram (area ∝ activation, scale 1)."""
    A = np.asarray(activity, dtype=float)
    n = A.shape[0]
    cell = max(6, min(30, 1400 // max(n, 1)))
    height = max(200, min(1600, 110 + n * cell))
    fig = new_figure((width, height))
    ax = fig.subplots()
    labels = list(case_labels) if n <= 70 else [""] * n
    hinton(ax, A, scale=1.0, row_labels=labels, col_labels=list(unit_labels))
    ax.set_xlabel("unit")
    ax.set_ylabel("input pattern")
    ax.set_title(title, fontsize="medium")
    return save(fig, path)


def receptive_fields(
    path: str | Path,
    net: Network,
    shape: tuple[int, int],
    *,
    group: str | None = None,
    replica: int = 0,
    title: str,
    width: int = 760,
) -> list[Path]:
    """Each unit of ``group`` (default: the first hidden group) as a Hinton diagram of its
    weights from an image input, laid out as the image: unit ``j``'s panel is
    ``W[r, :, j].reshape(shape)`` (``W`` ``(R, rows·cols, n)``, the paper's ``w_ji`` for
    pixel ``i``), white for excitatory, black for inhibitory, one scale for all panels."""
    group = group or (net.hidden[0] if net.hidden else net.outputs[0])
    sources = [p for p in net.into[group] if net.group(p.source).is_input]
    if not sources:
        raise ConfigError(f"group {group!r} receives no weights from an input group")
    W = net.params[sources[0].param][replica]  # (rows·cols, n)
    rows, cols = shape
    n = W.shape[1]
    across = min(n, 8)
    down = -(-n // across)
    scale = float(np.abs(W).max(initial=0.0)) or 1.0
    panel = max(60, (width - 40) // across)
    fig = new_figure((width, max(200, 90 + down * (panel + 18))))
    axes = fig.subplots(down, across, squeeze=False)
    for j, ax in enumerate(axes.ravel()):
        if j >= n:
            ax.set_axis_off()
            continue
        hinton(ax, W[:, j].reshape(rows, cols), scale=scale)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{group}[{j + 1}]", fontsize="x-small")
    fig.suptitle(f"{title}\n(white +, black −; area ∝ |w|; largest |w| = {scale:.3g})",
                 fontsize="medium")
    return save(fig, path)


def shared_fields(
    path: str | Path,
    fields: Array,
    bias: Array,
    labels: Sequence[str],
    *,
    title: str,
    width: int = 700,
) -> list[Path]:
    """PDP Fig. 15: one panel per net, its shared receptive field ``fields[k]`` ``(h, w)`` as
    a Hinton diagram with the bias beside it (the right-hand column, apart), each on its own
    scale, titled ``labels[k]`` (the seed and the field's kind). ``fields`` ``(K, h, w)``,
    ``bias`` ``(K,)``."""
    K, h, w = fields.shape
    across = min(K, 6)
    down = -(-K // across)
    panel = max(80, (width - 40) // across)
    fig = new_figure((width, max(200, 90 + down * (int(panel * h / (w + 2)) + 30))))
    axes = fig.subplots(down, across, squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        if k >= K:
            ax.set_axis_off()
            continue
        M = np.full((h, w + 2), np.nan)
        M[:, :w] = fields[k]
        M[h // 2, w + 1] = bias[k]
        scale = float(np.nanmax(np.abs(M))) or 1.0
        hinton(ax, np.nan_to_num(M), scale=scale)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(labels[k], fontsize="x-small")
    fig.suptitle(f"{title}\n(white +, black −; area ∝ |w|, each panel on its own scale; "
                 "the square apart on the right is the bias)", fontsize="medium")
    return save(fig, path)
