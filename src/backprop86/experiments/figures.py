"""The figures of an experiment run: Hinton diagrams of trained weights and hidden codes.

For a run, :func:`draw_run` draws the first solved replica (the lowest seed that
solved the task) and, for checks meant for every replica such as addition's
local minimum, the first replica that shows it: its weights as Hinton diagrams
(as in the papers' figures) and its hidden units' activity for every input
pattern — for a recurrent net, its activity over time for a few cases instead
(:func:`time_cases`). For a series, :func:`draw_series` draws the trend. This
module chooses the figures; :mod:`backprop86.plots` draws them, importing
matplotlib only then.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from backprop86 import plots
from backprop86.experiments import Experiment
from backprop86.experiments.runner import Run
from backprop86.experiments.series import SeriesRun

#: Readable axis names of the parameters a series or a sweep varies.
AXIS_NAMES = {"hidden": "hidden units H", "lr": "learning rate η", "momentum": "momentum α",
              "init_scale": "initial weight range"}


def axis_name(key: str) -> str:
    """``hidden`` → ``hidden units H``; a key without a name stays as it is."""
    return AXIS_NAMES.get(key, key)


def time_unit(exp: Experiment) -> str:
    """The unit in which the experiment's claims count training time: ``presentations``
    when a claim (a ``[published]`` entry or a ``[[series]]``) speaks of presentations of
    each pattern, as the PDP chapter does, else ``sweeps``. One presentation of each
    pattern is one sweep: the unit names the same count in the source's words."""
    published = exp.raw.get("published", [])
    claims = published if isinstance(published, list) else [published]
    texts = [str(c.get(k, "")) for c in [*claims, *exp.raw.get("series", [])]
             if isinstance(c, dict) for k in ("what", "published", "source")]
    return "presentations" if any("presentation" in t.lower() for t in texts) else "sweeps"


def time_axis(exp: Experiment) -> str:
    """An axis that counts sweeps, in the claim's unit: ``presentations of each pattern
    (sweeps)`` or ``sweeps through the training set``."""
    if time_unit(exp) == "presentations":
        return "presentations of each pattern (sweeps)"
    return "sweeps through the training set"


def picks(run: Run) -> list[tuple[str, int]]:
    """``(label, replica)`` to draw: the first solved replica, the first of each 'all' check."""
    out: list[tuple[str, int]] = []
    solved = np.flatnonzero(run.result.solved)
    out.append(("solved", int(solved[0])) if solved.size else ("unsolved", 0))
    for name, check in run.checks.items():
        if check.among == "all" and check.passed.any():
            out.append((name.replace("_", "-"), int(np.flatnonzero(check.passed)[0])))
    return out


def draw_run(run: Run, folder: str | Path, stem: str | None = None) -> list[Path]:
    """Hinton diagrams of weights and hidden activity for :func:`picks`; returns the PNG paths.

    A task of images (``task.image_shape``, the digits) gets instead the hidden
    units' receptive fields, drawn as images, of the replica with the best test
    accuracy (the first of them on a tie)."""
    folder = Path(folder)
    stem = stem or run.experiment.name
    exp, task, net = run.experiment, run.task, run.net
    if "tc_field_kind" in run.checks:  # PDP Fig. 15: the shared field of each net, by kind
        return _fields(run, folder, stem)
    if task.image_shape is not None and net.hidden:
        scores = run.summary.get("test", {}).get("accuracy")
        r = int(np.argmax(scores)) if scores else 0
        seed = run.seeds[r]
        written = plots.receptive_fields(
            folder / f"{stem}-receptive-fields-seed{seed}", net, task.image_shape, replica=r,
            title=f"{exp.name}: weights from the {task.image_shape[0]}×{task.image_shape[1]} "
                  f"pixels into each hidden unit, seed {seed}"
                  + (f" (test accuracy {scores[r]:.1%})" if scores else ""))
        return [p for p in written if p.suffix == ".png"]
    written: list[Path] = []
    hidden = net.hidden
    order = np.arange(task.n_cases)
    if "count_code" in run.checks:  # parity: patterns by number of on bits, as in PDP Table 3
        order = np.argsort(task.inputs.sum(axis=1), kind="stable")
    for label, r in picks(run):
        seed = run.seeds[r]
        what = f"{exp.name}, seed {seed} ({label.replace('-', ' ')})"
        written += plots.hinton_weights(folder / f"{stem}-weights-{label}-seed{seed}", net,
                                        replica=r, title=f"weights: {what}")
        if "family_units" in run.checks:  # Nature Fig. 4: people → person1 encoding, by name
            written += plots.nature_fig4(folder / f"{stem}-fig4-{label}-seed{seed}", net, replica=r,
                                   title=what)
        if net.recurrent:  # the history of a few cases in place of one snapshot per case
            cases, labels = time_cases(run, r)
            written += plots.activity_over_time(
                folder / f"{stem}-time-{label}-seed{seed}", net, task.inputs[cases],
                labels=labels, targets=task.targets[cases],
                care=None if task.care is None else task.care[cases], replica=r,
                mid=exp.config.mid, title=f"activity over time: {what}")
        elif hidden:
            y = net.forward(task.inputs).y
            A = np.concatenate([y[n][r] for n in hidden], axis=1)[order]
            units = [f"{n}[{k + 1}]" if net.group(n).size > 1 or len(hidden) > 1 else n
                     for n in hidden for k in range(net.group(n).size)]
            written += plots.hinton_activity(
                folder / f"{stem}-hidden-{label}-seed{seed}", A,
                case_labels=[task.labels[i] for i in order], unit_labels=units,
                title=f"hidden activity: {what}",
            )
    return [p for p in written if p.suffix == ".png"]


