"""``backprop86 gradcheck EXPERIMENT``: the experiment's backward pass against central differences.

Builds the experiment's network with ``--replicas`` replicas (2 by default, so
the replica axis is exercised), initialises it as the experiment says (replica
``r`` from seed ``S + r``), and checks the gradient of the experiment's training
error (``error``, with its target coding, dead-zone margins, "don't care"
targets and tie rule) on the whole task. ``--weights PATH`` checks the
gradients at the weights of a weight file instead (``run --weights``: every
replica it holds), e.g. at the end of training. Exit 0 when every gradient
agrees, 1 when one is wrong.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from backprop86 import checkpoint
from backprop86.analysis.gradcheck import THRESHOLD, gradcheck
from backprop86.cli.args import nonnegative_int, positive_float, positive_int
from backprop86.cli.commands.common import add_experiment_args, experiment_from
from backprop86.errors import FileFormatError
from backprop86.train import make_error


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gradcheck",
        help="check an experiment's gradients against central differences",
        description="Compare the backward pass of an experiment's network with central "
        "differences of its training error, per projection and per bias. "
        "Exit 0 if every gradient agrees, 1 if one is wrong.",
    )
    add_experiment_args(p)
    p.add_argument("--seed", type=nonnegative_int, metavar="S",
                   help="seed of replica 0's initial weights (default: the experiment's first "
                        "default seed); replica r uses S + r")
    p.add_argument("--replicas", type=positive_int, default=2, metavar="R",
                   help="replicas checked at once (default 2)")
    p.add_argument("--weights", type=Path, metavar="PATH",
                   help="check at the weights of this file (written by `run --weights`), "
                        "all its replicas, instead of at initial weights")
    p.add_argument("--eps", type=positive_float, default=1e-6, metavar="H",
                   help="step of the central difference (default 1e-6)")
    p.add_argument("--threshold", type=positive_float, default=THRESHOLD, metavar="T",
                   help=f"largest relative error that passes (default {THRESHOLD:g})")


def main(args: argparse.Namespace) -> int:
    exp = experiment_from(args)
    cfg = exp.config
    first = exp.default_seeds[0] if args.seed is None else args.seed
    if args.weights is None:
        exp.check_size(args.replicas, {"replicas": "--replicas"}, training=False)
        seeds = [first + r for r in range(args.replicas)]
        task = exp.task().coded(*cfg.targets)
        net = exp.initial_network(seeds)
        where = (f"initial weights from {Path(cfg.init_file or '').name} (the same for every "
                 f"replica)" if cfg.init == "file" else
                 f"initial weights ({cfg.init}) from seeds {', '.join(map(str, seeds))}")
    else:
        replicas = checkpoint.weights_meta(args.weights).get("replicas")
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 1:
            raise FileFormatError(f"{args.weights}: the weight file does not say how many "
                                  "replicas it holds")
        exp.check_size(replicas, {"replicas": f"the replicas of {args.weights}"},
                       training=False)
        task = exp.task().coded(*cfg.targets)
        net = exp.network(replicas=replicas)
        checkpoint.load_weights(args.weights, net)
        where = f"weights from {args.weights} ({replicas} replica{'s' if replicas > 1 else ''})"
    report = gradcheck(
        net, task.inputs, task.targets, make_error(cfg.error, cfg), task.care,
        eps=args.eps, tie_rule=cfg.tie_rule, threshold=args.threshold,
    )
    print(f"{exp.name}: {exp.title}")
    print(f"error {cfg.error} on {task.n_cases} cases of task {task.name!r}, {where}")
    print()
    print(report.format())
    return 0 if report.passed else 1
