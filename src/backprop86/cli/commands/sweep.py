"""``backprop86 sweep``: many seeds at every point of a parameter grid, each point one batch.

All ``N`` seeds of a grid point train together as replicas of one network
(DESIGN §2), so replica ``r`` is exactly the single run with seed ``first + r``.
For every point the command prints the solved count and rate with a 95 % Wilson
interval, the median and interquartile range of the first sweep at which a net
solved the task, quantiles of the final error, and the failures grouped by what
the failed nets answer (:func:`backprop86.analysis.failures.failure_kind`).

Several experiments may be named; the grid applies to each. An experiment with
published claims is judged at every point by the rules of ``run``
(:mod:`backprop86.experiments.claims`): a grid of readings of a paper is one
command, each reading with its verdicts. ``--json`` writes one entry per point
(the summary keys of ``run --json``, the failure kinds, verdicts and checks);
``--table SWEEP_JSON`` trains nothing and prints that file's points as a
Markdown table, one column per published claim (docs/family-trees.md is this);
``--plot DIR`` draws error curves, a decision boundary and the hidden
representations of one seed per point (a recurrent net: its activity over time for
a few cases), and the solved rate across the grid.
Ctrl-C stops the point in training, prints the table of what is finished (the
interrupted point marked partial, with no verdict) and writes the partial JSON to
``PATH.partial.json``, never over ``PATH`` (:mod:`backprop86.cli.interrupted`); the
points finished so far are kept there as the sweep goes, and ``PATH`` is written
only when every point is done.

``--workers N`` (a local Dask cluster) or ``--scheduler ADDRESS`` (the user's)
trains each point's seeds in chunks on the cluster's workers
(:mod:`backprop86.distributed`), each chunk by the engine the whole point would
use, and joins them: every seed's numbers, and so the table, the points of the
JSON and the verdicts, are those of the sweep without the flags. Each finished
chunk goes to a journal (``out.journal.jsonl`` beside ``--json out.json``, else
``sweep-HASH.journal.jsonl`` here, or ``--journal``); ``--resume`` finishes a
stopped sweep from it, and the journal is deleted once the sweep is whole. The
JSON adds ``cluster``: scheduler, workers, chunking and times. Its error-curve
figures take their columns over ``max_sweeps`` sweeps (the workers send back
only those), a local sweep's over the sweeps trained: the same when any seed
trains to the end.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backprop86 import fmt
from backprop86.analysis.failures import UNDECIDED, count_kinds
from backprop86.cli.args import UsageError, nonnegative_int, positive_int
from backprop86.cli.commands.common import require_matplotlib
from backprop86.cli.interrupted import INTERRUPTED, partial_path, say_partial
from backprop86.cli.progress import chunk_bar, sweep_bar
from backprop86.errors import Backprop86Error, ConfigError
from backprop86.experiments import Experiment, load
from backprop86.experiments.claims import (
    describe_measured,
    published_text,
    verdict_word_and_numbers,
)
from backprop86.experiments.figures import TIME_CASES, axis_name, time_axis, time_unit
from backprop86.experiments.runner import (
    Run,
    engine_lines,
    failure_kinds_of,
    replica_columns,
    run,
)
from backprop86.history import history_columns, log_index
from backprop86.io import Output, check_outputs, command_line, load_json, save_json, versions
from backprop86.network import Network
from backprop86.outcomes import columns_path, detach
from backprop86.switches import assignments, split_assignment
from backprop86.tasks import Task

PROG = "backprop86 sweep"

#: Seeds whose error curves the figures draw, at most: a larger point draws every k-th
#: seed (:func:`curve_stride`), so that its curves take the same memory however many seeds
#: it has (10,000 seeds' quantiles are as good as a million's at a figure's resolution).
CURVE_SEEDS = 10_000


def curve_stride(seeds: int) -> int:
    """The ``k`` of "every k-th seed" whose error curve is drawn: 1 up to :data:`CURVE_SEEDS`
    seeds, then ``⌈seeds / CURVE_SEEDS⌉``."""
    return max(1, -(-seeds // CURVE_SEEDS))

#: Seeds listed per failure kind in the table (the JSON lists them all).
SEEDS_SHOWN = 6


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sweep",
        help="many seeds per grid point, each point one batch: rates, failures, figures",
        description="Train N seeds at every point of a parameter grid, each point as one batch "
        "of replicas, and print per point the solved rate with a 95% Wilson interval, sweeps "
        "to solve, final-error quantiles and the failures grouped by kind.",
    )
    p.add_argument("experiments", nargs="*", metavar="EXPERIMENT_OR_TOML",
                   help="shipped experiments (see `backprop86 list`) or .toml files; "
                        "the grid applies to each")
    p.add_argument("--seeds", type=positive_int, metavar="N",
                   help="seeds per grid point: first … first+N−1 of each experiment (required)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="values of a parameter or setting (repeatable: the grid is the product); "
                        "separate values with ';' when they hold commas, e.g. targets=0,1;0.1,0.9")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting or parameter at every point, e.g. --set bias=true")
    p.add_argument("--json", type=Path, metavar="PATH",
                   help="write one entry per grid point, the config and versions here")
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="draw figures (PNG and SVG) into DIR")
    p.add_argument("--plot-seed", type=nonnegative_int, metavar="S",
                   help="seed whose decision boundary and hidden units are drawn "
                        "(default: each experiment's first seed)")
    cluster = p.add_argument_group(
        "on a Dask cluster (pip install 'backprop86[distributed]')",
        "each point's seeds are split into chunks, each chunk trained as one batch on a "
        "worker by the engine the whole point would use: per seed the numbers of the local "
        "sweep. Every finished chunk goes to a journal (JSON lines) next to the output.")
    cluster.add_argument("--workers", type=positive_int, metavar="N",
                         help="start a local Dask cluster of N worker processes")
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="use the Dask cluster whose scheduler is at ADDRESS "
                              "(e.g. tcp://host:8786)")
    cluster.add_argument("--chunk", type=positive_int, metavar="SEEDS",
                         help="seeds per task (default: about 5 s of training each)")
    cluster.add_argument("--journal", type=Path, metavar="PATH",
                         help="the journal of finished chunks (default: next to --json, "
                              "out.journal.jsonl for --json out.json; else "
                              "sweep-HASH.journal.jsonl here)")
    cluster.add_argument("--resume", action="store_true",
                         help="finish the sweep whose journal is there: its finished chunks "
                              "are kept, the rest trained")
    p.add_argument("--table", type=Path, metavar="SWEEP_JSON",
                   help="train nothing: print the points of a JSON file this command wrote as a "
                        "Markdown table with each point's verdicts")


# ----------------------------------------------------------------------------
# The grid
# ----------------------------------------------------------------------------


def parse_grid(items: list[str]) -> list[tuple[str, list[str]]]:
    """``["hidden=1,2", "lr=0.25,0.5"]`` → ``[("hidden", ["1", "2"]), ("lr", ["0.25", "0.5"])]``."""
    grid: list[tuple[str, list[str]]] = []
    for item in items:
        try:
            key, text = split_assignment(item, "--grid", "KEY=V1,V2,...")
        except ConfigError as exc:
            raise UsageError(str(exc), PROG) from None
        sep = ";" if ";" in text else ","
        values = [v.strip() for v in text.split(sep)]
        if not text.strip() or any(not v for v in values):
            raise UsageError(
                f"--grid {item}: empty value; expected KEY=V1,V2,... with every value given", PROG
            )
        if len(set(values)) != len(values):
            raise UsageError(f"--grid {item}: a value is listed twice", PROG)
        if key in (k for k, _ in grid):
            raise UsageError(f"--grid {key} is given twice; list all its values in one", PROG)
        grid.append((key, values))
    return grid


def check_no_overlap(grid: list[tuple[str, list[str]]], settings: list[str]) -> None:
    """Refuse a key that both ``--grid`` and ``--set`` give (which would win is not said
    anywhere), and a key ``--set`` gives twice."""
    try:
        fixed = dict(assignments(settings))
    except ConfigError as exc:
        raise UsageError(str(exc), PROG) from None
    for key, values in grid:
        if key in fixed:
            raise UsageError(f"{key} is given by both --grid {key}={','.join(values)} and "
                             f"--set {key}={fixed[key].strip()}; give it in one of them", PROG)


@dataclass(frozen=True)
class Point:
    """One grid point of one experiment: the experiment with the point's settings applied."""

    experiment: Experiment
    grid: dict[str, Any]

    @property
    def label(self) -> str:
        return " ".join(f"{k}={_show(v)}" for k, v in self.grid.items())

    @property
    def name(self) -> str:
        return f"{self.experiment.name} {self.label}".strip()

    @property
    def slug(self) -> str:
        """A file-name-safe name: ``xor-hidden2``."""
        parts = [self.experiment.name] + [f"{k}{_show(v)}" for k, v in self.grid.items()]
        return re.sub(r"[^A-Za-z0-9_.+-]+", "_", "-".join(parts))


