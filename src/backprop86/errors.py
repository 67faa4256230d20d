"""The package's exception types: every user-facing problem is a ``ValueError``.

The command line turns a :class:`Backprop86Error` into one line on stderr and
exit code 2; the API raises it unchanged, so callers can ``except ValueError``.
"""

from __future__ import annotations


class Backprop86Error(ValueError):
    """Base class: bad input or configuration, with a message naming what is wrong."""


class ConfigError(Backprop86Error):
    """An unknown or invalid setting (name, value or combination)."""


class ShapeError(Backprop86Error):
    """An array whose shape is not the one expected."""


class DataError(Backprop86Error):
    """Patterns or targets that cannot be used (NaN, inf, out of range)."""


class FileFormatError(Backprop86Error):
    """A file that is missing, truncated or not in the expected format."""


class DivergenceError(Backprop86Error):
    """Training produced a non-finite error, weight or gradient."""
