"""``backprop86 run EXPERIMENT``: train it over seeds, print published versus measured."""

from __future__ import annotations

import argparse

from backprop86.cli import positive_int
from backprop86.commands.common import add_experiment_args, add_json_arg, experiment_from
from backprop86.experiments.runner import format_run, run
from backprop86.io import save_json
from backprop86.progress import sweep_bar


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run one experiment over seeds",
                       description="Train an experiment over seeds (all as one batch) and print "
                                   "the published result beside the measured one.")
    add_experiment_args(p)
    p.add_argument("--seeds", type=positive_int, metavar="N",
                   help="train N seeds (first…first+N−1) instead of the file's default seeds")
    add_json_arg(p)


def main(args: argparse.Namespace) -> int:
    exp = experiment_from(args)
    seeds = exp.seeds(args.seeds)
    task = exp.task()
    work = len(seeds) * exp.config.max_sweeps * task.n_cases
    with sweep_bar(exp.config.max_sweeps, exp.name, work) as progress:
        result = run(exp, seeds, progress=progress)
    print(format_run(result))
    if args.json:
        save_json(args.json, result.to_json())
    return 0
