"""Figures of many seeds: error curves, solved rates with Wilson intervals, trends."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from backprop86.analysis.statistics import wilson
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.plots.base import FAILED_COLOUR, SOLVED_COLOUR, new_figure, save


def error_curves(
    path: str | Path,
    sweeps: Array,
    curves: Array,
    solved: Array,
    *,
    title: str,
    ylabel: str = "error",
    xlabel: str = "sweeps through the training set",
    size: tuple[int, int] = (700, 450),
) -> list[Path]:
    """The error over sweeps of many seeds: median with 25–75 % and 5–95 % bands.

    ``sweeps``: ``(K,)`` sweep numbers (1-based, increasing); ``curves``:
    ``(R, K)`` error of each replica at those sweeps (NaN once it stopped);
    ``solved``: ``(R,)``. Solved and failed replicas are drawn separately, the
    failures in red, so a plateau of stuck seeds stands out from the rest. ``xlabel``
    names the sweeps in the unit of the experiment's claims (e.g. "presentations of
    each pattern (sweeps)").
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
    ax.set_xlabel(f"{xlabel} (log scale)")
    ax.set_ylabel(f"{ylabel} (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left", fontsize="small")
    return save(fig, path)


def _quantile_rows(curves: Array, qs: Sequence[float]) -> Array:
    """Quantiles ``qs`` over replicas of ``(R, K)`` curves, ignoring NaN: ``(len(qs), K)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as wanted
        return np.nanquantile(curves, qs, axis=0)


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
