"""The command line (DESIGN §7).

Tables go to stdout, progress to stderr. Exit codes: 0 ok, 2 bad usage or input
(one clear line on stderr, no traceback), 1 anything else.

Each subcommand lives in a small module of :mod:`backprop86.commands` that
provides ``add_parser(subparsers)`` and ``main(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from backprop86.errors import Backprop86Error

#: Subcommands, in the order ``--help`` lists them, and their modules.
COMMANDS = {
    "xor": "backprop86.commands.xor",
    "list": "backprop86.commands.list",
    "run": "backprop86.commands.run",
    "sweep": "backprop86.commands.sweep",
    "gradcheck": "backprop86.commands.gradcheck",
    "verify": "backprop86.commands.verify",
    "trace": "backprop86.commands.trace",
    "reproduce": "backprop86.commands.reproduce",
}


class UsageError(Backprop86Error):
    """Bad command-line usage; ``prog`` names the (sub)command."""

    def __init__(self, message: str, prog: str = "backprop86") -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2, with no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.prog)


def _int_at_least(text: str, low: int, expected: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer ≥ 1."""
    return _int_at_least(text, 1, "a positive integer")


def nonnegative_int(text: str) -> int:
    """argparse type: an integer ≥ 0."""
    return _int_at_least(text, 0, "an integer ≥ 0")


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def build_parser(only: str | None = None) -> Parser:
    """The parser; ``only`` names the one subcommand to load (start-up cost), ``None`` all."""
    from backprop86 import __version__

    parser = Parser(
        prog="backprop86",
        description="Backpropagation as in Rumelhart, Hinton & Williams (1986), in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"backprop86 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
    return parser


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line, when it is a known one (else ``None``)."""
    words = list(sys.argv[1:] if argv is None else argv)
    first = next((w for w in words if not w.startswith("-")), None)
    return first if first in COMMANDS and words and words[0] == first else None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``backprop86`` command."""
    try:
        parser = build_parser(_command_in(argv))
        args = parser.parse_args(argv)
        if args.command is None:
            raise UsageError(
                f"a command is required: one of {', '.join(COMMANDS)} (see `backprop86 --help`)"
            )
        return int(importlib.import_module(COMMANDS[args.command]).main(args) or 0)
    except Backprop86Error as exc:
        prog = getattr(exc, "prog", "backprop86")
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("backprop86: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
