"""Settings written as text: on/off words, environment switches and ``KEY=VALUE`` assignments.

One reading for every place that takes such text, so that a word means the same
thing in a TOML file, after ``--set`` and in the environment:

* on: ``1``, ``true``, ``yes``, ``on``; off: ``0``, ``false``, ``no``, ``off``
  (any case, surrounding spaces ignored); any other word is an error that names
  the setting and the words it accepts;
* an environment switch that is unset or empty takes its default; every
  ``BACKPROP86_*`` switch is listed in :data:`SWITCHES` with the values it
  takes, and :func:`check_environment` refuses an unknown one, or a known one
  with a value it does not take (the command line calls it before any work);
* ``KEY=VALUE`` splits at the first ``=``; the key loses surrounding spaces and
  its dashes become underscores (``init-scale`` is ``init_scale``); in one list
  of assignments (:func:`assignments`) a key may be given once.

This module imports only :mod:`backprop86.errors`, so every layer may use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from backprop86.errors import ConfigError

#: Words read as true and as false.
ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")


def parse_bool(text: object, name: str) -> bool:
    """``text`` read as on or off; a word that is neither raises :class:`ConfigError`.

    ``text`` is usually a string; a ``bool`` is returned as it is, and other values
    (a TOML integer) are read through ``str``. The error names ``name``:
    ``"bias must be true or false (or yes/on, no/off, 1/0), got 'maybe'"``.
    """
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false (or {'/'.join(ON_WORDS[2:])}, "
                      f"{'/'.join(OFF_WORDS[2:])}, 1/0), got {text!r}")


def env_flag(name: str, default: bool) -> bool:
    """The environment switch ``name``: ``default`` when unset or empty, else :func:`parse_bool`.

    ``BACKPROP86_PROGRESS=off`` is off, ``=1`` is on; ``=maybe`` is an error.
    """
    text = os.environ.get(name, "")
    if not text.strip():
        return default
    return parse_bool(text, name)


def split_assignment(item: str, option: str = "--set", form: str = "KEY=VALUE") -> tuple[str, str]:
    """``"init-scale = 0.5"`` → ``("init_scale", " 0.5")``: the key normalised, the value as given.

    ``option`` and ``form`` name the command-line option in the error raised when
    ``item`` has no ``=`` or no key: ``"--set expects KEY=VALUE, got 'lr'"``.
    """
    key, eq, value = item.partition("=")
    key = key.strip().replace("-", "_")
    if not eq or not key:
        raise ConfigError(f"{option} expects {form}, got {item!r}")
    return key, value


def assignments(items: Sequence[str], option: str = "--set",
                form: str = "KEY=VALUE") -> list[tuple[str, str]]:
    """Each of ``items`` split by :func:`split_assignment`; a key given twice is refused,
    naming both: ``"--set gives lr twice (lr=0.1 and lr=0.2); give each setting once"``."""
    out: list[tuple[str, str]] = []
    first: dict[str, str] = {}
    for item in items:
        key, value = split_assignment(item, option, form)
        if key in first:
            raise ConfigError(f"{option} gives {key} twice ({first[key]} and {item.strip()}); "
                              "give each setting once")
        first[key] = item.strip()
        out.append((key, value))
    return out


# ----------------------------------------------------------------------------
# Environment switches
# ----------------------------------------------------------------------------

#: The words an on/off switch takes, as the README lists them.
ON_OFF = f"on: {', '.join(ON_WORDS)}; off: {', '.join(OFF_WORDS)} (any case)"


def _on_off(name: str, value: str) -> None:
    if value.strip() and value.strip().lower() not in (*ON_WORDS, *OFF_WORDS):
        raise ConfigError(f"environment switch {name}={value!r} is neither on nor off; "
                          f"it takes {ON_OFF}, or empty for its default")


def _thread_count(name: str, value: str) -> None:
    word = value.strip()
    if word and (not word.isdigit() or int(word) < 1):
        raise ConfigError(f"environment switch {name}={value!r} is not a thread count; it takes "
                          "a whole number, 1 or more, or empty to choose from the free cores")


def _any_text(name: str, value: str) -> None:
    """A switch whose value is free text (written by the program that reads it)."""


@dataclass(frozen=True)
class Switch:
    """A ``BACKPROP86_*`` environment variable: who reads it, the values it takes in words,
    and the check of a value (raises :class:`ConfigError`)."""

    name: str
    reader: str
    values: str
    check: Callable[[str, str], None]


#: Every environment switch of the project; any other ``BACKPROP86_*`` variable is refused.
SWITCHES: dict[str, Switch] = {s.name: s for s in (
    Switch("BACKPROP86_PROGRESS", "the command line: progress bars on stderr",
           f"{ON_OFF}; unset or empty: on when stderr is a terminal", _on_off),
    Switch("BACKPROP86_REQUIRE_TORCH", "the test suite: the PyTorch cross-checks must run, "
           "not skip (CI sets it)", f"{ON_OFF}; unset or empty: off", _on_off),
    Switch("BACKPROP86_REQUIRE_BROWSER", "the test suite: the web page's server and browser "
           "tests (Starlette, uvicorn, Playwright, the system's Chromium) must run, not skip "
           "(CI sets it)", f"{ON_OFF}; unset or empty: off", _on_off),
    Switch("BACKPROP86_THREADS", "training: threads of NumPy's BLAS and numba's parallel "
           "loops (backprop86.threads; the command line's --threads overrides it)",
           "a whole number, 1 or more; unset or empty: one per core free now", _thread_count),
    Switch("BACKPROP86_BENCH_BLAS_ENV", "benchmarks/run.py, which sets it when it re-executes "
           "itself", "any text (the OpenBLAS variables it removed, or 'kept')", _any_text),
)}


def check_environment(environ: Mapping[str, str] | None = None) -> None:
    """Refuse, in one line, a ``BACKPROP86_*`` variable that is not a known switch
    (``BACKPROP86_FAST=banana``) or a known switch with a value it does not take
    (``BACKPROP86_PROGRESS=banana``). ``environ`` defaults to ``os.environ``."""
    env = os.environ if environ is None else environ
    for name in sorted(env):
        if not name.startswith("BACKPROP86_"):
            continue
        switch = SWITCHES.get(name)
        if switch is None:
            known = ", ".join(SWITCHES)
            raise ConfigError(f"unknown environment switch {name}={env[name]!r}; the "
                              f"BACKPROP86_ switches are {known} (unset it, or fix its name)")
        switch.check(name, env[name])