#: The most worker processes ``--workers`` starts on this machine.
MAX_WORKERS = 64


def grid_points(experiments: list[Experiment], grid: list[tuple[str, list[str]]],
                replicas: int | None = None) -> list[Point]:
    """Every experiment at every point of the product of the grid's values, checked up front
    (with ``replicas`` seeds per point: that each point's run fits in memory)."""
    points = []
    for exp in experiments:
        for combo in itertools.product(*(values for _, values in grid)):
            assignments = [f"{key}={value}" for (key, _), value in zip(grid, combo, strict=True)]
            try:
                at = exp.with_settings(assignments)
                if replicas is not None:
                    at.check_size(replicas)
                at.task()
                at.network(replicas=1)
            except Backprop86Error as exc:
                where = " ".join(f"--grid {a}" for a in assignments)
                raise UsageError(f"{where} ({exp.name}): {exc}", PROG) from None
            values = {key: _value_of(at, key) for key, _ in grid}
            points.append(Point(at, values))
    return points


def _value_of(exp: Experiment, key: str) -> Any:
    return exp.params[key] if key in exp.params else getattr(exp.config, key)


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (tuple, list)) and v and all(
            isinstance(x, (tuple, list)) and len(x) == 2 for x in v):
        return ";".join(f"{_show(a)}:{_show(b)}" for a, b in v)  # a schedule, as --set takes it
    if isinstance(v, (tuple, list)):
        return ",".join(map(_show, v))
    return f"{v:g}" if isinstance(v, float) else str(v)