#: The most nets :func:`_fields` draws.
FIELDS = 12


def _fields(run: Run, folder: Path, stem: str) -> list[Path]:
    """The shared receptive field of the first :data:`FIELDS` solved nets (else the first
    nets), each titled with its seed and its kind (:mod:`backprop86.analysis.checks.fields`)."""
    from backprop86.analysis.checks.fields import KINDS, classify, field_of

    W, bias, _ = field_of(run.net)
    kinds = classify(W, bias)
    solved = np.flatnonzero(run.result.solved)
    chosen = (solved if solved.size else np.arange(run.net.replicas))[:FIELDS]
    labels = [f"seed {run.seeds[r]}: {KINDS[kinds[r]]}" for r in chosen]
    what = "solved nets" if solved.size else "nets (none solved)"
    written = plots.shared_fields(
        folder / f"{stem}-fields", W[chosen], bias[chosen], labels,
        title=f"{run.experiment.name}: the shared receptive field of the first {len(chosen)} "
              f"{what}")
    return [p for p in written if p.suffix == ".png"]


#: The most cases :func:`time_cases` draws.
TIME_CASES = 5


def time_cases(run: Run, replica: int) -> tuple[list[int], list[str]]:
    """The cases whose activity over time is drawn, and their labels: the replica's
    held-out cases when the run holds some out (the claims are about them), else the
    first :data:`TIME_CASES` of the task."""
    labels = run.task.labels or tuple(str(k + 1) for k in range(run.task.n_cases))
    if run.split is not None:
        held = [int(k) for k in run.split.test_index[replica][:TIME_CASES]]
        return held, [f"{labels[k]} (held out)" for k in held]
    first = list(range(min(run.task.n_cases, TIME_CASES)))
    return first, [labels[k] for k in first]


def draw_series(series: list[SeriesRun], folder: str | Path, stem: str) -> list[Path]:
    """One trend figure per series: median (IQR) against the parameter, published points."""
    written: list[Path] = []
    for s in series:
        iqrs = [tuple(q) if q else None for q in s.iqrs()]
        exp = s.runs[0].experiment
        event = {"sweeps_to_stop": "to stop", "sweeps_to_solve": "to solve"}.get(s.metric, "")
        written += plots.trend(
            Path(folder) / f"{stem}-{s.spec['param']}",
            [float(v) for v in s.values], s.medians(), iqrs,  # type: ignore[arg-type]
            published=[(float(a), float(b)) for a, b in s.spec.get("points", [])],
            xlabel=axis_name(s.spec["param"]),
            ylabel=f"{time_axis(exp).split(' through')[0]} {event}, median (IQR)".strip(),
            title=f"{stem}: {s.name}",
        )
    return [p for p in written if p.suffix == ".png"]
