"""Run an experiment over seeds, summarise it, and print it beside the published result.

The verdicts on the published claims are :mod:`backprop86.experiments.claims`'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backprop86 import fmt
from backprop86.analysis.checks import run_checks
from backprop86.analysis.failures import UNDECIDED, classify_failures
from backprop86.analysis.statistics import mean_ci
from backprop86.analysis.summary import summarize
from backprop86.experiments import Experiment
from backprop86.experiments.claims import check_lines, claim_lines, judge, judge_all
from backprop86.experiments.holdout import Split, heldout_rows, make_split
from backprop86.experiments.holdout import score as _score_heldout
from backprop86.experiments.recipe import recipe
from backprop86.io import command_line, versions
from backprop86.network import Network
from backprop86.outcomes import as_rows
from backprop86.supervised import accuracy, class_index
from backprop86.tasks import Task
from backprop86.train import Progress, Trainer, TrainResult


@dataclass
class Run:
    """A finished (or interrupted) run: experiment, seeds, the trained replicas, the numbers."""

    experiment: Experiment
    seeds: list[int]
    task: Task
    net: Network
    result: TrainResult
    summary: dict[str, Any]
    split: Split | None = None  # per-replica training / held-out cases, when the file has [split]
    #: The trainer, for checkpoints (``None`` when the run was rebuilt from a file).
    trainer: Trainer | None = field(default=None, repr=False)
    #: The checks the experiment lists in ``checks`` (:mod:`backprop86.analysis.checks`).
    checks: dict[str, Any] = field(default_factory=dict)
    #: With ``compare``: the training time of every seed as one batch, and each peer's
    #: accuracies and time (:mod:`backprop86.experiments.peers`). Times are not in the
    #: summary: ``verify`` compares the summary, and times never repeat exactly.
    comparison: dict[str, Any] | None = None

    @property
    def sweeps_done(self) -> int:
        """Sweeps trained (the trainer's counter; the most any replica trained otherwise)."""
        if self.trainer is not None:
            return int(self.trainer.sweep)
        return int(self.result.sweeps.max(initial=0))

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the run before it finished: its numbers are partial."""
        return bool(self.result.interrupted)

    @property
    def verdict(self) -> dict[str, Any] | None:
        """The verdict on the first claim that applies (``None`` when there is none, or when
        the run was interrupted: no verdict is given on partial numbers)."""
        return None if self.interrupted else judge(self.experiment.published, self)

    @property
    def verdicts(self) -> list[dict[str, Any]]:
        """Verdicts on every published claim that applies (:mod:`backprop86.experiments.claims`);
        none for an interrupted run."""
        return [] if self.interrupted else judge_all(self)

    def to_json(self, *, rows: bool = True) -> dict[str, Any]:
        """The machine-readable record: experiment, config, versions, summary, replicas
        (each seed's outcome: one ``{field: value}`` row per seed, or with ``rows=False``
        one list per field, the form :mod:`backprop86.outcomes` stores for many seeds)."""
        r = self.result
        record = recipe(self.experiment, self.seeds)
        columns = replica_columns(self)
        replicas: Any = as_rows(columns) if rows else columns
        return {
            "experiment": self.experiment.name,
            "title": self.experiment.title,
            "source": self.experiment.source,
            "config": self.experiment.config.to_dict(),
            "params": self.experiment.params,
            "seeds": self.seeds,
            # with config, params and seeds: what `backprop86 verify` needs to rebuild the run
            "experiment_file": record["experiment_file"],
            "experiment_table": record["experiment_table"],
            "versions": versions(),
            "command": command_line(),
            "summary": self.summary,
            "published": self.experiment.published or None,
            "verdict": self.verdict,
            "verdicts": self.verdicts,
            "checks": {k: c.to_json(r.solved) for k, c in self.checks.items()},
            "deviations": list(self.experiment.deviations),
            "interrupted": r.interrupted,
            "sweeps_done": self.sweeps_done,
            "engine": r.engine,
            "why_not": r.why_not,
            "notes": r.notes,
            "replicas": replicas,
            **({"comparison": self.comparison} if self.comparison is not None else {}),
        }


    def trained_on(self, i: int) -> Task:
        """The cases replica ``i`` was trained on."""
        return self.task if self.split is None else self.split.train[i]


def replica_columns(run_: Run) -> dict[str, list[Any]]:
    """Each seed's outcome, one list per field (index ``i`` is seed ``run_.seeds[i]``; the
    rows of ``run --json``'s ``replicas``, the columns of a sweep point's): the seed,
    sweeps trained, the handbook's tss (Σ(y − d)², no ½) and the
    reported error of the final weights, solved, stopped by the rule, the first solved
    sweep (``None`` if never) and diverged; with a ``[split]``, each seed's held-out cases
    and how many of them it answers right. Columns, not rows, so that a sweep of 10,000
    seeds a point stores each field name once."""
    r = run_.result
    columns: dict[str, list[Any]] = {  # arrays to lists in one call each: a million seeds
        "seed": list(run_.seeds),     # take a second, not a minute
        "sweeps": np.asarray(r.sweeps, dtype=np.int64).tolist(),
        "final_tss": final_tss(run_).tolist(),
        "final_error": np.asarray(r.final_error, dtype=np.float64).tolist(),
        "solved": np.asarray(r.solved, dtype=bool).tolist(),
        "stopped": np.asarray(r.stopped, dtype=bool).tolist(),
        "first_solved_sweep": [v if v > 0 else None
                               for v in np.asarray(r.first_solved, dtype=np.int64).tolist()],
        "diverged": np.asarray(r.diverged, dtype=bool).tolist(),
    }
    if run_.split is not None:
        columns["heldout_cases"] = [list(t.labels) for t in run_.split.test]
        columns["heldout_correct"] = list(run_.summary["heldout"]["correct"])
    return columns


def failure_kinds_of(run_: Run, near: float = UNDECIDED) -> list[str | None]:
    """Each replica's failure kind (:func:`~backprop86.analysis.failures.classify_failures`;
    ``None`` for a solved one), judged on the cases it trained on, an output within
    ``near`` × the target range of the midpoint counting as undecided."""
    r, task, cfg = run_.result, run_.task, run_.experiment.config
    coded = task.coded(*cfg.targets)
    rule = {"mid": cfg.mid, "margin": cfg.solve_margin,
            "near": near * (cfg.targets[1] - cfg.targets[0])}
    if run_.split is None:
        return classify_failures(r.final_outputs, coded.targets, task.labels,
                                 diverged=r.diverged, care=task.care, **rule)
    kinds: list[str | None] = []  # each replica trained on its own cases: judge it on those
    for i, own in enumerate(run_.split.train):
        own = own.coded(*cfg.targets)
        kinds += classify_failures(r.final_outputs[i:i + 1], own.targets, own.labels,
                                   diverged=r.diverged[i:i + 1], care=own.care, **rule)
    return kinds


def final_tss(run_: Run) -> np.ndarray:
    """Handbook tss ``Σ_c Σ_j (y_cj − d_cj)²`` (no ½) of each replica's final outputs on the
    cases it trained on, in the run's target coding: ``(R,)`` float64. Each replica's sum
    runs over its ``N · n_out`` terms in one row, as ``np.sum`` of that replica alone."""
    r, targets = run_.result, run_.experiment.config.targets
    tasks = [run_.task] if run_.split is None else run_.split.train
    D = np.stack([t.coded(*targets).targets for t in tasks])  # (1 or R, N, n_out)
    diff = np.asarray(r.final_outputs) - D
    cares = [t.care for t in tasks]
    if any(c is not None for c in cares):
        diff = diff * np.stack([np.ones(t.targets.shape) if c is None else c
                                for t, c in zip(tasks, cares, strict=True)])
    diff = diff * diff
    return np.sum(diff.reshape(diff.shape[0], -1), axis=1, dtype=np.float64)


def run(
    exp: Experiment,
    seeds: list[int],
    *,
    progress: Progress | None = None,
    prepare: Callable[[Trainer], None] | None = None,
    history: str = "none",
    history_replicas: list[int] | np.ndarray | None = None,
) -> Run:
    """Train ``len(seeds)`` replicas of ``exp`` as one batch and summarise them.

    ``prepare(trainer)`` is called before training starts (to resume from a checkpoint).
    ``history`` and ``history_replicas``: the per-sweep errors to keep
    (:mod:`backprop86.history`); none by default — a run's summary, checks and verdicts
    need each seed's outcome only, so a seed costs the same memory however long it trains.
    """
    task = exp.task()
    net = exp.network(replicas=len(seeds))
    split = make_split(task, seeds, exp.split_spec()) if exp.split else None
    trained_on = task if split is None else split.train  # one training set per replica
    trainer = Trainer(net, trained_on, exp.config, seeds, history=history,
                      history_replicas=history_replicas)
    if prepare is not None:
        prepare(trainer)
    started = time.perf_counter()
    result = trainer.train(progress)
    seconds = time.perf_counter() - started
    # times are censored where training ended: max_sweeps, or the sweep an interruption left
    cap = int(result.sweeps.max()) if result.sweeps.size else exp.config.max_sweeps
    summary = summarize(result, cap)
    if split is not None:
        summary["heldout"] = _score_heldout(net, split, exp.config.mid)
    if task.test is not None and split is None:
        summary["test"] = test_scores(net, task)
    checks = run_checks(exp.checks, net, task) if exp.checks else {}
    comparison = None
    if exp.raw.get("compare"):
        from backprop86.experiments.peers import run_peers

        comparison = {"backprop86": {"seconds": seconds, "engine": result.engine},
                      **run_peers(exp, task, seeds)}
    return Run(exp, seeds, task, net, result, summary, split, trainer, checks, comparison)


def test_scores(net: Network, task: Task) -> dict[str, Any]:
    """Each replica's accuracy on the task's training and test cases (the class given is
    the most active output unit, :func:`backprop86.supervised.class_index`), and the mean
    over replicas with its 95 % interval (:func:`~backprop86.analysis.statistics.mean_ci`)."""
    assert task.test is not None
    train = accuracy(net.predict(task.inputs), class_index(task.targets))
    test = accuracy(net.predict(task.test.inputs), class_index(task.test.targets))
    return test_summary(test, train, task.test.n_cases, task.n_cases)


def test_summary(test: np.ndarray, train: np.ndarray, cases: int, train_cases: int
                 ) -> dict[str, Any]:
    """:func:`test_scores` from each replica's test and training accuracy ``(R,)`` (a sweep
    trained in chunks joins the chunks' accuracies and calls this)."""
    test, train = np.asarray(test, dtype=float), np.asarray(train, dtype=float)
    return {"cases": cases, "train_cases": train_cases,
            "accuracy": test.tolist(), "train_accuracy": train.tolist(),
            "accuracy_mean_ci": mean_ci(test), "train_accuracy_mean_ci": mean_ci(train)}


