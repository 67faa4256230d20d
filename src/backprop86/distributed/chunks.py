"""The plan of a sweep on a cluster: the engine of each point, the chunk size, the chunks.

Every chunk of a point is trained by the engine that would train the whole point
as one batch (:func:`engine_for`): ``auto`` weighs the run's size, so a chunk
left to choose for itself could take another engine, and engines of different
layouts round differently. With the engine fixed, replica ``r`` of any chunk is
the single run with its seed (DESIGN §5; ``tests/test_distributed.py``): bit for
bit on the fast engines; on the readable engine to rounding where BLAS products
of the stacked arrays round differently at another offset in memory (T–C:
≤ 1e-16 after 40 sweeps, ``tests/test_shared.py``).

The chunk size (:func:`chunk_size`) aims at a task of :data:`TASK_SECONDS`
seconds by the engines' time model
(:data:`backprop86.engine.select.SECONDS_PER_UNIT`: seconds per replica · sweep ·
case · parameter), so that Dask's per-task overhead (milliseconds) is small
beside the work, while every worker still gets work: no chunk holds more than a
``1/(2 · workers)`` share of the sweep's seeds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from backprop86.engine.select import REPLICA_LAST_MIN, SECONDS_PER_UNIT, auto
from backprop86.experiments import Experiment
from backprop86.experiments.holdout import make_split
from backprop86.train import Trainer

#: Seconds of training a task aims at.
TASK_SECONDS = 5.0


@dataclass(frozen=True)
class Chunk:
    """Seeds ``first … first + count − 1`` of point ``point`` (its index in the sweep)."""

    point: int
    first: int
    count: int

    @property
    def seeds(self) -> list[int]:
        return list(range(self.first, self.first + self.count))

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.point, self.first, self.count)


def engine_for(exp: Experiment, seeds: list[int]) -> tuple[str, str | None]:
    """The engine that trains ``seeds`` of ``exp`` as one batch, and why a faster one does
    not (``None``: none faster fits) — :func:`backprop86.engine.select.auto`'s choice for
    the whole batch, or the experiment's own ``engine`` when it names one. The trainer
    is built as :func:`~backprop86.experiments.runner.run` builds it, weights left
    unset (the choice does not read them)."""
    if exp.config.engine != "auto":
        return exp.config.engine, None
    task = exp.task()
    split = make_split(task, seeds, exp.split_spec()) if exp.split else None
    trained_on = task if split is None else split.train
    trainer = Trainer(exp.network(replicas=len(seeds)), trained_on, exp.config, seeds,
                      initialized=True)
    return auto(trainer)


def seconds_per_seed(exp: Experiment, engine: str) -> float:
    """Estimated seconds to train one seed of ``exp`` with ``engine``: sweeps × cases ×
    parameters × the engine's seconds per unit (the readable engine, which has no figure,
    is taken at the replica-last figure, the largest: it is slower still)."""
    net = exp.network(replicas=1)
    params = sum(int(w.size) for w in net.params.values())
    per_unit = SECONDS_PER_UNIT.get(engine, SECONDS_PER_UNIT["numpy-last"])
    return exp.config.max_sweeps * exp.task().n_cases * params * per_unit


def chunk_size(per_seed: list[float], seeds: int, workers: int,
               engines: list[str]) -> int:
    """Seeds per task: about :data:`TASK_SECONDS` of training for the costliest point
    (``per_seed``: each point's seconds per seed), at most a ``1/(2 · workers)`` share of
    all seeds, at least :data:`~backprop86.engine.select.REPLICA_LAST_MIN` seeds when a
    replica-last engine trains (its layout gains from many replicas), within
    ``1 … seeds``; evened out, so that a point's chunks differ by at most a seed or so
    (10,000 seeds in chunks of at most 4,006 are three of 3,334, not 4,006, 4,006 and 1,988)."""
    size = math.floor(TASK_SECONDS / max(max(per_seed), 1e-12))
    share = math.ceil(seeds * len(per_seed) / (2 * max(workers, 1)))
    size = max(1, min(size, share, seeds))
    size = math.ceil(seeds / math.ceil(seeds / size))  # as many chunks, of even sizes
    if any(e.endswith("-last") for e in engines):
        size = max(size, REPLICA_LAST_MIN)
    return min(size, seeds)


def plan(firsts: list[int], seeds: int, size: int) -> list[Chunk]:
    """The chunks of every point: point ``i``'s seeds ``firsts[i] …`` in runs of ``size``."""
    return [Chunk(i, first + start, min(size, seeds - start))
            for i, first in enumerate(firsts) for start in range(0, seeds, size)]
