"""``backprop86 trace EXPERIMENT --pattern K``: one pattern, one update, every number labelled."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from backprop86.analysis.trace import FORMATS, trace
from backprop86.cli.args import UsageError, nonnegative_int, positive_int
from backprop86.cli.commands.common import add_experiment_args, experiment_from
from backprop86.network import Network, Slot


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "trace",
        help="show every number of one update, labelled with the paper's equations",
        description="For one pattern and one update from the initial weights, print every net "
        "input, output, error derivative, weight gradient and weight change, each labelled "
        "with its equation (1)–(9) in Rumelhart, Hinton & Williams (Nature 1986).",
    )
    add_experiment_args(p)
    p.add_argument("--pattern", type=positive_int, required=True, metavar="K",
                   help="the case to present: its number, counting from 1 in the task's order "
                        "(units are numbered from 1 too)")
    p.add_argument("--seed", type=nonnegative_int, metavar="S",
                   help="seed of the initial weights (default: the experiment's first seed)")
    p.add_argument("--format", choices=sorted(FORMATS), default="text",
                   help="text (default), markdown or csv")


def main(args: argparse.Namespace) -> int:
    exp = experiment_from(args)
    task = exp.task().coded(*exp.config.targets)
    if args.pattern > task.n_cases:
        listing = ", ".join(f"{k}={label}" for k, label in enumerate(task.labels[:8], start=1))
        more = ", …" if task.n_cases > 8 else ""
        raise UsageError(
            f"--pattern must be a case number from 1 to {task.n_cases} "
            f"({listing}{more}), got {args.pattern}", "backprop86 trace",
        )
    if args.seed is not None and exp.config.init == "file":
        raise UsageError(f"--seed: {exp.name}'s initial weights come from "
                         f"{Path(exp.config.init_file or '').name}, not from a seed",
                         "backprop86 trace")
    seed = exp.seeds()[0] if args.seed is None else args.seed
    net = exp.initial_network([seed])
    k = args.pattern - 1
    care = None if task.care is None else task.care[k]
    title = (
        f"{exp.name}: one update from {initial_weights(exp, seed)}, pattern {args.pattern} "
        f"({task.labels[k]}: input {_case(net, net.input_slots, task.inputs[k])} → "
        f"target {_case(net, net.output_slots, task.targets[k])})"
    )
    result = trace(net, task.inputs[k], task.targets[k], exp.config, care=care, title=title)
    print(FORMATS[args.format](result))
    return 0


def initial_weights(exp, seed: int) -> str:
    """Where the initial weights come from, in words: ``the initial weights of seed 42``, or
    ``the weights of xor.wts`` for a run that reads them from a file."""
    if exp.config.init == "file":
        return f"the weights of {Path(exp.config.init_file or '').name}"
    return f"the initial weights (seed {seed})"


def _vec(v) -> str:
    return " ".join(f"{x:g}" for x in v)


def _case(net: Network, slots: Sequence[Slot], v) -> str:
    """A case's inputs (or targets) in words: the numbers, and for a recurrent net each
    slot's group and step: ``letters t=1: 1 0 0 0 0, letters t=2: 0 1 0 0 0``."""
    if not net.recurrent:
        return _vec(v)
    parts, start = [], 0
    for slot in slots:
        size = net.slot_size(slot)
        parts.append(f"{slot[0]} t={slot[1]}: {_vec(v[start:start + size])}")
        start += size
    return ", ".join(parts)
