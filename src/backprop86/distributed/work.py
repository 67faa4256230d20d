"""What a worker runs: one chunk of a point's seeds trained as one batch, and its outcome.

:func:`train_chunk` is the task Dask ships to a worker. It trains the chunk's
seeds through :func:`backprop86.experiments.runner.run` with the engine the whole
point uses, and returns a plain dict (lists, numbers, strings: what the journal
stores, one JSON line) holding for every seed of the chunk what the sweep keeps:

``columns``   each seed's outcome (:func:`~backprop86.experiments.runner.replica_columns`)
``kinds``     each seed's failure kind, ``None`` when solved
``checks``    per check the experiment lists: title, rule, ``among`` and ``passed`` per seed
``heldout``   with a ``[split]``: held-out cases per seed (their counts are in ``columns``)
``test``      with a task's own test cases: each seed's test and training accuracy
``curves``    when asked: the reported error ``(n_c, K)`` at the point's curve columns
``kept``      when asked and in this chunk: the trained weights of one seed
``seconds``   the training time; ``sweeps_done`` the sweeps the chunk's trainer ran

Floats are kept as Python floats, non-finite ones included (the journal writes
them as JSON's ``NaN``/``Infinity`` extension), so that a chunk read back from the
journal is the chunk trained, bit for bit.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from backprop86.analysis.failures import UNDECIDED
from backprop86.experiments import Experiment
from backprop86.experiments.runner import failure_kinds_of, replica_columns, run


def train_chunk(exp: Experiment, seeds: list[int], engine: str, *,
                curve_index: list[int] | None = None, curve_stride: int = 1,
                keep_seed: int | None = None) -> dict[str, Any]:
    """Train ``seeds`` of ``exp`` as one batch with engine ``engine`` and return the outcome
    (module docstring). ``curve_index``: the 0-based history columns ``(K,)`` whose error
    the figures draw (NaN past the sweeps this chunk trained), of the seeds
    ``first + k · curve_stride`` of the point (``first`` its first seed: the figures draw
    one seed in ``curve_stride``); ``keep_seed``: the seed whose weights to send back,
    when it is in this chunk."""
    exp = dataclasses.replace(exp, config=exp.config.replace(engine=engine))
    drawn = None
    if curve_index is not None:
        offset = np.asarray(seeds, dtype=np.int64) - exp.first_seed
        drawn = np.flatnonzero(offset % curve_stride == 0)
    started = time.perf_counter()
    run_ = run(exp, list(seeds), history="none" if drawn is None else "log",
               history_replicas=drawn)
    seconds = time.perf_counter() - started
    r = run_.result
    outcome: dict[str, Any] = {
        "columns": replica_columns(run_),
        "kinds": failure_kinds_of(run_, UNDECIDED),
        "checks": {label: {"name": c.name, "title": c.title, "rule": c.rule,
                           "among": c.among, "passed": [bool(v) for v in c.passed]}
                   for label, c in run_.checks.items()},
        "engine": r.engine,
        "sweeps_done": run_.sweeps_done,
        "seconds": seconds,
    }
    if "heldout" in run_.summary:
        outcome["heldout"] = {"cases": int(run_.summary["heldout"]["cases"])}
    if "test" in run_.summary:
        t = run_.summary["test"]
        outcome["test"] = {key: t[key] for key in
                           ("cases", "train_cases", "accuracy", "train_accuracy")}
    if curve_index is not None:
        index = np.asarray(curve_index, dtype=np.int64)
        assert drawn is not None and r.history_sweeps is not None
        curves = np.full((drawn.size, index.size), np.nan)
        have = np.isin(index * exp.config.history_every, r.history_sweeps)
        curves[:, have] = r.history[:, np.searchsorted(r.history_sweeps,
                                                       index[have] * exp.config.history_every)]
        outcome["curves"] = curves.tolist()
    if keep_seed is not None and keep_seed in seeds:
        i = list(seeds).index(keep_seed)
        outcome["kept"] = {"seed": keep_seed,
                           "params": {name: w[i].tolist() for name, w in run_.net.params.items()}}
    return outcome
