"""How many threads a run computes on: the cores free for it now, not the cores the machine has.

NumPy's BLAS (OpenBLAS, MKL) and numba's parallel loops start one thread per
core of the machine. On a machine shared with other work that is too many: a
matrix product or a parallel loop split into equal parts finishes when its
slowest part does, and a part whose thread shares its core with another
process runs at half speed, so the whole operation does. (Measured here on 2
cores with one kept busy by another process: a 784-256-10 epoch took 2.7×
as long with 2 BLAS threads as idle; with 1 thread it is one core's work.)

The rule, for a run large enough to be threaded at all (:data:`THREADED_WORK`)::

    threads = max(1, allowed − busy)

* ``allowed``: the cores this process may run on (``os.sched_getaffinity``,
  which a container's CPU set or ``taskset`` narrows; else ``os.cpu_count()``);
* ``busy``: the threads of *other* processes that are running or waiting to
  run now: the kernel's count of runnable threads (``/proc/loadavg``'s fourth
  field, ``running/total``) less this process's own runnable threads
  (``/proc/self/task/*/stat``), the median of :data:`SAMPLES` readings
  :data:`SAMPLE_GAP` seconds apart (≈ 5 ms in all), so a process that runs
  only now and then does not count while one that keeps a core busy does.

Why not the load average: it is a mean over the last minute that counts this
process's own past threads, so right after a threaded run on an idle machine
it reads ≈ 2 and would take a core away that is free; the runnable count is
the state now. Where ``/proc`` cannot be read (not Linux) ``busy`` is 0.

Overrides, strongest first: :func:`set_threads` (the command line's
``--threads N``), the environment switch ``BACKPROP86_THREADS=N``; either
fixes the count whatever the load. The count is applied while a run trains
(:func:`limited`): to NumPy's BLAS through threadpoolctl and to numba's
parallel loops through ``numba.set_num_threads`` (when numba is loaded), and
the previous counts are restored afterwards. Thread counts change how fast a
run is, never its numbers: every engine's results are the same at any count
(``tests/test_threads.py``).

This module imports only :mod:`backprop86.errors`, so every layer may use it.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from backprop86.errors import ConfigError

#: The environment switch that fixes the thread count (a whole number ≥ 1; empty: chosen).
THREADS_ENV = "BACKPROP86_THREADS"
#: Multiply-adds per sweep (replicas × cases × parameters) below which a run is left as it is:
#: BLAS runs such small products on one thread and numba's parallel loop is not used (it
#: starts at 1,000 replicas of a 2-2-1 net: 1,000 × 4 × 9 = 36,000), so reading the load
#: (≈ 5 ms) would cost more than it can save.
THREADED_WORK = 20_000
#: Readings of the runnable count, and the seconds between them.
SAMPLES = 5
SAMPLE_GAP = 0.001

_override: int | None = None


#: The most threads a run may be given (BLAS and numba take a C int; no machine has more cores).
MAX_THREADS = 4096


def whole_threads(text: object, name: str) -> int:
    """``text`` as a thread count (a whole number 1 … :data:`MAX_THREADS`), else a
    ConfigError naming ``name``."""
    word = str(text).strip()
    if not word.isdigit() or int(word) < 1:
        raise ConfigError(f"{name} must be a whole number of threads, 1 or more, got {text!r}")
    if len(word) > 6 or int(word) > MAX_THREADS:
        raise ConfigError(f"{name} must be at most {MAX_THREADS:,} threads, got {text!r}")
    return int(word)


def set_threads(n: int | None) -> None:
    """Fix the thread count of every later run of this process (``None``: choose it again)."""
    global _override
    _override = None if n is None else whole_threads(n, "--threads")


def allowed_cores() -> int:
    """Cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _runnable_total() -> int | None:
    """Threads of the whole machine running or waiting for a core now (``/proc/loadavg``)."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def _runnable_own() -> int:
    """This process's threads in state R (running or runnable), this reading thread included."""
    count = 0
    try:
        tasks = list(Path("/proc/self/task").iterdir())
    except OSError:
        return 1
    for task in tasks:
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended since the listing
        # the state follows the command name, which is in parentheses and may hold spaces
        if stat[stat.rindex(")") + 2:].startswith("R"):
            count += 1
    return max(count, 1)


def busy_elsewhere(samples: int = SAMPLES, gap: float = SAMPLE_GAP) -> int:
    """Runnable threads of other processes now: the median of ``samples`` readings."""
    readings = []
    for i in range(samples):
        if i:
            time.sleep(gap)
        total = _runnable_total()
        if total is None:
            return 0
        readings.append(max(0, total - _runnable_own()))
    return int(statistics.median_low(readings))


def choose(work: int) -> int | None:
    """Threads for a run of ``work`` multiply-adds per sweep; ``None``: leave the counts as they
    are (a run too small to be threaded, with no override)."""
    if _override is not None:
        return _override
    text = os.environ.get(THREADS_ENV, "")
    if text.strip():
        return whole_threads(text, THREADS_ENV)
    if work < THREADED_WORK:
        return None
    allowed = allowed_cores()
    return max(1, allowed - busy_elsewhere())


_controller = None
#: ``len(sys.modules)`` when :data:`_controller` was made: a BLAS loaded since (SciPy's own
#: OpenBLAS, brought in by an import) came with new modules, so the view is made again.
_modules_seen = -1


def _blas():
    """threadpoolctl's view of the thread pools loaded in this process (made again, ≈ 2 ms,
    only when modules were imported since the last one)."""
    global _controller, _modules_seen
    if _controller is None or len(sys.modules) != _modules_seen:
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
        _modules_seen = len(sys.modules)
    return _controller


@contextmanager
def limited(n: int | None) -> Iterator[int | None]:
    """Run the block with ``n`` BLAS threads and ``n`` numba threads (``None``: unchanged)."""
    if n is None:
        yield None
        return
    numba = sys.modules.get("numba")  # only if an engine loaded it: never imported for this
    before = None
    if numba is not None:
        before = numba.get_num_threads()
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        with _blas().limit(limits=n, user_api="blas"):
            yield n
    finally:
        if before is not None:
            numba.set_num_threads(before)
