"""Figures of one trained network: its decision boundary and its hidden representations."""

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
    from backprop86.tasks import Task


def decision_boundary(
    path: str | Path,
    net: Network,
    task: Task,
    *,
    replica: int = 0,
    title: str,
    mid: float = 0.5,
    resolution: int = 101,
    size: tuple[int, int] = (600, 520),
) -> list[Path]:
    """The output of one network over the unit square (and a margin), with the ``mid`` contour.

    Needs a task with 2 inputs and 1 output. The training patterns are marked
    by target (filled = high, open = low) and labelled with the network's output.
    """
    if task.n_inputs != 2 or task.n_outputs != 1:
        raise ConfigError(
            f"a decision boundary needs a task with 2 inputs and 1 output; "
            f"{task.name!r} has {task.n_inputs} and {task.n_outputs}"
        )
    lo, hi = -0.25, 1.25
    axis = np.linspace(lo, hi, resolution)
    g1, g2 = np.meshgrid(axis, axis)
    grid = np.column_stack([g1.ravel(), g2.ravel()])
    surface = _one(net, replica, grid)[:, 0].reshape(resolution, resolution)
    fig = new_figure(size)
    ax = fig.add_subplot()
    # Bands of 0.1: flat colours read (and compress) better than a smooth gradient.
    image = ax.contourf(g1, g2, np.clip(surface, 0.0, 1.0), levels=np.linspace(0.0, 1.0, 11),
                        cmap="RdBu_r", vmin=0.0, vmax=1.0)
    ax.set_aspect("equal")
    # A boundary is drawn only where the output really crosses ``mid``, not in a flat field.
    crosses = surface.min() < mid < surface.max() and np.ptp(surface) > 0.05
    if crosses:
        ax.contour(g1, g2, surface, levels=[mid], colors="black", linewidths=2)
    ax.plot([0, 1, 1, 0, 0], [0, 0, 1, 1, 0], color="0.3", linewidth=0.8, linestyle=":")
    outputs = _one(net, replica, task.inputs)[:, 0]
    high = task.targets[:, 0] > mid
    for (x1, x2), label, y, is_high in zip(task.inputs, task.labels, outputs, high, strict=True):
        ax.scatter([x1], [x2], s=160, marker="o", edgecolors="black", linewidths=2,
                   facecolors="black" if is_high else "white", zorder=3)
        ax.annotate(f"{label} → {y:.2f}", (x1, x2), xytext=(0, 13), textcoords="offset points",
                    ha="center", fontsize="medium", fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none", "alpha": 0.8})
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel("input 1")
    ax.set_ylabel("input 2")
    ax.set_title(title)
    bar = fig.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label(f"network output (black line: {mid:g})" if crosses else "network output")
    return save(fig, path)


def hidden_activations(
    path: str | Path,
    net: Network,
    task: Task,
    *,
    replica: int = 0,
    title: str,
    mid: float = 0.5,
    size: tuple[int, int] = (760, 380),
) -> list[Path]:
    """Each input's hidden activations (heat map) and the patterns as points in hidden space.

    Hidden space is drawn as it is for 1 or 2 hidden units; for more, the
    points are projected on their first two principal components. With 2
    hidden units that alone feed a single output, the output unit's boundary
    (its net input = the logit of ``mid``) is drawn as a line.
    """
    names = net.hidden
    if not names:
        raise ConfigError("the network has no hidden units to show")
    activity = net.forward(task.inputs)
    H = np.concatenate([activity.y[n][replica] for n in names], axis=1)  # (N, n_hidden)
    units = [f"h{k + 1}" for k in range(H.shape[1])] if len(names) == 1 else [
        f"{n}[{k + 1}]" for n in names for k in range(net.group(n).size)
    ]
    fig = new_figure(size)
    heat, space = fig.subplots(1, 2, width_ratios=(1, 1.15))
    _heat_map(heat, H, task.labels, units)
    _hidden_space(space, net, H, task, names, units, replica, mid)
    fig.suptitle(title)
    return save(fig, path)


#: Largest heat map whose cells carry their values; most rows and columns named by ticks.
ANNOTATED_CELLS = 80
NAMED_ROWS = 32
NAMED_COLUMNS = 16


def _heat_map(ax: Any, H: Array, labels: Sequence[str], units: Sequence[str]) -> None:
    vmin, vmax = min(0.0, float(H.min())), max(1.0, float(H.max()))
    ax.imshow(H, cmap="Greys", vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    if H.size <= ANNOTATED_CELLS:
        for i in range(H.shape[0]):
            for j in range(H.shape[1]):
                dark = (H[i, j] - vmin) / (vmax - vmin) > 0.55
                ax.text(j, i, f"{H[i, j]:.2f}", ha="center", va="center",
                        color="white" if dark else "black", fontsize="medium")
    if H.shape[1] <= NAMED_COLUMNS:
        ax.set_xticks(range(H.shape[1]), units, rotation=0 if H.shape[1] <= 8 else 90)
    if H.shape[0] <= NAMED_ROWS:
        ax.set_yticks(range(H.shape[0]), labels)
    ax.set_xlabel("hidden unit" if H.shape[1] <= NAMED_COLUMNS else f"hidden unit ({H.shape[1]})")
    ax.set_ylabel("input pattern" if H.shape[0] <= NAMED_ROWS else f"input pattern ({H.shape[0]})")
    ax.set_title("activation per input", fontsize="medium")


def _hidden_space(
    ax: Any, net: Network, H: Array, task: Task, names: Sequence[str], units: list[str],
    replica: int, mid: float,
) -> None:
    # Points are filled by target only for a single output; else all are drawn alike.
    single = task.n_outputs == 1
    high = task.targets[:, 0] > mid if single else np.zeros(task.n_cases, dtype=bool)
    named = task.n_cases <= 16
    if H.shape[1] == 1:
        P = np.column_stack([H[:, 0], np.zeros(H.shape[0])])
        xlabel, ylabel = f"{units[0]} activation", ""
        ax.set_yticks([])
        ax.axhline(0, color="0.6", linewidth=1)
    elif H.shape[1] == 2:
        P = H
        xlabel, ylabel = f"{units[0]} activation", f"{units[1]} activation"
        _output_line(ax, net, names, replica, mid)
    else:
        centred = H - H.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        P = centred @ vt[:2].T
        if P.shape[1] < 2:
            P = np.column_stack([P[:, 0], np.zeros(H.shape[0])])
        xlabel, ylabel = "first principal component", "second principal component"
    for members in _coincident(P):
        x, y = P[members[0]]
        targets = {bool(high[i]) for i in members}
        face = ("black" if True in targets else "white") if len(targets) == 1 else "0.6"
        ax.scatter([x], [y], s=140 if named else 40, marker="o", edgecolors="black",
                   linewidths=2 if named else 1, facecolors=face if single else "0.8", zorder=3)
        if not named:
            continue
        label = ", ".join(task.labels[i] for i in members)
        if len(targets) > 1:
            label += " (targets differ)"
        ax.annotate(label, (x, y), xytext=(8, 8), textcoords="offset points", fontsize="medium",
                    fontweight="bold")
    if H.shape[1] <= 2 and H.min() >= 0 and H.max() <= 1:
        ax.set_xlim(-0.08, 1.12)
        if H.shape[1] == 2:
            ax.set_ylim(-0.08, 1.12)
    else:
        ax.margins(0.25)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title("inputs in hidden space" + (" (filled: target 1)" if single else ""),
                 fontsize="medium")
    ax.grid(True, alpha=0.3)


def _coincident(P: Array, tol: float = 0.02) -> list[list[int]]:
    """Indices of the points of ``P`` ``(N, 2)``, grouped when within ``tol · max(span, 1)``."""
    span = float(np.ptp(P, axis=0).max())
    groups: list[list[int]] = []
    for i, p in enumerate(P):
        for g in groups:
            if np.abs(P[g[0]] - p).max() <= tol * max(span, 1.0):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _output_line(ax: Any, net: Network, names: Sequence[str], replica: int, mid: float) -> None:
    """Draw w·h + b = logit(mid) of a single logistic output fed only by the 2 hidden units."""
    if len(net.outputs) != 1 or net.n_outputs != 1:
        return
    out = net.outputs[0]
    incoming = net.into[out]
    if len(incoming) != 1 or incoming[0].source not in names:
        return
    if net.group(out).activation != "logistic":
        return
    w = net.params[incoming[0].param][replica][:, 0]
    bias = net.params.get(bias_param(out))
    b = 0.0 if bias is None else float(bias[replica, 0, 0])
    level = float(np.log(mid / (1 - mid)))
    xs = np.linspace(-0.1, 1.1, 50)
    if abs(w[1]) > 1e-12:
        ax.plot(xs, (level - b - w[0] * xs) / w[1], color="0.35", linewidth=1.5, linestyle="--",
                label="output = 0.5")
    elif abs(w[0]) > 1e-12:
        ax.axvline((level - b) / w[0], color="0.35", linewidth=1.5, linestyle="--",
                   label="output = 0.5")
    else:
        return
    ax.legend(loc="best", fontsize="small")


def _one(net: Network, replica: int, X: Array) -> Array:
    """Outputs ``(N, n_out)`` of replica ``replica`` for inputs ``X``."""
    if not 0 <= replica < net.replicas:
        raise ConfigError(f"replica {replica} out of range: the network has {net.replicas}")
    return net.predict(np.asarray(X, dtype=float))[replica]
