"""What the subcommands share on the command line: the usage error and argument types.

A :class:`UsageError` (a :class:`~backprop86.errors.Backprop86Error`) is printed
as one line naming the (sub)command, and exits with code 2; :class:`Parser`
turns argparse's own errors into one.
"""

from __future__ import annotations

import argparse

from backprop86.errors import Backprop86Error, ConfigError
from backprop86.resources import SizeError, whole_number


class UsageError(Backprop86Error):
    """Bad command-line usage; ``prog`` names the (sub)command."""

    def __init__(self, message: str, prog: str = "backprop86") -> None:
        super().__init__(message)
        self.prog = prog


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line and exit code 2, with no usage dump.

    An option that takes one value may be given once: ``--seeds 2 --seeds 3`` is
    refused rather than silently the last (:class:`StoreOnce`); repeatable options
    (``--set``, ``--grid``) say so with ``action="append"``.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.register("action", None, StoreOnce)
        self.register("action", "store", StoreOnce)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.prog)


class StoreOnce(argparse.Action):
    """argparse's ``store``, refusing a second value for the same option."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        given: dict[str, object] = namespace.__dict__.setdefault("given_options", {})
        if self.dest in given and option_string is not None:
            parser.error(f"argument {option_string}: given twice ({given[self.dest]} and "
                         f"{values}); give it once")
        given[self.dest] = values
        setattr(namespace, self.dest, values)


def _int_at_least(text: str, low: int, expected: str) -> int:
    """``text`` as an integer ≥ ``low`` and within 64 bits (:func:`whole_number`, the
    reading of every count in the package); ``1e6`` is a million."""
    try:
        return whole_number("the value", text, low)
    except SizeError:
        raise argparse.ArgumentTypeError(
            f"expected {expected} of at most 2**63 − 1, got {text!r}: too large") from None
    except ConfigError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


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
