"""Progress of long runs on stderr, through tqdm (a dependency; silent if it was removed).

Progress is shown only when it is wanted — ``BACKPROP86_PROGRESS`` says so
(``1``/``on``, ``0``/``off``, …: :func:`backprop86.switches.env_flag`), and when it
is unset, when stderr is a terminal — and the run is long enough to be worth
watching, so pipes and tests stay clean. The trainer knows nothing of this: the
command line hands it the bar's update function as its ``progress`` callback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from backprop86.switches import env_flag
from backprop86.train import Progress

#: The environment switch that turns progress bars on or off.
ENV = "BACKPROP86_PROGRESS"


def wanted() -> bool:
    """Whether to draw progress: ``BACKPROP86_PROGRESS`` when set, else whether stderr is a tty."""
    return env_flag(ENV, sys.stderr.isatty())


def _tqdm() -> Any:
    """tqdm's bar class when progress is wanted and tqdm is there, else ``None`` (installed
    without its dependencies: run on, silently)."""
    if not wanted():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


@contextmanager
def sweep_bar(total: int, label: str, work: int) -> Iterator[Progress | None]:
    """A callback for :meth:`Trainer.train` that draws a bar of sweeps; ``None`` when not wanted.

    ``work`` (replicas × sweeps × cases) decides whether the run is long enough.
    """
    tqdm = _tqdm() if work >= 200_000 else None
    if tqdm is None:
        yield None
        return
    bar = tqdm(total=total, desc=label, unit="sweep", file=sys.stderr, leave=False, mininterval=0.2)

    def update(done: int, _total: int, active: int) -> None:
        bar.n = done
        bar.set_postfix_str(f"{active} training", refresh=False)
        if done == _total:
            bar.refresh()
        else:
            bar.update(0)  # redraws only when mininterval has passed

    try:
        yield update
    finally:
        bar.close()


@contextmanager
def chunk_bar(chunks: int, seeds: int, label: str, *, done_chunks: int = 0,
              done_seeds: int = 0) -> Iterator[Callable[[int], None] | None]:
    """A bar of the chunks of a sweep on a cluster, over all workers, with the seeds they
    hold: its callback takes the seeds of each chunk as it finishes; ``None`` when not
    wanted. ``done_*``: what a resumed sweep found in its journal."""
    tqdm = _tqdm()
    if tqdm is None:
        yield None
        return
    bar = tqdm(total=chunks, initial=done_chunks, desc=label, unit="chunk", file=sys.stderr,
               leave=False, mininterval=0.2)
    count = {"seeds": done_seeds}
    bar.set_postfix_str(f"{done_seeds:,}/{seeds:,} seeds", refresh=False)

    def update(chunk_seeds: int) -> None:
        count["seeds"] += chunk_seeds
        bar.set_postfix_str(f"{count['seeds']:,}/{seeds:,} seeds", refresh=False)
        bar.update(1)  # redraws only when mininterval has passed
        if bar.n == chunks:
            bar.refresh()

    try:
        yield update
    finally:
        bar.close()