# ----------------------------------------------------------------------------
# Training and measuring one point
# ----------------------------------------------------------------------------


@dataclass
class PointResult:
    """What a sweep keeps of one point: per-replica numbers, thinned error curves, one net."""

    point: Point
    seeds: list[int]
    task: Task
    summary: dict[str, Any]
    kinds: list[str | None]
    solved: np.ndarray          # (R,)
    first_solved: np.ndarray    # (R,) 1-based sweep, −1 if never
    final_error: np.ndarray     # (R,)
    #: (R, N, n_out); ``None`` for a point trained in chunks on a cluster (the workers
    #: send back each seed's numbers, not its outputs)
    final_outputs: np.ndarray | None
    curve_sweeps: np.ndarray    # (K,) 1-based sweep numbers
    curves: np.ndarray          # (R_c, K) reported error at those sweeps of the seeds
    curve_replicas: np.ndarray  # (R_c,) their indices in ``seeds`` (every k-th: curve_stride)
    sweeps_done: int
    interrupted: bool
    engine: str                 # the engine that trained the point, and why not a faster one
    why_not: str | None
    #: Verdicts on the experiment's published claims (none for an interrupted point).
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    #: Each check the experiment lists: ``{"title", "passed", "considered"}``.
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Each seed's outcome, one list per field (:func:`.runner.replica_columns`).
    replicas: dict[str, list[Any]] = field(default_factory=dict)
    kept_seed: int | None = None
    kept_net: Network | None = None   # one replica: the seed drawn by --plot


def measure(point: Point, seeds: list[int], *, keep_seed: int | None = None,
            label: str | None = None, curves: bool = False) -> PointResult:
    """Train every seed of ``point`` as one batch and summarise it. ``curves``: keep the
    error curves the figures draw — at most :data:`~backprop86.history.LOG_POINTS`
    log-spaced sweeps of every :func:`curve_stride`-th seed; otherwise no per-sweep
    history at all (each seed's memory then does not grow with the sweeps)."""
    exp = point.experiment
    task = exp.task()
    work = len(seeds) * exp.config.max_sweeps * task.n_cases
    drawn = np.arange(0, len(seeds), curve_stride(len(seeds)))
    with sweep_bar(exp.config.max_sweeps, label or point.name, work) as progress:
        run_ = run(exp, seeds, progress=progress, history="log" if curves else "none",
                   history_replicas=drawn if curves else None)
    r = run_.result
    assert r.history_sweeps is not None
    kept_net = None
    if keep_seed is not None and keep_seed in seeds:
        i = seeds.index(keep_seed)
        kept_net = exp.network(replicas=1)
        kept_net.set_params({name: w[i] for name, w in run_.net.params.items()})
    return point_result(point, run_, failure_kinds_of(run_, UNDECIDED),
                        curve_sweeps=r.history_sweeps + 1, curves=r.history,
                        curve_replicas=drawn if curves else drawn[:0],
                        final_outputs=r.final_outputs, keep_seed=keep_seed, kept_net=kept_net)


def point_result(point: Point, run_: Run, kinds: list[str | None], *,
                 curve_sweeps: np.ndarray, curves: np.ndarray, curve_replicas: np.ndarray,
                 final_outputs: np.ndarray | None, keep_seed: int | None,
                 kept_net: Network | None, engine: tuple[str, str | None] | None = None,
                 replicas: dict[str, list[Any]] | None = None) -> PointResult:
    """A point's record from its run (trained here as one batch, or joined from chunks
    trained on a cluster: :mod:`backprop86.distributed`), its replicas' failure kinds, the
    thinned error curves ``(R_c, K)`` at 1-based sweeps ``(K,)`` of the seeds
    ``curve_replicas`` ``(R_c,)`` (indices into the seeds) and the net kept for the
    figures; ``engine`` (name, why not a faster one) when it is not the run's own, and
    ``replicas`` (each seed's outcome) when the run cannot give them (joined chunks keep
    no outputs)."""
    r = run_.result
    name, why_not = engine if engine is not None else (r.engine, r.why_not)
    return PointResult(
        point=point, seeds=run_.seeds, task=run_.task,
        summary=point_summary(run_.summary, kinds, run_.seeds), kinds=kinds,
        solved=r.solved.copy(), first_solved=r.first_solved.copy(),
        final_error=r.final_error.copy(), final_outputs=final_outputs,
        curve_sweeps=curve_sweeps, curves=curves, curve_replicas=curve_replicas,
        sweeps_done=int(r.sweeps.max()) if r.sweeps.size else 0, interrupted=r.interrupted,
        engine=name, why_not=why_not,
        verdicts=run_.verdicts,  # none for an interrupted point (Run.verdicts)
        checks={label: {"title": c.title, "rule": c.rule,
                        **dict(zip(("passed", "considered"), c.count(r.solved), strict=True))}
                for label, c in run_.checks.items()},
        replicas=replica_columns(run_) if replicas is None else replicas,
        kept_seed=keep_seed if kept_net is not None else None, kept_net=kept_net,
    )


