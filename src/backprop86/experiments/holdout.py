"""Held-out cases: a train/test split drawn for every replica, and the test score.

An experiment's ``[split]`` table asks for it (family trees: 100 of the 104
cases trained, 4 held out)::

    [split]
    holdout = 4          # cases left out of training and scored afterwards (0: none)
    pool = "single"      # draw them among cases with one correct answer ("all": any case;
                         # "apart": one-answer cases of which no two share an input unit)
    # seed = 7           # one split for every replica; without it each replica r
                         # draws its own from the "split" stream of seeds[r]

or names the held-out cases by their labels, the same for every replica (sequence
completion: PDP's five test sequences)::

    [split]
    cases = ["AD", "BE", "CA", "DB", "EC"]

Replica ``r`` trains on its own training cases (every replica has the same
number of them, so the trainer stacks them into ``(R, N, n)`` arrays) and is
then scored on its own held-out cases. A held-out case is *correct* when every
output is on the target's side of the midpoint ``mid`` of the two target
values: the right answer above 0.5 and every other output below 0.5 (CogSci
1986, the family-tree generalisation test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop86 import fmt
from backprop86.analysis.statistics import wilson
from backprop86.arrays import Array
from backprop86.engine import on_target
from backprop86.errors import ConfigError
from backprop86.init import rng_for
from backprop86.network import Network
from backprop86.tasks.base import Task

POOLS = ("all", "single", "apart")


@dataclass(frozen=True)
class Split:
    """Per-replica training and held-out tasks; ``test_index`` ``(R, k)`` indexes the full task."""

    train: tuple[Task, ...]
    test: tuple[Task, ...]
    test_index: Array


def eligible(task: Task, pool: str) -> Array:
    """Indices of the cases that may be held out: all, or those with exactly one target on
    (``single`` and ``apart``)."""
    if pool not in POOLS:
        raise ConfigError(f"[split] pool must be one of {', '.join(POOLS)}, got {pool!r}")
    if pool == "all":
        return np.arange(task.n_cases)
    return np.flatnonzero((task.targets >= 0.5).sum(axis=1) == 1)


def draw(task: Task, holdout: int, seed: int, pool: str = "single") -> Array:
    """The ``holdout`` case indices (sorted) drawn from the ``"split"`` stream of ``seed``.

    ``apart``: the eligible cases in a random order, each taken unless it shares an
    input unit that is on with a case already taken (family trees: no two held-out
    cases with the same person1 or the same relation).
    """
    cases = eligible(task, pool)
    if isinstance(holdout, bool) or not isinstance(holdout, int) or not 0 < holdout < len(cases):
        raise ConfigError(
            f"[split] holdout must be an integer between 1 and {len(cases) - 1} "
            f"(task {task.name!r} has {len(cases)} eligible cases), got {holdout!r}"
        )
    rng = rng_for(int(seed), "split")
    if pool != "apart":
        return np.sort(rng.choice(cases, size=holdout, replace=False))
    taken: list[int] = []
    used = np.zeros(task.n_inputs, dtype=bool)
    for case in rng.permutation(cases):
        on = task.inputs[case] != 0
        if not (used & on).any():
            taken.append(int(case))
            used |= on
            if len(taken) == holdout:
                return np.sort(np.array(taken))
    raise ConfigError(
        f"[split] pool 'apart': task {task.name!r} has no {holdout} one-answer cases of which "
        "no two share an input unit; hold out fewer or use pool 'single'"
    )


def named(task: Task, spec: dict[str, Any]) -> Array:
    """The indices (sorted) of the cases ``spec["cases"]`` names by label; ``cases`` is
    alone in its table (no ``holdout``, ``pool`` or ``seed``)."""
    cases = spec["cases"]
    others = sorted(set(spec) & {"holdout", "pool", "seed"})
    if others:
        raise ConfigError(f"[split]: cases names the held-out cases; {', '.join(others)} "
                          "would draw others — give one or the other")
    if (not isinstance(cases, list) or not cases
            or not all(isinstance(c, str) for c in cases)):
        raise ConfigError(f"[split] cases must be a list of case labels, got {cases!r}")
    where = {label: i for i, label in enumerate(task.labels)}
    unknown = [c for c in cases if c not in where]
    if unknown:
        raise ConfigError(f"[split] cases: task {task.name!r} has no case labelled "
                          f"{', '.join(map(repr, unknown))}")
    if len(set(cases)) != len(cases):
        raise ConfigError(f"[split] cases names a case twice: {cases!r}")
    if len(cases) >= task.n_cases:
        raise ConfigError(f"[split] cases holds out all {task.n_cases} cases of task "
                          f"{task.name!r}; leave some to train on")
    return np.sort(np.array([where[c] for c in cases]))


def make_split(task: Task, seeds: list[int], spec: dict[str, Any]) -> Split | None:
    """Draw each replica's held-out cases as the ``[split]`` table ``spec`` says.

    ``holdout = 0`` (e.g. ``--set holdout=0``) means no split: ``None``, train on every case.
    """
    unknown = set(spec) - {"holdout", "pool", "seed", "cases"}
    if unknown:
        raise ConfigError(f"[split]: unknown keys {sorted(unknown)}; "
                          "expected holdout, pool, seed, cases")
    if "cases" in spec:
        index = np.stack([named(task, spec)] * len(seeds))
    else:
        holdout, pool = spec.get("holdout", 0), spec.get("pool", "all")
        if holdout == 0 and not isinstance(holdout, bool):
            return None
        fixed = spec.get("seed")
        index = np.stack([
            draw(task, holdout, s if fixed is None else int(fixed), pool) for s in seeds
        ])
    everything = np.arange(task.n_cases)
    train = tuple(task.subset(np.setdiff1d(everything, idx)) for idx in index)
    test = tuple(task.subset(idx) for idx in index)
    return Split(train, test, index)


def correct(outputs: Array, targets: Array, mid: float = 0.5) -> Array:
    """Per case: every output on its target's side of ``mid``; ``(…, N, n)`` → ``(…, N)`` bool."""
    return on_target(outputs, targets, None, mid).all(axis=-1)


