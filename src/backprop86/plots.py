"""Figures of trained networks and seed sweeps, drawn with matplotlib.

matplotlib is imported inside the functions, never at module level, so that
``import backprop86`` and ``backprop86 xor`` do not pay for it. Figures are built
with the object API (:class:`matplotlib.figure.Figure`), rendered by the Agg
backend, and never touch pyplot's global state or the user's chosen backend.

Each public function draws one figure, writes it as PNG and SVG beside ``path``
(whatever suffix ``path`` has), and returns the written paths. ``size`` is the
PNG's size in pixels, ``(width, height)``; the defaults read well at the ~700 px
width of a README.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from backprop86.analysis.statistics import wilson
from backprop86.errors import ConfigError
from backprop86.network import bias_param

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from backprop86.network import Network
    from backprop86.tasks import Task

Array = np.ndarray

#: Dots per inch of the PNG; the figure is ``size / DPI`` inches.
DPI = 100
#: The formats every figure is written in.
FORMATS = ("png", "svg")

SOLVED_COLOUR = "#1f5fa8"
FAILED_COLOUR = "#c0392b"


# ----------------------------------------------------------------------------
# Shared plumbing
# ----------------------------------------------------------------------------


def new_figure(size: tuple[int, int]) -> Figure:
    """An empty figure of ``size`` pixels (constrained layout, no pyplot)."""
    from matplotlib.figure import Figure

    width, height = size
    if width < 100 or height < 100:
        raise ConfigError(f"figure size must be at least 100×100 pixels, got {width}×{height}")
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")


def save(fig: Figure, path: str | Path) -> list[Path]:
    """Write ``fig`` as ``path.png`` and ``path.svg`` (Agg renders the PNG); return the paths."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    # SVG text stays text (small files, searchable), drawn in the reader's sans-serif font.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "backprop86"}):
        for fmt in FORMATS:
            out = path.with_suffix(f".{fmt}")
            fig.savefig(out, format=fmt, dpi=DPI, metadata=_metadata(fmt))
            written.append(out)
    return written


def _metadata(fmt: str) -> dict[str, Any]:
    """No creation date in the files, so regenerating a figure gives the same bytes."""
    return {"Date": None} if fmt == "svg" else {}


