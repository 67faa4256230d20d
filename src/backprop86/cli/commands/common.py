"""Options and output shared by the subcommands."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

from backprop86.cli.args import UsageError
from backprop86.experiments import Experiment, load


def add_experiment_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("experiment", metavar="EXPERIMENT_OR_TOML",
                   help="a shipped experiment (see `backprop86 list`) or a .toml file")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="override a setting or parameter (repeatable), e.g. --set lr=0.25")


def add_json_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", type=Path, metavar="PATH", help="write machine-readable results here")


def require_matplotlib(who_needs: str, prog: str, hint: str = "") -> None:
    """Stop with one line (exit 2) before any work when matplotlib cannot be imported.

    matplotlib is a dependency of backprop86, so this happens only in an install made
    without its dependencies (``pip install --no-deps``) or after it was removed:
    ``"--plot needs matplotlib, a dependency of backprop86 missing here: pip install
    matplotlib"``; ``hint`` names another way out.
    """
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{who_needs} matplotlib, a dependency of backprop86 missing here: "
                         f"pip install matplotlib{hint}", prog)


def experiment_from(args: argparse.Namespace) -> Experiment:
    """The experiment named on the command line, with its ``--set`` overrides applied."""
    return load(args.experiment).with_settings(args.settings)
