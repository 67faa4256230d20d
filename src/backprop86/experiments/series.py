"""Series: one experiment run at every value of a parameter, and the trend across them.

Some published results are trends, not numbers: Chauvin's study (PDP ch. 8
p. 333) finds that the presentations XOR needs fall as hidden units are added
and as the learning rate grows. An experiment file states such a trend as a
``[[series]]`` table::

    [[series]]
    name = "hidden units"
    param = "hidden"                # an experiment parameter or a TrainConfig field
    values = [2, 4, 8, 16, 32]
    set = []                        # settings held fixed along this series
    metric = "sweeps_to_stop"       # what is compared along the series
    trend = "falling"               # or "rising"
    published = "P ≈ 280 − 33 log₂H"
    points = [[2, 245], [32, 120]]  # published values at some points
    source = "…"

Every point trains the experiment's seeds as one batch (:func:`runner.run`).
The verdict judges the trend and the levels. The trend holds when the medians
move in the stated direction — Spearman's rank correlation between the parameter
and the median is at most −0.8 (falling; at least +0.8 for rising), which allows
one swap of neighbours among five points — and the last median is beyond the
first. The levels hold when every published point lies inside the 95 %
distribution-free interval of the measured median at that value (the ratio of
measured to published is printed too). **reproduced**: both; **trend reproduced,
levels not reproduced**: the trend only; else **not reproduced**. A
least-squares line ``median = a + b·log₂(value)`` summarises the slope
(Chauvin's own form for H).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop86 import fmt
from backprop86.analysis.statistics import median_ci
from backprop86.analysis.summary import SWEEP_METRICS, sweeps_to
from backprop86.errors import ConfigError
from backprop86.experiments import Experiment
from backprop86.experiments.runner import Run, engine_lines, interrupted_line, run
from backprop86.train import Progress

#: |Spearman ρ| at least this for a trend to count as reproduced.
MIN_RHO = 0.8

#: Least widths of the series table's columns: value, solved, median, IQR, mean, published.
SERIES_WIDTHS = (8, 9, 22, 13, 7, 9)

RULE = (
    "trend: the median {metric} {direction} along the series when Spearman ρ between "
    "{param} and the median {sign} {rho:g} and the last median {beyond} the first; levels: "
    "every published point inside the 95 % distribution-free interval of the measured median "
    "there; reproduced when both hold"
)


@dataclass
class SeriesRun:
    """A series: its table from the file, the value of each point and the run there."""

    spec: dict[str, Any]
    values: list[Any]
    runs: list[Run]

    @property
    def name(self) -> str:
        return str(self.spec.get("name", self.spec["param"]))

    @property
    def metric(self) -> str:
        return str(self.spec.get("metric", "sweeps_to_solve"))

    def medians(self) -> list[float | None]:
        """The median of the metric at each point (``None`` where no seed got there)."""
        return [r.summary[f"median_{self.metric}"] for r in self.runs]

    def iqrs(self) -> list[list[float] | None]:
        """The interquartile range of the metric at each point."""
        return [r.summary[f"{self.metric}_iqr"] for r in self.runs]

    def means(self) -> list[float | None]:
        values = [sweeps_to(self.metric, r.result) for r in self.runs]
        return [float(v.mean()) if v.size else None for v in values]

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the series: its last point is partial, later ones missing."""
        return any(r.interrupted for r in self.runs)

    @property
    def sweeps_done(self) -> int:
        """The sweep at which the last point stopped (where Ctrl-C stopped it, if it did)."""
        return self.runs[-1].sweeps_done if self.runs else 0

    def verdict(self) -> dict[str, Any] | None:
        """The trend verdict; ``None`` for an interrupted series (no verdict on partial data)."""
        return None if self.interrupted else trend_verdict(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "series": self.name,
            "param": self.spec["param"],
            "set": list(self.spec.get("set", [])),
            "metric": self.metric,
            "values": self.values,
            "medians": self.medians(),
            "means": self.means(),
            "solved": [r.summary["solved"] for r in self.runs],
            "stopped": [r.summary["stopped"] for r in self.runs],
            "seeds": [r.summary["seeds"] for r in self.runs],
            "published": self.spec.get("published"),
            "published_points": self.spec.get("points", []),
            "source": self.spec.get("source"),
            "verdict": self.verdict(),
            "interrupted": self.interrupted,
            "points": [r.to_json() for r in self.runs],
        }