def point_summary(
    summary: dict[str, Any], kinds: list[str | None], seeds: list[int]
) -> dict[str, Any]:
    """``run``'s summary plus the failures: counts per kind and the seeds of each."""
    by_kind: dict[str, list[int]] = {}
    for seed, kind in zip(seeds, kinds, strict=True):
        if kind is not None:
            by_kind.setdefault(kind, []).append(seed)
    counts = count_kinds(kinds)
    return {
        **summary,
        "failure_kinds": counts,
        "failure_seeds": {k: by_kind[k] for k in counts},
    }


def criterion(exp: Experiment) -> str:
    """The success criterion in words."""
    cfg = exp.config
    if cfg.solve_margin is None:
        return f"every output on the right side of {cfg.mid:g}"
    return f"every output within {cfg.solve_margin:g} of its target"


# ----------------------------------------------------------------------------
# Output: table, JSON, figures
# ----------------------------------------------------------------------------


def format_table(results: list[PointResult], *, planned: int,
                 how: str = "each point trained as one batch") -> str:
    """The sweep's table: one row per point, then each point's failures by kind."""
    if not results:
        return "no grid point finished"
    exps = {id(r.point.experiment): r.point.experiment for r in results}.values()
    crits = sorted({criterion(e) for e in exps})
    keys = list(results[0].point.grid)
    stops = any(r.summary["stopped"] for r in results)
    held = any("heldout" in r.summary for r in results)
    header = ["experiment", *keys, "solved", "rate", "95% CI", "to solve: median", "IQR",
              *(["stopped", "to stop: median"] if stops else []),
              "final error: 5%", "50%", "95%", *(["held out right"] if held else [])]
    rows = []
    for res in results:
        s = res.summary
        iqr = s["sweeps_to_solve_iqr"]
        fq = s["final_error_quantiles"]
        lo, hi = s["ci95"]
        mark = "*" if res.interrupted else ""
        rows.append([
            res.point.experiment.name + mark,
            *(_show(res.point.grid[k]) for k in keys),
            f"{s['solved']}/{s['seeds']}", f"{s['rate']:.1%}", fmt.percents(lo, hi),
            fmt.count(s["median_sweeps_to_solve"]),
            fmt.span(iqr),
            *([str(s["stopped"]), fmt.count(s["median_sweeps_to_stop"])] if stops else []),
            fmt.small(fq["q05"]), fmt.small(fq["q50"]), fmt.small(fq["q95"]),
            *([_held(s.get("heldout"))] if held else []),
        ])
    numeric_from = 1 + len(keys)  # the experiment and the grid's values left, numbers right
    align = "<" * numeric_from + ">" * (len(header) - numeric_from)
    first = results[0]
    seeds = first.seeds
    reports = sorted({r.point.experiment.config.report for r in results})
    lines = [
        f"{len(seeds)} seeds per point ({_seed_range(seeds)}), {how}; "
        f"{len(results)} of {planned} points",
        f"solved = {' / '.join(crits)} after the last sweep; "
        f"to solve = first sweep at which a solved net met it",
        f"final error = the experiment's reported error ({', '.join(reports)})",
        "",
        *fmt.table([header, *rows], align),
    ]
    lines += engine_lines([(res.point.name, res.engine, res.why_not) for res in results])
    for res in results:
        if res.interrupted:
            lines.append(f"* {res.point.name}: interrupted at sweep {res.sweeps_done:,} of "
                         f"{res.point.experiment.config.max_sweeps:,}: partial numbers, "
                         "no verdict")
    lines += verdict_lines(results)
    mid = first.point.experiment.config.mid
    lines += ["", f"Failures by kind (≈ {mid:g}: within {UNDECIDED:g} of it; "
                  f"seeds listed are examples, the JSON lists all):"]
    for res in results:
        counts = res.summary["failure_kinds"]
        if not counts:
            lines.append(f"  {res.point.name}: none")
            continue
        lines.append(f"  {res.point.name}: {sum(counts.values())} failed")
        width = max(len(k) for k in counts)
        for kind, count in counts.items():
            shown = res.summary["failure_seeds"][kind][:SEEDS_SHOWN]
            more = ", …" if count > len(shown) else ""
            listed = ", ".join(map(str, shown)) + more
            lines.append(f"    {count:>5}  {kind:<{width}}  seeds {listed}")
    return "\n".join(lines)


def verdict_lines(results: list[PointResult]) -> list[str]:
    """Each point's checks and verdicts on the published claims, each with its numbers."""
    lines: list[str] = []
    for res in results:
        if not res.verdicts and not res.checks:
            continue
        if not lines:
            lines = ["", "Checks and verdicts on the published claims at each point (each rule "
                         "in full in the JSON):"]
        lines.append(f"  {res.point.name}:")
        for c in res.checks.values():
            lines.append(f"    check    {c['title']}: {c['passed']}/{c['considered']} "
                         "solved replicas")
        for v in res.verdicts:
            what = v.get("what") or v.get("metric", "")
            measured = describe_measured(v["measured"])
            lines.append(f"    claim    {what} = {published_text(v)}: "
                         f"{verdict_word_and_numbers(v)}; measured {measured}")
    return lines