def _quantile_rows(curves: Array, qs: Sequence[float]) -> Array:
    """Quantiles ``qs`` over replicas of ``(R, K)`` curves, ignoring NaN: ``(len(qs), K)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as wanted
        return np.nanquantile(curves, qs, axis=0)


# ----------------------------------------------------------------------------
# Error curves of many seeds
# ----------------------------------------------------------------------------


def error_curves(
    path: str | Path,
    sweeps: Array,
    curves: Array,
    solved: Array,
    *,
    title: str,
    ylabel: str = "error",
    size: tuple[int, int] = (700, 450),
) -> list[Path]:
    """The error over sweeps of many seeds: median with 25–75 % and 5–95 % bands.

    ``sweeps``: ``(K,)`` sweep numbers (1-based, increasing); ``curves``:
    ``(R, K)`` error of each replica at those sweeps (NaN once it stopped);
    ``solved``: ``(R,)``. Solved and failed replicas are drawn separately, the
    failures in red, so a plateau of stuck seeds stands out from the rest.
    """
    sweeps = np.asarray(sweeps, dtype=float)
    curves = np.asarray(curves, dtype=float)
    solved = np.asarray(solved, dtype=bool)
    if curves.ndim != 2 or curves.shape != (solved.size, sweeps.size):
        raise ConfigError(
            f"error_curves needs curves (replicas, sweeps) = ({solved.size}, {sweeps.size}), "
            f"got {curves.shape}"
        )
    fig = new_figure(size)
    ax = fig.add_subplot()
    positive = curves[np.isfinite(curves) & (curves > 0)]
    floor = positive.min() if positive.size else 1e-12
    groups = ((solved, SOLVED_COLOUR, "solved"), (~solved, FAILED_COLOUR, "failed"))
    for mask, colour, name in groups:
        n = int(mask.sum())
        if n == 0:
            continue
        q05, q25, q50, q75, q95 = np.maximum(
            _quantile_rows(curves[mask], (0.05, 0.25, 0.5, 0.75, 0.95)), floor
        )
        ax.fill_between(sweeps, q05, q95, color=colour, alpha=0.12, linewidth=0)
        ax.fill_between(sweeps, q25, q75, color=colour, alpha=0.3, linewidth=0)
        style = "-" if name == "solved" else "--"
        ax.plot(sweeps, q50, style, color=colour, linewidth=2,
                label=f"{name}: {n} of {solved.size} seeds (median, 25–75 %, 5–95 %)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(sweeps[0], sweeps[-1])
    ax.set_xlabel("sweep through the training set (log scale)")
    ax.set_ylabel(f"{ylabel} (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    return save(fig, path)


# ----------------------------------------------------------------------------
# One network: decision boundary and hidden representations
# ----------------------------------------------------------------------------


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


# ----------------------------------------------------------------------------
# Success rates with Wilson intervals
# ----------------------------------------------------------------------------


#: Solved counts by series name: ``(x values, solved counts, seed counts)``.
Series = Mapping[str, tuple[Sequence[Any], Sequence[int], Sequence[int]]]


def solved_rate(
    path: str | Path,
    series: Series,
    *,
    xlabel: str,
    title: str,
    size: tuple[int, int] = (700, 420),
) -> list[Path]:
    """Solved rate with 95 % Wilson intervals: one line per series against a numeric ``x``.

    ``series``: ``{name: (x values, solved counts, seed counts)}``. When some
    ``x`` is not a number, the points are drawn instead as labelled rows
    (``name x``), one per row, which suits comparisons of named variants.
    """
    rows = [(name, x, k, n) for name, (xs, ks, ns) in series.items()
            for x, k, n in zip(xs, ks, ns, strict=True)]
    if not rows:
        raise ConfigError("solved_rate needs at least one point")
    for name, x, k, n in rows:
        if not 0 <= k <= n or n < 1:
            raise ConfigError(f"{name} {x}: solved count {k} of {n} seeds is impossible")
    numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for _, x, _, _ in rows)
    fig = new_figure(size)
    ax = fig.add_subplot()
    if numeric:
        _rate_lines(ax, series)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("solved (% of seeds), 95 % Wilson interval")
        ax.set_ylim(-3, 103)
        if len(series) > 1:
            ax.legend(loc="best", fontsize="small")
    else:
        _rate_rows(ax, rows)
        ax.set_xlabel("solved (% of seeds), 95 % Wilson interval")
        ax.set_xlim(-3, 112)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return save(fig, path)


def _rate_lines(ax: Any, series: Series) -> None:
    for name, (xs, ks, ns) in series.items():
        x = np.asarray(xs, dtype=float)
        rate = 100 * np.asarray(ks, dtype=float) / np.asarray(ns, dtype=float)
        ci = 100 * np.array([wilson(int(k), int(n)) for k, n in zip(ks, ns, strict=True)])
        err = np.clip(np.vstack([rate - ci[:, 0], ci[:, 1] - rate]), 0, None)  # rounding at 0, 1
        line = ax.errorbar(x, rate, yerr=err, marker="o", markersize=7, capsize=5, linewidth=2,
                           label=name)
        for xi, r, k, n in zip(x, rate, ks, ns, strict=True):
            ax.annotate(f"{k}/{n}", (xi, r), xytext=(8, -16 if r > 50 else 6),
                        textcoords="offset points", fontsize="small", color=line[0].get_color())
    ax.margins(x=0.08)
    ax.set_xticks(sorted({float(x) for xs, _, _ in series.values() for x in xs}))
    ax.xaxis.set_major_formatter("{x:g}")


def _rate_rows(ax: Any, rows: list[tuple[str, Any, int, int]]) -> None:
    names = [f"{name} {x}".strip() for name, x, _, _ in rows]
    y = np.arange(len(rows))[::-1]
    for yi, (_, _, k, n) in zip(y, rows, strict=True):
        lo, hi = wilson(k, n)
        r = k / n
        ax.errorbar([100 * r], [yi], xerr=[[max(0, 100 * (r - lo))], [max(0, 100 * (hi - r))]],
                    marker="o",
                    markersize=7, capsize=5, color=SOLVED_COLOUR, linewidth=2)
        ax.annotate(f"{k}/{n}", (100 * hi, yi), xytext=(6, 0), textcoords="offset points",
                    va="center", fontsize="small")
    ax.set_yticks(y, names)


# ----------------------------------------------------------------------------
# Hinton diagrams (the 1986 papers' way of drawing weights)
# ----------------------------------------------------------------------------


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
        side = 0.95 * np.sqrt(min(abs(w) / scale, 1.0))
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
    height = max(220, min(1600, 120 + rows * cell + 70 * len(mats)))
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


def trend(
    path: str | Path,
    values: Sequence[float],
    medians: Sequence[float | None],
    iqrs: Sequence[tuple[float, float] | None],
    *,
    published: Sequence[tuple[float, float]] = (),
    xlabel: str,
    ylabel: str,
    title: str,
    size: tuple[int, int] = (640, 420),
) -> list[Path]:
    """Median (with interquartile bars) of a measure against a parameter on a log₂ axis,
    with the published points as open circles."""
    fig = new_figure(size)
    ax = fig.subplots()
    pts = [(float(v), float(m), q) for v, m, q in zip(values, medians, iqrs, strict=True)
           if m is not None]
    if pts:
        x = np.array([p[0] for p in pts])
        y = np.array([p[1] for p in pts])
        lo = np.array([p[1] - (p[2][0] if p[2] else p[1]) for p in pts])
        hi = np.array([(p[2][1] if p[2] else p[1]) - p[1] for p in pts])
        ax.errorbar(x, y, yerr=np.vstack([lo, hi]), marker="o", capsize=5, linewidth=2,
                    color=SOLVED_COLOUR, label="measured median (IQR)")
    if published:
        px, py = zip(*published, strict=True)
        ax.plot(px, py, linestyle="none", marker="o", markersize=9, markerfacecolor="none",
                markeredgecolor=FAILED_COLOUR, markeredgewidth=2, label="published")
    ax.set_xscale("log", base=2)
    ax.set_xticks([float(v) for v in values])
    ax.xaxis.set_major_formatter("{x:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title)
    return save(fig, path)
