"""``backprop86 list``: the shipped experiments, one a line: name, then source."""

from __future__ import annotations

import argparse

from backprop86 import experiments


def add_parser(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("list", help="list the shipped experiments",
                   description="List the shipped experiments: name, then source.")


def main(args: argparse.Namespace) -> int:
    exps = [experiments.load(name) for name in experiments.names()]
    width = max(len(e.name) for e in exps)
    for e in exps:
        print(f"{e.name:<{width}}  {e.source or e.title}")
    return 0