def score(net: Network, split: Split, mid: float = 0.5) -> dict[str, Any]:
    """Each replica's held-out cases scored with its own weights.

    Returns ``correct`` ``(R,)`` counts, their ``mean`` out of ``cases``, the
    distribution of counts ``0 … cases``, the fraction of all held-out cases
    answered correctly with a Wilson 95 % interval (over ``R × cases`` cases,
    which treats cases as independent), and the rate of replicas with every
    held-out case right. A published claim with ``metric = "heldout"``
    (:mod:`backprop86.experiments.claims`) is judged on ``fraction``.
    """
    X = np.stack([t.inputs for t in split.test])  # (R, k, n_in)
    D = np.stack([t.targets for t in split.test])  # (R, k, n_out), 0/1 targets
    ok = correct(net.predict(X), D, mid)  # (R, k)
    return score_counts(ok.sum(axis=1), ok.shape[1])


def score_counts(counts: Array, k: int) -> dict[str, Any]:
    """:func:`score`'s summary from each replica's count of held-out cases right ``(R,)``,
    out of ``k`` each (a sweep trained in chunks joins the chunks' counts and calls this)."""
    counts = np.asarray(counts, dtype=np.int64)
    total, size = int(counts.sum()), counts.size * k
    return {
        "cases": k,
        "correct": counts.tolist(),
        "mean": float(counts.mean()),
        "fraction": total / size,
        "fraction_ci95": list(wilson(total, size)),
        "distribution": np.bincount(counts, minlength=k + 1).tolist(),
        "all_correct_rate": float(np.mean(counts == k)),
    }


def heldout_rows(h: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows ``(label, value)`` of the run table: the held-out score and its spread over replicas."""
    lo, hi = h["fraction_ci95"]
    dist = ", ".join(f"{n}/{h['cases']}: {c}" for n, c in enumerate(h["distribution"]))
    return [
        ("held-out correct (mean)", f"{h['mean']:.2f}/{h['cases']} per replica "
                                    f"= {h['fraction']:.1%} of cases ({fmt.ci(lo, hi)})"),
        ("held-out per replica", dist),
    ]
