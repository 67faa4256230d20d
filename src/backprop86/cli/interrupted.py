"""What a command stopped by Ctrl-C leaves behind: partial results, under names that say so.

A complete result is never replaced by a partial one. An interrupted command writes
what it has to :func:`partial_path` of each output it was asked for (``r.json`` →
``r.partial.json``, ``w.npz`` → ``w.partial.npz``, a folder ``out`` → ``out.partial``),
leaves the output itself as it was, says on stderr where the partial results went
(:func:`say_partial`), prints no verdict computed on partial numbers
(:func:`~backprop86.experiments.runner.interrupted_line` stands in their place) and exits
with :data:`INTERRUPTED`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

#: Exit status of a command stopped by Ctrl-C (128 + SIGINT).
INTERRUPTED = 130


def partial_path(path: str | Path, *, folder: bool = False) -> Path:
    """Where the partial version of output ``path`` goes: ``r.json`` → ``r.partial.json``;
    a ``folder`` (or a name without a suffix) ``out`` → ``out.partial``."""
    path = Path(path)
    if not path.name:  # "." or "/": name the folder it is
        path = path.resolve()
    if path.suffix and not folder and not path.is_dir():
        return path.with_name(f"{path.stem}.partial{path.suffix}")
    return path.with_name(f"{path.name}.partial")


def output_path(path: Path, *, complete: bool, folder: bool = False) -> Path:
    """``path`` for a complete result, :func:`partial_path` of it for a partial one."""
    return path if complete else partial_path(path, folder=folder)


def say_partial(prog: str, pairs: Sequence[tuple[Path, Path]]) -> None:
    """One line on stderr: where each output's partial version went instead of the output:
    ``backprop86 run: interrupted, so the partial results went to r.partial.json, not
    r.json``."""
    if not pairs:
        return
    went = ", ".join(str(partial) for _, partial in pairs)
    not_to = ", ".join(str(path) for path, _ in pairs)
    print(f"{prog}: interrupted, so the partial results went to {went}, not {not_to}",
          file=sys.stderr)


__all__ = ["INTERRUPTED", "output_path", "partial_path", "say_partial"]
