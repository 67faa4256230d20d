"""``backprop86 run EXPERIMENT``: train it over seeds, print published versus measured.

``--weights PATH`` writes the trained weights of every replica (a weight file,
:func:`backprop86.checkpoint.save_weights`, that ``gradcheck --weights`` reads).
``--checkpoint PATH`` saves the weights, the optimizer's state and the trainer's
state at the end (and when Ctrl-C stops the run); ``--resume PATH`` continues
such a run — with the same settings, ``max_sweeps`` may grow — so that the
result equals an uninterrupted run bit for bit. Ctrl-C finishes the sweep in
progress, prints the numbers so far with no verdict ("interrupted at sweep N: no
verdict"), writes ``--json`` and ``--weights`` to ``PATH.partial.*`` and the
checkpoint to ``CHECKPOINT.partial.npz`` (``EXPERIMENT.checkpoint.partial.npz`` when no
``--checkpoint`` was given), never over a complete result
(:mod:`backprop86.cli.interrupted`), draws no figures, and exits 130.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from backprop86 import checkpoint, outcomes
from backprop86.cli.args import UsageError, positive_int
from backprop86.cli.commands.common import (
    add_experiment_args,
    add_json_arg,
    experiment_from,
    require_matplotlib,
)
from backprop86.cli.interrupted import INTERRUPTED, output_path, partial_path, say_partial
from backprop86.cli.progress import sweep_bar
from backprop86.experiments import Experiment
from backprop86.experiments.recipe import recipe
from backprop86.experiments.runner import format_run, run
from backprop86.experiments.series import format_all, run_all, series_specs
from backprop86.io import Output, check_outputs, save_json, versions

PROG = "backprop86 run"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one experiment over seeds",
                       description="Train an experiment over seeds (all as one batch) and print "
                                   "the published result beside the measured one.")
    add_experiment_args(p)
    p.add_argument("--seeds", type=positive_int, metavar="N",
                   help="train N seeds (first…first+N−1) instead of the file's default seeds")
    add_json_arg(p)
    p.add_argument("--weights", type=Path, metavar="PATH",
                   help="write the trained weights of every replica here (.npz, no pickle), "
                        "with the run's settings and seeds")
    p.add_argument("--checkpoint", type=Path, metavar="PATH",
                   help="save weights, optimizer and trainer state here at the end (.npz, no "
                        "pickle; after Ctrl-C to PATH.partial.npz), to continue with --resume")
    p.add_argument("--resume", type=Path, metavar="PATH",
                   help="continue the run saved in this checkpoint; give the same experiment, "
                        "--set and --seeds (only max_sweeps may change)")
    p.add_argument("--plot", type=Path, metavar="DIR",
                   help="draw Hinton diagrams of the trained weights and hidden codes (a "
                        "recurrent net: its activity over time for a few cases) (PNG and SVG) "
                        "into DIR")


def main(args: argparse.Namespace) -> int:
    exp = experiment_from(args)
    seeds = exp.seeds(args.seeds)
    if args.plot is not None:
        require_matplotlib("--plot needs", "backprop86 run")
    check_outputs(outputs(args), inputs(args, exp))  # before training, not after it
    if series_specs(exp):
        return _main_series(args, exp, seeds)
    record = recipe(exp, seeds)
    saved = None
    if args.resume is not None:
        saved = checkpoint.load(args.resume)
        checkpoint.check_same_run(saved, record)
    task = exp.task()
    work = len(seeds) * exp.config.max_sweeps * task.n_cases
    prepare = None if saved is None else (lambda trainer: checkpoint.resume(trainer, saved))
    with sweep_bar(exp.config.max_sweeps, exp.name, work) as progress:
        result = run(exp, seeds, progress=progress, prepare=prepare)
    print(format_run(result))
    complete = not result.interrupted
    moved: list[tuple[Path, Path]] = []  # (output asked for, where its partial version went)
    if args.json:
        target = output_path(args.json, complete=complete)
        big = len(result.seeds) > outcomes.INLINE_SEEDS  # seeds as columns in a .npz
        save_json(target, outcomes.detach(result.to_json(rows=not big), target, force=big),
                  columns="replicas")
        moved += [] if complete else [(args.json, target)]
    if args.weights:
        target = output_path(args.weights, complete=complete)
        checkpoint.save_weights(target, result.net, record)
        moved += [] if complete else [(args.weights, target)]
    if complete:
        if args.plot:
            from backprop86.experiments.figures import draw_run

            for path in draw_run(result, args.plot):
                print(f"figure: {path}", file=sys.stderr)
        if args.checkpoint is not None:
            checkpoint.save(args.checkpoint, result.trainer, record)
        return 0
    say_partial(PROG, moved)
    if args.plot:
        print(f"{PROG}: no figures drawn from an interrupted run", file=sys.stderr)
    target = partial_path(args.checkpoint or Path(f"{exp.name}.checkpoint.npz"))
    if result.trainer.resumable:
        checkpoint.save(target, result.trainer, record)
        print(f"{PROG}: interrupted at sweep {result.sweeps_done:,}; checkpoint saved to "
              f"{target}; continue with: {_continue(args, target)}", file=sys.stderr)
    else:
        print(f"{PROG}: interrupted in the middle of a sweep, so no checkpoint could be written",
              file=sys.stderr)
    return INTERRUPTED


def outputs(args: argparse.Namespace) -> list[Output]:
    """Where this run will write."""
    return [Output("--json", args.json), Output("--weights", args.weights),
            Output("--checkpoint", args.checkpoint), Output("--plot", args.plot, folder=True)]


def inputs(args: argparse.Namespace, exp: Experiment) -> list[tuple[str, Path | None]]:
    """What this run reads and no output may replace. A checkpoint may be saved over the
    one it resumed from: it holds the same run, further on."""
    read: list[tuple[str, Path | None]] = [
        ("EXPERIMENT_OR_TOML", exp.path),
        ("init_file", Path(exp.config.init_file) if exp.config.init_file else None),
    ]
    same = (args.resume is not None and args.checkpoint is not None
            and os.path.realpath(args.resume) == os.path.realpath(args.checkpoint))
    if args.resume is not None and not same:
        read.append(("--resume", args.resume))
    return read


def _main_series(args: argparse.Namespace, exp: Experiment, seeds: list[int]) -> int:
    """An experiment whose result is a trend: run every point of every series, print the tables."""
    if args.checkpoint is not None or args.resume is not None or args.weights is not None:
        raise UsageError(f"experiment {exp.name!r} runs a series of points; --weights, "
                         "--checkpoint and --resume work only for single runs", PROG)
    work = len(seeds) * exp.config.max_sweeps * exp.task().n_cases
    with sweep_bar(exp.config.max_sweeps, exp.name, work) as progress:
        series = run_all(exp, seeds, progress)
    print(format_all(exp, series))
    complete = not any(s.interrupted for s in series)
    if args.json:
        target = output_path(args.json, complete=complete)
        save_json(target, {"experiment": exp.name, "title": exp.title, "source": exp.source,
                           "deviations": list(exp.deviations), "versions": versions(),
                           "interrupted": not complete,
                           "series": [s.to_json() for s in series]})
        if not complete:
            say_partial(PROG, [(args.json, target)])
    if not complete:
        if args.plot:
            print(f"{PROG}: no figures drawn from an interrupted run", file=sys.stderr)
        return INTERRUPTED
    if args.plot:
        from backprop86.experiments.figures import draw_series

        for path in draw_series(series, args.plot, exp.name):
            print(f"figure: {path}", file=sys.stderr)
    return 0


def _continue(args: argparse.Namespace, target: Path) -> str:
    """The command line that resumes this run and writes the outputs asked for."""
    words = ["backprop86", "run", args.experiment]
    for item in args.settings:
        words += ["--set", item]
    if args.seeds is not None:
        words += ["--seeds", str(args.seeds)]
    for flag, value in (("--json", args.json), ("--weights", args.weights),
                        ("--checkpoint", args.checkpoint), ("--plot", args.plot)):
        if value is not None:
            words += [flag, str(value)]
    return shlex.join([*words, "--resume", str(target)])
