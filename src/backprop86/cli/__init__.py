"""The command line (DESIGN §7).

Tables go to stdout, progress to stderr. Exit codes: 0 ok, 2 bad usage or input
(one clear line on stderr, no traceback), 1 anything else.

Each subcommand lives in a small module of :mod:`backprop86.cli.commands` that
provides ``add_parser(subparsers)`` and ``main(args) -> int``; this module loads
only the one named on the command line. :mod:`.args` holds what the subcommands
share (the usage error, argument types) and :mod:`.progress` the progress bar.
The command line is a client: nothing else in the package imports it.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from backprop86.cli.args import Parser, UsageError, positive_int
from backprop86.errors import Backprop86Error
from backprop86.switches import check_environment
from backprop86.threads import set_threads
from backprop86.version import __version__

#: Subcommands, in the order ``--help`` lists them, and their modules.
COMMANDS = {
    "xor": "backprop86.cli.commands.xor",
    "list": "backprop86.cli.commands.list",
    "run": "backprop86.cli.commands.run",
    "sweep": "backprop86.cli.commands.sweep",
    "gradcheck": "backprop86.cli.commands.gradcheck",
    "verify": "backprop86.cli.commands.verify",
    "trace": "backprop86.cli.commands.trace",
    "reproduce": "backprop86.cli.commands.reproduce",
    "fit": "backprop86.cli.commands.fit",
    "predict": "backprop86.cli.commands.predict",
    "serve": "backprop86.cli.commands.serve",
}


#: Subcommands that train, and so take ``--threads N`` (:mod:`backprop86.threads`).
THREADED = ("xor", "run", "sweep", "reproduce", "fit")


def build_parser(only: str | None = None) -> Parser:
    """The parser; ``only`` names the one subcommand to load (start-up cost), ``None`` all."""
    parser = Parser(
        prog="backprop86",
        description="Backpropagation as in Rumelhart, Hinton & Williams (1986), in NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"backprop86 {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name, module in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(module).add_parser(sub)
    for name in THREADED:
        if name in sub.choices:
            sub.choices[name].add_argument(
                "--threads", type=positive_int, metavar="N",
                help="threads for NumPy's BLAS and numba's loops (default: one per core free "
                     "now; also BACKPROP86_THREADS)")
    return parser


def _command_in(argv: Sequence[str] | None) -> str | None:
    """The subcommand named on the command line, when it is a known one (else ``None``)."""
    words = list(sys.argv[1:] if argv is None else argv)
    first = next((w for w in words if not w.startswith("-")), None)
    return first if first in COMMANDS and words and words[0] == first else None


class _Stderr(logging.Handler):
    """The package's notes (``logging.getLogger("backprop86")``, e.g. numba compiling) on
    whatever ``sys.stderr`` is when they are made, one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"backprop86: {record.getMessage()}", file=sys.stderr)


def _show_notes() -> None:
    log = logging.getLogger("backprop86")
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        log.addHandler(_Stderr())
    log.setLevel(logging.INFO)


class _StdoutGuard:
    """Standard output that survives a reader who stops early (``| head``, quitting ``less``).

    Tables go to stdout before a command writes its files; if the reader has gone, the
    first write raises ``BrokenPipeError``. Instead of ending the command there (and
    losing ``--json``, ``--weights``, models not yet written), stdout is pointed at the
    null device and the command carries on to the end.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_null()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_null()

    def _to_null(self) -> None:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, self._stream.fileno())
        finally:
            os.close(null)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``backprop86`` command."""
    _show_notes()
    stdout = sys.stdout
    sys.stdout = _StdoutGuard(stdout)  # type: ignore[assignment]
    try:
        return _main(argv)
    finally:
        sys.stdout = stdout


def _main(argv: Sequence[str] | None) -> int:
    try:
        parser = build_parser(_command_in(argv))
        args = parser.parse_args(argv)
        check_environment()  # a misspelt or mistyped BACKPROP86_* switch: one line, now
        set_threads(getattr(args, "threads", None))
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


__all__ = ["COMMANDS", "build_parser", "main"]
