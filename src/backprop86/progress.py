"""Progress of long runs on stderr, through tqdm when it is installed.

Progress is shown only when stderr is a terminal (or ``BACKPROP86_PROGRESS=1``)
and the run is long enough to be worth watching, so pipes and tests stay clean.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from backprop86.train import Progress


def wanted() -> bool:
    flag = os.environ.get("BACKPROP86_PROGRESS")
    if flag is not None:
        return flag not in ("0", "", "false", "no")
    return sys.stderr.isatty()


@contextmanager
def sweep_bar(total: int, label: str, work: int) -> Iterator[Progress | None]:
    """A callback for :meth:`Trainer.train` that draws a bar of sweeps; ``None`` when not wanted.

    ``work`` (replicas × sweeps × cases) decides whether the run is long enough.
    """
    if not wanted() or work < 200_000:
        yield None
        return
    try:
        from tqdm import tqdm
    except ImportError:  # progress is optional
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