# ----------------------------------------------------------------------------
# Text table
# ----------------------------------------------------------------------------


#: Width of the label column of the run table.
LABEL_WIDTH = 28


def _labelled(rows: list[tuple[str, str]]) -> list[str]:
    """Rows ``(label, value)`` as lines, the values lined up after the labels."""
    return fmt.table(rows, "<<", widths=(LABEL_WIDTH,), gap="")


def format_run(run_: Run) -> str:
    """The published-versus-measured table printed by ``backprop86 run``."""
    exp, s = run_.experiment, run_.summary
    lines = [f"{exp.name}: {exp.title}"]
    if exp.source:
        lines.append(f"source: {exp.source}")
    if "test" in s:
        return _format_test_run(run_)
    lo, hi = s["ci95"]
    rows = [
        ("initial weights", f"from {Path(exp.config.init_file or '').name} (the same for every "
                            f"run; {s['seeds']} run{'s' if s['seeds'] != 1 else ''})")
        if exp.config.init == "file" else ("seeds", str(s["seeds"])),
        ("solved", f"{s['solved']}/{s['seeds']} = {s['rate']:.1%}  ({fmt.ci(lo, hi)})"),
    ]
    if s["stopped"]:
        iqr = s["sweeps_to_stop_iqr"]
        rows.append((
            "sweeps to stop (median)",
            fmt.number(s["median_sweeps_to_stop"])
            + (f"  IQR {fmt.span(iqr, fmt.number)}" if iqr and s["stopped"] > 1 else "")
            + f"  ({s['stopped']} stopped)",
        ))
    iqr = s["sweeps_to_solve_iqr"]
    rows.append((
        "sweeps to solve (median)",
        fmt.number(s["median_sweeps_to_solve"])
        + (f"  IQR {fmt.span(iqr, fmt.number)}" if iqr and s["solved"] > 1 else "")
        + f"  (of the {s['solved']} solved)",
    ))
    if s["solved"] < s["seeds"]:
        rows.append(("sweeps to solve, all seeds", censored_text(s)))
    fq = s["final_error_quantiles"]
    if fq["q50"] is not None:
        rows.append((f"final {exp.config.report} (median)", f"{fq['q50']:.4g}"))
    if s["diverged"]:
        rows.append(("diverged", str(s["diverged"])))
    lines += ["", *_labelled(rows)]
    if "heldout" in s:
        lines += ["", *_labelled(heldout_rows(s["heldout"]))]
    if run_.checks:
        lines += ["", "checks:", *check_lines(run_)]
    lines += _verdicts_and_notes(run_)
    return "\n".join(lines)


