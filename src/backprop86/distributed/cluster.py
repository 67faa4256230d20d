"""The Dask client of a sweep: a cluster to run on, the chunks submitted, the outcomes collected.

:func:`connect` starts a :class:`distributed.LocalCluster` of ``workers`` processes
here (one thread each: a worker trains one chunk at a time, and NumPy's, BLAS's
and numba's threads are held to one per worker, so ``N`` workers use ``N`` cores)
or connects to the scheduler of a cluster the user runs. :func:`run_chunks`
submits every chunk not yet in the journal, appends each outcome to the journal
as it arrives, and reports progress. Fault tolerance is Dask's: the tasks of a
worker that dies (its process killed, its machine lost) are run again on
another worker, up to ``distributed.scheduler.allowed-failures`` times; an error
raised by a task is retried :data:`RETRIES` times before the sweep stops with it.
A chunk's outcome is the same whichever worker trains it, so a recomputed chunk
changes nothing.

This is the only module that imports Dask.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from backprop86.distributed.chunks import Chunk
from backprop86.distributed.journal import Journal
from backprop86.distributed.work import train_chunk
from backprop86.errors import Backprop86Error
from backprop86.experiments import Experiment

#: Retries of a task that raised an error (a worker that died is Dask's own business).
RETRIES = 2

#: Seconds to wait for the first worker of a scheduler.
CONNECT_SECONDS = 30

#: What each worker process is started with, besides Dask's own one-thread settings.
WORKER_ENV = {"NUMBA_NUM_THREADS": "1"}


class ClusterError(Backprop86Error):
    """No cluster to run on: Dask missing, a scheduler that does not answer, no workers."""


@dataclass(frozen=True)
class Cluster:
    """A client and what the result records of it: the scheduler and the workers."""

    client: Any
    scheduler: str
    workers: int


def require_dask() -> None:
    """One line when Dask is not installed."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ClusterError("--workers and --scheduler need Dask: pip install "
                           "'backprop86[distributed]'") from None


@contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start worker processes with Ctrl-C ignored (a process inherits an ignored SIGINT, and
    Python then installs no KeyboardInterrupt for it): Ctrl-C reaches the whole terminal's
    process group, and this process, not each worker printing its traceback, stops the
    sweep and closes the cluster. Outside the main thread nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextmanager
def connect(workers: int | None, scheduler: str | None) -> Iterator[Cluster]:
    """A client of a new local cluster of ``workers`` processes, or of ``scheduler``."""
    require_dask()
    from distributed import Client, LocalCluster

    if scheduler is not None:
        _check_address(scheduler)  # a malformed one: said before a client exists to hang
        try:
            # Dask's connect timeout, distributed.comm.timeouts.connect (30 s by default)
            client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"--scheduler {scheduler}: cannot connect ({exc}); expected "
                               "the address of a running Dask scheduler, e.g. "
                               "tcp://host:8786") from None
        try:
            try:
                client.wait_for_workers(1, timeout=CONNECT_SECONDS)
            except TimeoutError:
                raise ClusterError(f"--scheduler {scheduler}: no worker joined within "
                                   f"{CONNECT_SECONDS} s; start workers with "
                                   f"`dask worker {scheduler}`") from None
            yield Cluster(client, scheduler, len(client.scheduler_info()["workers"]))
        finally:
            client.close()
        return
    assert workers is not None
    with _workers_ignore_ctrl_c():
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR,
                               env=dict(WORKER_ENV))
    client = Client(cluster, set_as_default=False)
    try:
        yield Cluster(client, f"LocalCluster at {cluster.scheduler_address}", workers)
    finally:
        client.close()
        cluster.close()


def _check_address(scheduler: str) -> None:
    """Refuse a scheduler address Dask cannot read (``bogus``: no port; ``tcp://h:x``), in
    one line. A client that fails to parse it leaves a half-made object whose clean-up at
    exit waits 60 s for a loop that never started."""
    from distributed.comm.addressing import parse_address, parse_host_port

    try:
        scheme, location = parse_address(scheduler)
        if scheme in ("tcp", "tls"):
            parse_host_port(location)
        elif not scheme or not location:
            raise ValueError("expected PROTOCOL://LOCATION")
    except ValueError as exc:
        raise ClusterError(f"--scheduler {scheduler}: not a scheduler address ({exc}); expected "
                           "the address of a running Dask scheduler, e.g. tcp://host:8786"
                           ) from None


def run_chunks(cluster: Cluster, todo: list[Chunk], experiments: list[Experiment],
               engines: list[str], journal: Journal, *, curve_index: list[int] | None,
               keep_seed: int | None, curve_stride: int = 1,
               done: Callable[[Chunk, dict[str, Any]], None] | None = None) -> float:
    """Train every chunk of ``todo`` on the cluster (chunk ``c`` of point ``c.point``:
    ``experiments[c.point]`` with engine ``engines[c.point]``), appending each outcome to
    ``journal`` as it arrives, then calling ``done(chunk, outcome)``. Returns the wall
    time in seconds. Ctrl-C (KeyboardInterrupt) cancels the chunks still out and
    propagates; those already in the journal stay there."""
    from distributed import as_completed

    client = cluster.client
    started = time.perf_counter()
    run_id = uuid.uuid4().hex[:8]  # keys unique on a long-lived cluster
    futures = {}
    for chunk in todo:
        future = client.submit(
            train_chunk, experiments[chunk.point], chunk.seeds, engines[chunk.point],
            curve_index=curve_index, curve_stride=curve_stride, keep_seed=keep_seed,
            key=f"backprop86-chunk-{run_id}-{chunk.point}-{chunk.first}",
            retries=RETRIES, pure=False)
        futures[future] = chunk
    try:
        # this client's loop: as_completed otherwise takes the default client's, which
        # in a process that holds another client is not the one these futures live on
        for future in as_completed(list(futures), loop=client.loop):
            chunk = futures.pop(future)
            outcome = future.result()
            journal.append(chunk.key, outcome)
            future.release()
            if done is not None:
                done(chunk, outcome)
    except BaseException:
        client.cancel(list(futures))
        raise
    return time.perf_counter() - started
