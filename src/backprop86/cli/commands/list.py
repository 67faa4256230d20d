"""``backprop86 list``: the shipped experiments, one a line: name, then source."""

from __future__ import annotations

import argparse

from backprop86 import experiments, fmt


def add_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("list", help="list the shipped experiments",
                   description="List the shipped experiments: name, then source.")


def main(args: argparse.Namespace) -> int:
    exps = [experiments.load(name) for name in experiments.names()]
    for line in fmt.table([(e.name, e.source or e.title) for e in exps], "<<"):
        print(line)
    return 0