def series_specs(exp: Experiment) -> list[dict[str, Any]]:
    """The experiment's ``[[series]]`` tables, checked."""
    specs = exp.raw.get("series", [])
    if not isinstance(specs, list):
        raise ConfigError(f"experiment {exp.name!r}: series must be an array of tables")
    for s in specs:
        if not isinstance(s, dict) or "param" not in s or not s.get("values"):
            raise ConfigError(
                f"experiment {exp.name!r}: every [[series]] needs param and a non-empty values list"
            )
        if s.get("trend", "falling") not in ("falling", "rising"):
            raise ConfigError(f"series trend must be 'falling' or 'rising', got {s['trend']!r}")
        if s.get("metric", "sweeps_to_solve") not in SWEEP_METRICS:
            raise ConfigError(f"series metric must be one of {', '.join(SWEEP_METRICS)}, "
                              f"got {s['metric']!r}")
    return specs


def run_series(
    exp: Experiment, spec: dict[str, Any], seeds: list[int], progress: Progress | None = None
) -> SeriesRun:
    """Run ``exp`` (with the series' fixed settings) at every value of its parameter.

    A point stopped by Ctrl-C ends the series there: its values are those run.
    """
    runs: list[Run] = []
    for point in series_points(exp, spec):
        runs.append(run(point, seeds, progress=progress))
        if runs[-1].interrupted:
            break
    return SeriesRun(spec, list(spec["values"])[:len(runs)], runs)


def series_points(exp: Experiment, spec: dict[str, Any]) -> list[Experiment]:
    """``exp`` with the series' fixed settings, at every value of its parameter."""
    base = exp.with_settings(list(spec.get("set", [])))
    return [base.with_settings([f"{spec['param']}={value}"]) for value in spec["values"]]


def run_all(exp: Experiment, seeds: list[int], progress: Progress | None = None) -> list[SeriesRun]:
    """Every series of ``exp``; every point is checked to fit in memory before any trains, and
    Ctrl-C ends the list at the series it stopped."""
    specs = series_specs(exp)
    for spec in specs:
        for value, point in zip(spec["values"], series_points(exp, spec), strict=True):
            point.check_size(len(seeds), what=f"a run of {exp.name} at {spec['param']}={value} "
                                              f"with {len(seeds):,} seed{'s' * (len(seeds) != 1)}")
    out: list[SeriesRun] = []
    for spec in specs:
        out.append(run_series(exp, spec, seeds, progress))
        if out[-1].interrupted:
            break
    return out


# ----------------------------------------------------------------------------
# The trend verdict
# ----------------------------------------------------------------------------