def _held(h: dict[str, Any] | None) -> str:
    """Held-out cases answered correctly, over all replicas: ``41% (97/236)``."""
    if h is None:
        return fmt.DASH
    total = h["cases"] * len(h["correct"])
    return f"{h['fraction']:.0%} ({sum(h['correct'])}/{total})"


def _seed_range(seeds: list[int]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"


def to_json(
    results: list[PointResult],
    experiments: list[Experiment],
    grid: dict[str, list[Any]],
    *,
    seeds: int,
    settings: list[str],
    planned: int,
    interrupted: bool,
) -> dict[str, Any]:
    """The sweep's record: one entry per finished point, plus config, grid values and versions."""
    return {
        "command": command_line(),
        "versions": versions(),
        "seeds_per_point": seeds,
        "grid": grid,
        "settings": list(settings),
        "experiments": [
            {"name": e.name, "title": e.title, "source": e.source, "params": e.params,
             "config": e.config.to_dict(), "published": e.published or None,
             "deviations": list(e.deviations),
             # the whole file as read: `verify` rebuilds each point from it
             "experiment_file": str(e.path) if e.path is not None else None,
             "experiment_table": dict(e.raw) if e.raw else None}
            for e in experiments
        ],
        "undecided_within": UNDECIDED,
        "points_planned": planned,
        "points_done": len(results),
        "complete": not interrupted and len(results) == planned,
        "interrupted": interrupted,
        "points": [point_record(r) for r in results],
    }


def point_record(r: PointResult) -> dict[str, Any]:
    """One grid point's entry in the sweep's JSON (what ``verify`` re-measures)."""
    return {
        "experiment": r.point.experiment.name,
        "grid": r.point.grid,
        "params": r.point.experiment.params,
        "config": r.point.experiment.config.to_dict(),
        "criterion": criterion(r.point.experiment),
        "report": r.point.experiment.config.report,
        "first_seed": r.seeds[0],
        "partial": r.interrupted,
        "sweeps_done": r.sweeps_done,
        "engine": r.engine,
        "why_not": r.why_not,
        **r.summary,
        "verdicts": r.verdicts,
        "checks": r.checks,
        # each seed's outcome, as columns: seed i of the point is index i of every list
        "replicas": r.replicas,
    }


def markdown_table(record: Any, path: Path) -> list[str]:
    """The points of a sweep JSON as a Markdown table: the point, its seeds, how many
    trained, the all-seeds median sweeps to solve, held-out cases right (when the
    experiment holds cases out), and per published claim the verdict with its number."""
    points = record.get("points") if isinstance(record, dict) else None
    if not isinstance(points, list) or not all(isinstance(p, dict) for p in points):
        raise ConfigError(f"{path}: not a JSON file written by `backprop86 sweep --json` "
                          "(expected a 'points' list)")
    try:
        claims = _distinct((v.get("what") or v["metric"]) for p in points
                           for v in p.get("verdicts", []))
        held = any(p.get("heldout") for p in points)
        header = ["point", "seeds", "trained (95% CI)", "to solve: median, all seeds",
                  *(["held-out right (95% CI)"] if held else []), *claims]
        rows = [header, ["---"] * len(header)]
        for p in points:
            label = " ".join([p["experiment"], *(f"{k}={_show(v)}" for k, v in p["grid"].items())])
            verdicts = {(v.get("what") or v["metric"]): v for v in p.get("verdicts", [])}
            median = p.get("sweeps_to_solve_all", {}).get("q50")
            cells = [
                label + (" (partial)" if p.get("partial") else ""),
                str(p["seeds"]),
                f"{p['solved']}/{p['seeds']} ({fmt.percents(*p['ci95'])})",
                f"> {p['cap']:,}" if median is None else fmt.count(median),
            ]
            if held:
                h = p.get("heldout")
                cells.append(fmt.DASH if not h else
                             f"{sum(h['correct'])}/{h['cases'] * len(h['correct'])} "
                             f"({fmt.percents(*h['fraction_ci95'])})")
            cells += [verdict_word_and_numbers(verdicts[c]) if c in verdicts else fmt.DASH
                      for c in claims]
            rows.append(cells)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ConfigError(f"{path}: a point lacks its summary ({exc})") from None
    return ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]


