"""The chunks of one point joined into the run a single batch would have made.

:func:`join` concatenates the chunks' per-seed outcomes
(:func:`~backprop86.distributed.work.train_chunk`) in seed order and rebuilds
from them a :class:`~backprop86.train.TrainResult` and a
:class:`~backprop86.experiments.runner.Run` whose summary is computed by the
functions a batch's is (:func:`~backprop86.analysis.summary.summarize`, held-out
and test scores), so its verdicts (:mod:`backprop86.experiments.claims`) are
those of the whole batch. What a worker does not send back is not there: the
final outputs (the result's ``final_outputs`` is ``(R, 0, n_out)``), the full
error history (only the figure's curve columns, when asked) and the weights
(the run's ``net`` is the one kept seed's, or an untrained network).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from backprop86.analysis.checks import CheckResult
from backprop86.analysis.summary import summarize
from backprop86.experiments import Experiment
from backprop86.experiments.holdout import score_counts
from backprop86.experiments.runner import Run, test_summary
from backprop86.network import Network
from backprop86.train import TrainResult


@dataclass
class Joined:
    """One point's chunks joined: the run, each seed's columns and failure kind, the curves
    ``(R, K)`` (``None`` unless asked), the kept seed and its network, the training time
    summed over chunks."""

    run: Run
    columns: dict[str, list[Any]]
    kinds: list[str | None]
    curves: np.ndarray | None
    kept_seed: int | None
    kept_net: Network | None
    seconds: float


def join(exp: Experiment, seeds: list[int], outcomes: list[dict[str, Any]],
         engine: tuple[str, str | None]) -> Joined:
    """Join the ``outcomes`` of the chunks that cover ``seeds`` (in any order) into one run
    trained by ``engine`` (its name and why not a faster one)."""
    outcomes = sorted(outcomes, key=lambda o: o["columns"]["seed"][0])
    columns = {key: [v for o in outcomes for v in o["columns"][key]]
               for key in outcomes[0]["columns"]}
    if columns["seed"] != list(seeds):
        raise ValueError(f"the chunks cover seeds {columns['seed'][:3]}…, not the point's "
                         f"{seeds[0]}–{seeds[-1]}")
    n = len(seeds)
    n_out = exp.network(replicas=1).n_outputs
    curves = (np.array([row for o in outcomes for row in o["curves"]], dtype=float)
              if all("curves" in o for o in outcomes) else None)
    result = TrainResult(
        history=np.empty((n, 0)),  # the curves (of some seeds) are Joined.curves
        sweeps=np.array(columns["sweeps"], dtype=np.int64),
        stopped=np.array(columns["stopped"], dtype=bool),
        solved=np.array(columns["solved"], dtype=bool),
        first_solved=np.array([-1 if v is None else v for v in columns["first_solved_sweep"]],
                              dtype=np.int64),
        final_error=np.array(columns["final_error"], dtype=float),
        final_outputs=np.empty((n, 0, n_out)),
        diverged=np.array(columns["diverged"], dtype=bool),
        history_every=exp.config.history_every,
        engine=engine[0], why_not=engine[1],
    )
    cap = int(result.sweeps.max())  # as runner.run: censored where training ended
    summary = summarize(result, cap)
    if "heldout" in outcomes[0]:
        summary["heldout"] = score_counts(np.array(columns["heldout_correct"]),
                                          outcomes[0]["heldout"]["cases"])
    if "test" in outcomes[0]:
        t = outcomes[0]["test"]
        summary["test"] = test_summary(
            np.array([v for o in outcomes for v in o["test"]["accuracy"]]),
            np.array([v for o in outcomes for v in o["test"]["train_accuracy"]]),
            t["cases"], t["train_cases"])
    checks = {label: CheckResult(
        name=c["name"], title=c["title"], rule=c["rule"], among=c["among"],
        passed=np.array([v for o in outcomes for v in o["checks"][label]["passed"]], dtype=bool))
        for label, c in outcomes[0]["checks"].items()}
    kept = next((o["kept"] for o in outcomes if "kept" in o), None)
    net = exp.network(replicas=1)
    if kept is not None:
        net.set_params({name: np.array(w, dtype=net.dtype) for name, w in
                        kept["params"].items()})
    run_ = Run(exp, list(seeds), exp.task(), net, result, summary, checks=checks)
    return Joined(run_, columns, [k for o in outcomes for k in o["kinds"]], curves,
                  kept["seed"] if kept is not None else None,
                  net if kept is not None else None,
                  sum(o["seconds"] for o in outcomes))