def spearman(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when a side is constant."""
    rx, ry = _ranks(np.asarray(x, float)), _ranks(np.asarray(y, float))
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def _ranks(v: np.ndarray) -> np.ndarray:
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(len(v), dtype=float)
    for value in np.unique(v):  # ties share their mean rank
        tie = v == value
        ranks[tie] = ranks[tie].mean()
    return ranks


def log2_fit(values: list[float], medians: list[float]) -> tuple[float, float] | None:
    """Least-squares ``median = a + b·log₂(value)``; ``None`` with fewer than 2 points."""
    pts = [(math.log2(v), m) for v, m in zip(values, medians, strict=True)
           if m is not None and v > 0]
    if len(pts) < 2:
        return None
    x, y = np.array(pts).T
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def trend_verdict(s: SeriesRun) -> dict[str, Any]:
    """Whether the medians move in the series' stated direction (see the module docstring)."""
    falling = s.spec.get("trend", "falling") == "falling"
    values = [float(v) for v in s.values]
    medians = s.medians()
    rule = RULE.format(
        metric=s.metric.replace("_", " "), direction="fall" if falling else "rise",
        param=s.spec["param"], sign="≤" if falling else "≥", rho=-MIN_RHO if falling else MIN_RHO,
        beyond="below" if falling else "above",
    )
    fit = log2_fit(values, medians)
    out: dict[str, Any] = {"rule": rule, "metric": s.metric, "published": s.spec.get("published"),
                           "medians": medians, "log2_fit": fit}
    if any(m is None for m in medians) or len(values) < 3:
        return {**out, "verdict": "not reproduced", "rho": None}
    rho = spearman(values, medians)  # type: ignore[arg-type]
    ends = medians[-1] < medians[0] if falling else medians[-1] > medians[0]  # type: ignore[operator]
    trend = ends and not math.isnan(rho) and (rho <= -MIN_RHO if falling else rho >= MIN_RHO)
    levels = level_checks(s)
    level_ok = bool(levels) and all(p["inside"] for p in levels)
    word = ("reproduced" if trend and (level_ok or not levels) else
            "trend reproduced, levels not reproduced" if trend else "not reproduced")
    return {**out, "verdict": word, "rho": rho, "levels": levels}


def level_checks(s: SeriesRun) -> list[dict[str, Any]]:
    """At each published point ``[value, published]``: the measured median, its 95 %
    distribution-free interval, the ratio measured / published, and whether it is inside."""
    runs = {float(v): r for v, r in zip(s.values, s.runs, strict=True)}
    out = []
    for value, published in s.spec.get("points", []):
        r = runs.get(float(value))
        if r is None:
            continue
        times = sweeps_to(s.metric, r.result)
        ci = median_ci(times)
        median = float(np.median(times)) if times.size else None
        out.append({"at": value, "published": published, "median": median,
                    "ci95": None if ci is None else list(ci),
                    "ratio": None if median is None else median / float(published),
                    "inside": ci is not None and ci[0] <= float(published) <= ci[1]})
    return out


# ----------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------


def format_series(s: SeriesRun) -> str:
    """The table of one series: per point the solved count, median and mean, the published value."""
    points = {float(v): p for v, p in s.spec.get("points", [])}
    fixed = ", ".join(s.spec.get("set", []))
    head = f"series: {s.name} ({s.spec['param']} = {', '.join(map(str, s.values))}"
    head += f"; {fixed})" if fixed else ")"
    metric = s.metric.replace("_", " ")
    rows = [[s.spec["param"], "solved", f"median {metric}", "IQR", "mean", "published"]]
    for value, r, median, iqr, mean in zip(s.values, s.runs, s.medians(), s.iqrs(), s.means(),
                                           strict=True):
        sm = r.summary
        rows.append([
            str(value), f"{sm['solved']:>4}/{sm['seeds']:<4}", fmt.count(median), fmt.span(iqr),
            fmt.count(mean), fmt.count(points.get(float(value))),
        ])
    lines = [head, *fmt.table(rows, ">" * 6, widths=SERIES_WIDTHS, indent="  ")]
    v = s.verdict()
    if v is None:
        if s.spec.get("published"):
            lines.append(f"  published   {s.spec['published']}  ({s.spec.get('source', '')})")
        lines.append(f"  {interrupted_line(s.sweeps_done)} (at {s.spec['param']} = "
                     f"{s.values[-1]})")
        return "\n".join(lines)
    if v["log2_fit"] is not None:
        a, b = v["log2_fit"]
        lines.append(f"  fit: median = {a:,.0f} {'−' if b < 0 else '+'} {abs(b):,.1f}·log₂"
                     f"({s.spec['param']})")
    if s.spec.get("published"):
        lines.append(f"  published   {s.spec['published']}  ({s.spec.get('source', '')})")
    rho = fmt.DASH if v["rho"] is None else f"{v['rho']:+.2f}"
    lines.append(f"  measured    Spearman ρ = {rho}" + "".join(
        f"; at {p['at']}: {level_text(p)}" for p in v.get("levels", [])))
    lines.append(f"  verdict     {v['verdict']}  — {v['rule']}")
    return "\n".join(lines)


def level_text(p: dict[str, Any]) -> str:
    """One published point against the measured median: ``median 516 (95% CI 489–552) =
    2.1× the published 245``."""
    if p["median"] is None:
        return f"no run got there (published {p['published']})"
    lo, hi = p["ci95"]
    return (f"median {fmt.count(p['median'])} (95% CI {fmt.count(lo)}–{fmt.count(hi)}) = "
            f"{p['ratio']:.2f}× the published {p['published']}")


def format_all(exp: Experiment, series: list[SeriesRun]) -> str:
    """Header, every series table, the deviations."""
    lines = [f"{exp.name}: {exp.title}"]
    if exp.source:
        lines.append(f"source: {exp.source}")
    if series:
        lines.append(f"seeds per point: {series[0].runs[0].summary['seeds']}")
    for s in series:
        lines += ["", format_series(s)]
    if exp.deviations:
        lines += ["", "deviations from the source:"] + [f"  - {d}" for d in exp.deviations]
    named = [(f"{s.name} = {v}", r.result) for s in series for v, r in zip(s.values, s.runs,
                                                                            strict=True)]
    lines += ["", *engine_lines([(name, r.engine, r.why_not) for name, r in named])]
    return "\n".join(lines)