def interrupted_line(sweep: int) -> str:
    """What is printed instead of verdicts when Ctrl-C stopped a run: ``interrupted at sweep
    1,234: no verdict``."""
    return f"interrupted at sweep {sweep:,}: no verdict"


def _verdicts_and_notes(run_: Run) -> list[str]:
    """The end of a run's table: its verdicts (or, interrupted, :func:`interrupted_line`
    in their place), the deviations, the trainer's notes, the engine."""
    exp, lines = run_.experiment, []
    for v in run_.verdicts:
        lines += ["", *claim_lines(v)]
    if exp.unjudged:
        lines += ["", *exp.unjudged]
    notes = run_.result.notes
    if run_.interrupted:  # the trainer's own "interrupted at sweep N" note says no more
        lines += ["", interrupted_line(run_.sweeps_done)]
        notes = [n for n in notes if not n.startswith("interrupted at sweep")]
    if exp.deviations:
        lines += ["", "deviations from the source:"] + [f"  - {d}" for d in exp.deviations]
    if notes:
        lines += ["", *notes]
    lines += ["", engine_line(run_.result.engine, run_.result.why_not)]
    return lines


def accuracy_text(m: dict[str, Any]) -> str:
    """``mean 98.4%  (95% CI 98.1%–98.7%; range 97.8%–98.9%)`` over seeds."""
    if m["mean"] is None:
        return "—"
    spread = f"range {m['min']:.1%}–{m['max']:.1%}"
    if m["lo"] is not None:
        spread = f"95% CI {m['lo']:.1%}–{m['hi']:.1%}; " + spread
    return f"mean {m['mean']:.1%}  ({spread})"