def _distinct(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if v not in out:
            out.append(v)
    return out


def draw(results: list[PointResult], folder: Path, grid: list[tuple[str, list[str]]]) -> list[Path]:
    """Every figure of the sweep into ``folder``; returns the written files."""
    from backprop86 import plots

    written: list[Path] = []
    for res in results:
        exp = res.point.experiment
        n, drawn = len(res.seeds), res.curve_replicas.size
        if drawn:
            every = "" if drawn == n else (
                f" (curves of one seed in {curve_stride(n):,}: {drawn:,})")
            written += plots.error_curves(
                folder / f"error-curves-{res.point.slug}", res.curve_sweeps, res.curves,
                res.solved[res.curve_replicas],
                title=f"{res.point.name}: error of {n:,} seeds{every}",
                ylabel=f"{exp.config.report} error", xlabel=time_axis(exp),
            )
        net, seed = res.kept_net, res.kept_seed
        if net is None:
            continue
        i = res.seeds.index(seed)
        state = "solved" if res.solved[i] else f"failed: {res.kinds[i]}"
        if net.recurrent:  # its history, a few cases step by step
            cases = list(range(min(res.task.n_cases, TIME_CASES)))
            task = res.task
            written += plots.activity_over_time(
                folder / f"time-{res.point.slug}-seed{seed}", net, task.inputs[cases],
                labels=[task.labels[k] if task.labels else str(k + 1) for k in cases],
                targets=task.targets[cases],
                care=None if task.care is None else task.care[cases], mid=exp.config.mid,
                title=f"{res.point.name}, seed {seed}: {state}")
            continue
        if res.task.n_inputs == 2 and res.task.n_outputs == 1:
            written += plots.decision_boundary(
                folder / f"decision-boundary-{res.point.slug}-seed{seed}", net, res.task,
                title=f"{res.point.name}, seed {seed}: {state}",
                mid=exp.config.mid,
            )
        if net.hidden:
            written += plots.hidden_activations(
                folder / f"hidden-{res.point.slug}-seed{seed}", net, res.task,
                title=f"{res.point.name}, seed {seed}: {state}",
                mid=exp.config.mid,
            )
    if len(results) > 1:
        limits = {r.point.experiment.config.max_sweeps for r in results}
        units = {time_unit(r.point.experiment) for r in results}
        unit = units.pop() if len(units) == 1 else "sweeps"
        within = f" within {limits.pop():,} {unit}" if len(limits) == 1 else ""
        written += plots.solved_rate(
            folder / "solved-rate", _rate_series(results, grid),
            xlabel=axis_name(grid[0][0]) if grid else "",
            title=f"Solved{within} ({len(results[0].seeds)} seeds per point)",
        )
    return written


def _rate_series(results: list[PointResult], grid: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """One series per experiment against the grid's single numeric key; else one row per point."""
    series: dict[str, tuple[list[Any], list[int], list[int]]] = {}
    single = len(grid) == 1 and all(
        isinstance(r.point.grid[grid[0][0]], (int, float))
        and not isinstance(r.point.grid[grid[0][0]], bool)
        for r in results
    )
    for res in results:
        name = res.point.experiment.name if single else res.point.name
        x = res.point.grid[grid[0][0]] if single else ""
        xs, ks, ns = series.setdefault(name, ([], [], []))
        xs.append(x)
        ks.append(res.summary["solved"])
        ns.append(res.summary["seeds"])
    return series


# ----------------------------------------------------------------------------
# The command
# ----------------------------------------------------------------------------


def main(args: argparse.Namespace) -> int:
    if args.table is not None:
        others = [flag for flag, given in (
            ("EXPERIMENT_OR_TOML", args.experiments), ("--seeds", args.seeds is not None),
            ("--grid", args.grid), ("--set", args.settings), ("--json", args.json),
            ("--plot", args.plot), ("--plot-seed", args.plot_seed is not None),
            *_cluster_flags(args)) if given]
        if others:
            raise UsageError(f"--table trains nothing; drop {', '.join(others)}", PROG)
        print("\n".join(markdown_table(load_json(args.table), args.table)))
        return 0
    if not args.experiments:
        raise UsageError("name at least one experiment or .toml file (see `backprop86 list`)",
                         PROG)
    if args.seeds is None:
        raise UsageError("--seeds N is required: the seeds per grid point", PROG)
    on_cluster = args.workers is not None or args.scheduler is not None
    if args.workers is not None and args.scheduler is not None:
        raise UsageError("give --workers N (a local cluster) or --scheduler ADDRESS (yours), "
                         "not both", PROG)
    if not on_cluster and (given := [f for f, on in _cluster_flags(args)[2:] if on]):
        verb = "belongs" if len(given) == 1 else "belong"
        raise UsageError(f"{', '.join(given)} {verb} to a sweep on a cluster; add --workers N "
                         "or --scheduler ADDRESS", PROG)
    if args.workers is not None and args.workers > MAX_WORKERS:
        raise UsageError(f"--workers: a local cluster of at most {MAX_WORKERS} worker processes "
                         f"(this machine has {os.cpu_count() or 1} cores), got {args.workers:,}; "
                         "for more machines run a Dask scheduler and give --scheduler ADDRESS",
                         PROG)
    grid = parse_grid(args.grid)
    check_no_overlap(grid, args.settings)
    if args.plot is not None:
        require_matplotlib("--plot needs", PROG)
    if args.plot_seed is not None and args.plot is None:
        raise UsageError("--plot-seed chooses the seed --plot draws; give --plot DIR too", PROG)
    experiments = [load(name).with_settings(args.settings) for name in args.experiments]
    names = [e.name for e in experiments]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"experiment {', '.join(map(repr, twice))} is named twice; name each "
                         "once (its points would be trained twice)", PROG)
    check_outputs([Output("--json", args.json), Output("--plot", args.plot, folder=True),
                   Output("--journal", args.journal)],
                  [("EXPERIMENT_OR_TOML", e.path) for e in experiments if e.path is not None])
    # on a cluster each chunk is checked for size when the chunk size is known
    points = grid_points(experiments, grid, None if on_cluster else args.seeds)
    if args.plot_seed is not None:
        for e in experiments:
            s = list(range(e.first_seed, e.first_seed + args.seeds))
            if args.plot_seed not in s:
                raise UsageError(f"--plot-seed {args.plot_seed} is not among {e.name}'s "
                                 f"seeds {s[0]}–{s[-1]}", PROG)

    values = {key: _distinct(p.grid[key] for p in points) for key, _ in grid}

    def record(done: list[PointResult], stopped: bool) -> dict[str, Any]:
        return to_json(done, experiments, values, seeds=args.seeds, settings=args.settings,
                       planned=len(points), interrupted=stopped)

    if on_cluster:
        return _main_on_cluster(args, points, grid, record)

    results: list[PointResult] = []
    interrupted = False
    # the points done so far go to PATH.partial.json as each finishes (a killed sweep keeps
    # them); PATH itself is written only when every point is done, never with part of them
    partial = partial_path(args.json) if args.json else None
    wrote_partial = False
    try:
        for i, point in enumerate(points):
            seeds = point.experiment.seeds(args.seeds)
            keep = args.plot_seed if args.plot_seed is not None else seeds[0]
            res = measure(point, seeds, keep_seed=keep if args.plot else None,
                          label=f"{point.name} [{i + 1}/{len(points)}]",
                          curves=args.plot is not None)
            results.append(res)
            if res.interrupted:
                interrupted = True
                break
            if partial is not None and len(results) < len(points):
                save_record(partial, record(results, False))
                wrote_partial = True
    except KeyboardInterrupt:
        interrupted = True
    print(format_table(results, planned=len(points)))
    if interrupted:
        if partial is not None:
            save_record(partial, record(results, True))
            say_partial(PROG, [(args.json, partial)])
        print(f"{PROG}: interrupted after {len(results)} of {len(points)} points"
              + ("; figures not drawn" if args.plot else ""), file=sys.stderr)
        return INTERRUPTED
    if args.json:
        save_record(args.json, record(results, False))
        if wrote_partial:  # this sweep's own progress files, now that the whole is saved
            partial.unlink(missing_ok=True)
            columns_path(partial).unlink(missing_ok=True)
    if args.plot:
        written = draw(results, args.plot, grid)
        print(f"\nwrote {len(written)} figure files to {args.plot}", file=sys.stderr)
    return 0


def save_record(path: Path, record: dict[str, Any]) -> None:
    """Write a sweep's JSON; its seeds' outcomes in ``<name>.replicas.npz`` beside it when
    there are more than :data:`~backprop86.outcomes.INLINE_SEEDS` (:mod:`backprop86.outcomes`),
    the file first, so that a JSON never names a file not yet written."""
    save_json(path, detach(record, path), columns="replicas")


def _drop_own_partial(path: Path, hash_: str) -> None:
    """Remove ``PATH.partial.json`` (and its seeds' file) when an earlier, interrupted run of
    this same sweep wrote it (its settings hash is this sweep's): the whole JSON now holds
    everything it held. Another sweep's partial file is left alone."""
    partial = partial_path(path)
    try:
        same = load_json(partial).get("cluster", {}).get("settings_hash") == hash_
    except Backprop86Error:  # none, or not one of ours
        return
    if same:
        partial.unlink(missing_ok=True)
        columns_path(partial).unlink(missing_ok=True)


def _seeds(n: int) -> str:
    return f"{n:,} seed{'s' * (n != 1)}"


def _cluster_flags(args: argparse.Namespace) -> list[tuple[str, bool]]:
    return [("--workers", args.workers is not None), ("--scheduler", args.scheduler is not None),
            ("--chunk", args.chunk is not None), ("--journal", args.journal is not None),
            ("--resume", args.resume)]


# ----------------------------------------------------------------------------
# On a Dask cluster
# ----------------------------------------------------------------------------


def _main_on_cluster(args: argparse.Namespace, points: list[Point],
                     grid: list[tuple[str, list[str]]],
                     record: Callable[[list[PointResult], bool], dict[str, Any]]) -> int:
    """The sweep with each point's seeds in chunks on a Dask cluster
    (:mod:`backprop86.distributed`): plan, journal, train, join, then the table, JSON and
    figures of a local sweep, the JSON with a ``cluster`` entry (scheduler, workers,
    chunking, times)."""
    from backprop86.distributed import chunks as plans
    from backprop86.distributed.cluster import connect, require_dask, run_chunks
    from backprop86.distributed.join import join
    from backprop86.distributed.journal import Journal, settings_hash

    require_dask()
    n = args.seeds
    exps = [p.experiment for p in points]
    seeds = [list(range(e.first_seed, e.first_seed + n)) for e in exps]
    engines = [plans.engine_for(e, s) for e, s in zip(exps, seeds, strict=True)]
    keep = None
    if args.plot:
        keep = args.plot_seed if args.plot_seed is not None else exps[0].first_seed
    index = log_index(history_columns(max(e.config.max_sweeps for e in exps),
                                      exps[0].config.history_every))
    stride = curve_stride(n)
    hash_ = settings_hash({
        "points": [{"experiment": e.name, "table": e.raw, "params": e.params,
                    "config": e.config.to_dict(), "seeds": [s[0], n]}
                   for e, s in zip(exps, seeds, strict=True)],
        "curves": [index.tolist(), stride] if args.plot else None, "keep_seed": keep,
        "versions": {k: versions()[k] for k in ("backprop86", "numpy")}})
    journal_path = args.journal or (
        args.json.with_name(f"{args.json.stem}.journal.jsonl") if args.json
        else Path(f"sweep-{hash_[:12]}.journal.jsonl"))
    firsts = [s[0] for s in seeds]

    def chunks_of(size: int) -> list[plans.Chunk]:
        return plans.plan(firsts, n, size)

    journal = None
    if args.resume:
        journal = Journal.open(journal_path, hash_, lambda size: {c.key for c in chunks_of(size)})
        if args.chunk is not None and args.chunk != journal.chunk_seeds:
            raise UsageError(f"--chunk {args.chunk}: the journal {journal_path} was written with "
                             f"chunks of {journal.chunk_seeds} seeds; drop --chunk to resume",
                             PROG)
    elif journal_path.exists():
        raise UsageError(f"{journal_path} already holds the journal of an unfinished sweep; "
                         "add --resume to finish it, or delete it to start afresh", PROG)
    with connect(args.workers, args.scheduler) as cluster:
        if journal is None:
            size = args.chunk or plans.chunk_size(
                [plans.seconds_per_seed(e, name) for e, (name, _) in zip(exps, engines,
                                                                        strict=True)],
                n, cluster.workers, [name for name, _ in engines])
            for point in points:
                try:
                    point.experiment.check_size(min(size, n))
                except Backprop86Error as exc:
                    raise UsageError(f"--chunk {size} ({point.name}): {exc}", PROG) from None
            journal = Journal.create(journal_path, hash_, size,
                                     {"command": command_line(), "points": len(points)})
        planned = chunks_of(journal.chunk_seeds)
        todo = [c for c in planned if c.key not in journal.done]
        found = len(planned) - len(todo)
        print(f"{PROG}: {len(planned)} chunks of up to {_seeds(journal.chunk_seeds)} on "
              f"{cluster.workers} worker{'s' * (cluster.workers != 1)} ({cluster.scheduler})"
              + (f", {found} already in the journal" if found else "")
              + f"; journal {journal_path}", file=sys.stderr)
        interrupted, wall = False, 0.0
        with chunk_bar(len(planned), n * len(points), "chunks", done_chunks=found,
                       done_seeds=sum(c.count for c in planned if c.key in journal.done)
                       ) as bar:
            try:
                wall = run_chunks(cluster, todo, exps, [name for name, _ in engines], journal,
                                  curve_index=index.tolist() if args.plot else None,
                                  curve_stride=stride,
                                  keep_seed=keep,
                                  done=None if bar is None else lambda c, _o: bar(c.count))
            except KeyboardInterrupt:
                interrupted = True
        workers = cluster.workers
    results = []
    for i, point in enumerate(points):
        outcomes = [journal.done[c.key] for c in planned if c.point == i and c.key in journal.done]
        if sum(len(o["columns"]["seed"]) for o in outcomes) < n:
            continue  # a point not finished (interrupted): left out, as a local sweep leaves it
        joined = join(point.experiment, seeds[i], outcomes, engines[i])
        r = joined.run.result
        curves = joined.curves if joined.curves is not None else np.empty((0, 0))
        drawn = np.arange(0, n, stride)[: curves.shape[0]]
        results.append(point_result(
            point, joined.run, joined.kinds, replicas=joined.columns,
            curve_sweeps=index[: curves.shape[1]] * r.history_every + 1, curves=curves,
            curve_replicas=drawn,
            final_outputs=None, keep_seed=joined.kept_seed, kept_net=joined.kept_net,
            engine=engines[i]))
    how = (f"each point in chunks of up to {_seeds(journal.chunk_seeds)} on {workers} "
           f"worker{'s' * (workers != 1)}")
    print(format_table(results, planned=len(points), how=how))

    def with_cluster(done: list[PointResult], stopped: bool) -> dict[str, Any]:
        return {**record(done, stopped), "cluster": {
            "scheduler": "LocalCluster" if args.scheduler is None else args.scheduler,
            "workers": workers, "chunk_seeds": journal.chunk_seeds, "chunks": len(planned),
            "chunks_from_journal": found, "wall_seconds": wall,
            "training_seconds": sum(o["seconds"] for o in journal.done.values()),
            "settings_hash": hash_}}

    if interrupted:
        if args.json:
            partial = partial_path(args.json)
            save_record(partial, with_cluster(results, True))
            say_partial(PROG, [(args.json, partial)])
        print(f"{PROG}: interrupted; {len(journal.done)} of {len(planned)} chunks are in the "
              f"journal {journal_path}: run the same command with --resume to finish",
              file=sys.stderr)
        return INTERRUPTED
    if args.json:
        save_record(args.json, with_cluster(results, False))
        _drop_own_partial(args.json, hash_)
    if args.plot:
        written = draw(results, args.plot, grid)
        print(f"\nwrote {len(written)} figure files to {args.plot}", file=sys.stderr)
    journal_path.unlink()  # the sweep is whole: nothing is left to resume
    return 0


__all__ = ["Point", "PointResult", "check_no_overlap", "draw", "format_table", "grid_points",
           "markdown_table", "measure", "parse_grid", "point_record", "point_summary", "to_json",
           "verdict_lines"]
