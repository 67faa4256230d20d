"""Settings written as text: on/off words, environment switches and ``KEY=VALUE`` assignments.

One reading for every place that takes such text, so that a word means the same
thing in a TOML file, after ``--set`` and in the environment:

* on: ``1``, ``true``, ``yes``, ``on``; off: ``0``, ``false``, ``no``, ``off``
  (any case, surrounding spaces ignored); any other word is an error that names
  the setting and the words it accepts;
* an environment switch that is unset or empty takes its default;
* ``KEY=VALUE`` splits at the first ``=``; the key loses surrounding spaces and
  its dashes become underscores (``init-scale`` is ``init_scale``).

This module imports only :mod:`backprop86.errors`, so every layer may use it.
"""

from __future__ import annotations

import os

from backprop86.errors import ConfigError

#: Words read as true and as false.
ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")


def parse_bool(text: object, name: str) -> bool:
    """``text`` read as on or off; a word that is neither raises :class:`ConfigError`.

    ``text`` is usually a string; a ``bool`` is returned as it is, and other values
    (a TOML integer) are read through ``str``. The error names ``name``:
    ``"bias must be true or false, got 'maybe'"``.
    """
    if isinstance(text, bool):
        return text
    word = str(text).strip().lower()
    if word in ON_WORDS:
        return True
    if word in OFF_WORDS:
        return False
    raise ConfigError(f"{name} must be true or false, got {text!r}")


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