def _format_test_run(run_: Run) -> str:
    """The table of a run on a task with its own test cases: accuracy over seeds, the peers."""
    exp, s = run_.experiment, run_.summary
    t = s["test"]
    lines = [f"{exp.name}: {exp.title}"]
    if exp.source:
        lines.append(f"source: {exp.source}")
    net = run_.net
    sizes = "-".join(str(g.size) for g in net.groups)
    rows = [
        ("network", f"{sizes}, {net.groups[-1].activation} outputs, error {exp.config.error}"),
        ("seeds", f"{s['seeds']} ({run_.seeds[0]}–{run_.seeds[-1]}), trained as one batch"),
        ("sweeps", f"{run_.sweeps_done:,} of {exp.config.grain} updates "
                   f"(batch {exp.config.batch_size}), {t['train_cases']:,} training cases"),
        ("training accuracy", accuracy_text(t["train_accuracy_mean_ci"])),
        (f"test accuracy ({t['cases']:,} cases)", accuracy_text(t["accuracy_mean_ci"])),
    ]
    if s["diverged"]:
        rows.append(("diverged", str(s["diverged"])))
    lines += ["", *_labelled(rows)]
    if run_.comparison:
        lines += ["", f"test accuracy over the same {s['seeds']} seeds, and training time:"]
        table = [("", "test accuracy", "training time")]
        ours = run_.comparison["backprop86"]
        table.append(("backprop86", accuracy_text(t["accuracy_mean_ci"]),
                      f"{ours['seconds']:.2f} s, all seeds as one batch"))
        for name, peer in run_.comparison.items():
            if name == "backprop86":
                continue
            if "skipped" in peer:
                table.append((name, "skipped", peer["skipped"]))
                continue
            table.append((name, accuracy_text(mean_ci(peer["test_accuracy"])),
                          f"{peer['seconds']:.2f} s, one seed after another"))
        lines += fmt.table(table, "<<<", indent="  ")
    lines += _verdicts_and_notes(run_)
    return "\n".join(lines)


def censored_text(s: dict[str, Any]) -> str:
    """All seeds' median and IQR of sweeps to solve, the unsolved slower than the cap: a
    quantile among them is printed "> cap"."""
    q, cap = s["sweeps_to_solve_all"], s["cap"]

    def one(v: float | None) -> str:
        return f"> {fmt.number(float(cap))}" if v is None else fmt.number(v)

    return (f"median {one(q['q50'])}  IQR {one(q['q25'])}–{one(q['q75'])}  "
            f"({s['seeds'] - s['solved']} unsolved counted as slower than the cap)")


def engine_line(engine: str, why_not: str | None) -> str:
    """``trained by the ENGINE engine`` and, when a faster one was not used, why."""
    return f"trained by the {engine} engine" + (f"; {why_not}" if why_not else "")


def engine_lines(points: list[tuple[str, str, str | None]]) -> list[str]:
    """One :func:`engine_line` per distinct (engine, why_not) of ``(name, engine, why_not)``
    points, led by the names of its points (no names when every point shares one)."""
    groups: dict[tuple[str, str | None], list[str]] = {}
    for name, engine, why_not in points:
        groups.setdefault((engine, why_not), []).append(name)
    if len(groups) == 1:
        return [engine_line(*next(iter(groups)))]
    return [f"{', '.join(names)}: {engine_line(*key)}" for key, names in groups.items()]

