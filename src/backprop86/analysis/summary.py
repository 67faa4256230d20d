"""The summary every run reports, from its :class:`~backprop86.train.TrainResult`.

Solved count and rate with a 95 % Wilson interval, sweeps to solve and to stop,
divergences and quantiles of the final error. Sweep counts are known only for
the replicas that reached the criterion within ``max_sweeps``: the others are
right-censored. Two views are kept: the median and interquartile range over the
replicas that got there (beside their count), and quantiles over *all* replicas
with the censored ones slower than the cap (:func:`censored_quantiles`; a
quantile among them is ``None``, printed "> cap"). Neither gives the cap as a value.
"""

from __future__ import annotations

from typing import Any

from backprop86.analysis.statistics import (
    censored_quantiles,
    iqr,
    median_or_none,
    quantiles,
    wilson,
)
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.train import TrainResult

#: The sweep counts a claim or a series can be about.
SWEEP_METRICS = ("sweeps_to_solve", "sweeps_to_stop")


def sweeps_to(metric: str, result: TrainResult) -> Array:
    """Per replica that got there, as floats: ``sweeps_to_solve`` — the first sweep whose
    outputs solved the task, among the solved replicas — or ``sweeps_to_stop``."""
    if metric == "sweeps_to_solve":
        return result.first_solved[result.solved & (result.first_solved > 0)].astype(float)
    if metric == "sweeps_to_stop":
        return result.sweeps[result.stopped].astype(float)
    raise ConfigError(f"unknown metric {metric!r}; expected one of {', '.join(SWEEP_METRICS)}")


def summarize(result: TrainResult, cap: int) -> dict[str, Any]:
    """The summary every run reports: solved count, rate, 95 % CI, sweeps to solve and to stop
    (over the replicas that got there, and over all with the others censored at ``cap``)."""
    n = result.solved.size
    solved = int(result.solved.sum())
    to_solve = sweeps_to("sweeps_to_solve", result)
    to_stop = sweeps_to("sweeps_to_stop", result)
    lo, hi = wilson(solved, n)
    return {
        "seeds": n,
        "solved": solved,
        "rate": solved / n if n else 0.0,
        "ci95": [lo, hi],
        "median_sweeps_to_solve": median_or_none(to_solve),
        "sweeps_to_solve_iqr": iqr(to_solve),
        "sweeps_to_solve_all": censored_quantiles(to_solve, n, cap),
        "cap": int(cap),
        "stopped": int(result.stopped.sum()),
        "median_sweeps_to_stop": median_or_none(to_stop),
        "sweeps_to_stop_iqr": iqr(to_stop),
        "diverged": int(result.diverged.sum()),
        "final_error_quantiles": quantiles(result.final_error),
    }
