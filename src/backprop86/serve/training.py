"""One experiment trained a little at a time by the library's :class:`~backprop86.train.Trainer`.

The page wants the weights between sweeps — a few times a second while it plays, one
sweep when it steps — so the run is cut into *chunks*: before each, the trainer's
``max_sweeps`` is set to where the chunk ends and :meth:`Trainer.train` continues from
where the loop stands (the loop the CLI's checkpoints resume; every engine gives the
same numbers whether a run is trained in one call or in many). Nothing here updates a
weight: the training loop stays the library's one loop.

Replica ``r`` is trained on seed ``seeds[r]``: one replica while the page plays, up to
:attr:`Limits.seeds` for a many-seeds sweep. :meth:`Training.run_record` gives the
:class:`~backprop86.experiments.runner.Run` the published claims are judged on.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from backprop86.analysis.checks import run_checks
from backprop86.analysis.failures import classify_failures, count_kinds
from backprop86.analysis.summary import summarize
from backprop86.engine import within
from backprop86.experiments import Experiment
from backprop86.experiments.claims import describe_measured, judge
from backprop86.experiments.holdout import Split, make_split
from backprop86.experiments.holdout import score as heldout_score
from backprop86.experiments.runner import Run
from backprop86.tasks import Task
from backprop86.train import Trainer, TrainResult

#: Seconds one chunk aims to take: the page sees a new picture about this often.
CHUNK_SECONDS = 0.15


class Training:
    """``exp`` trained on ``seeds`` chunk by chunk; thread-safe (one chunk at a time)."""

    def __init__(self, exp: Experiment, seeds: list[int]) -> None:
        self.exp, self.seeds = exp, list(seeds)
        self.task: Task = exp.task()
        self.split: Split | None = (make_split(self.task, self.seeds, exp.split_spec())
                                    if exp.split else None)
        self.net = exp.network(replicas=len(self.seeds))
        trained_on = self.task if self.split is None else self.split.train
        self.trainer = Trainer(self.net, trained_on, exp.config, self.seeds)
        self.cap = exp.config.max_sweeps
        self.result: TrainResult | None = None
        self.lock = threading.Lock()
        self._chunk = 1
        self.seconds = 0.0

    @property
    def sweep(self) -> int:
        return int(self.trainer.sweep)

    @property
    def finished(self) -> bool:
        """Every replica stopped (its stopping rule or divergence), or ``max_sweeps`` done."""
        loop = self.trainer.loop
        return self.sweep >= self.cap or (loop is not None and not loop.active.any())

    def advance(self, sweeps: int | None = None) -> TrainResult:
        """Train ``sweeps`` more sweeps (``None``: as many as take about
        :data:`CHUNK_SECONDS`); the result of the weights where it ends."""
        with self.lock:
            k = self._chunk if sweeps is None else max(1, int(sweeps))
            end = min(self.sweep + k, self.cap)
            self.trainer.config = self.exp.config.replace(max_sweeps=max(end, 1))
            started = time.perf_counter()
            try:
                self.result = self.trainer.train()
            finally:
                self.trainer.config = self.exp.config
            spent = time.perf_counter() - started
            self.seconds += spent
            if sweeps is None:  # aim the next chunk at CHUNK_SECONDS
                rate = k / max(spent, 1e-4)
                self._chunk = int(min(max(1, rate * CHUNK_SECONDS), 2 * k + 1, 100_000))
            return self.result

    def wait(self) -> None:
        """Return when no chunk is training."""
        with self.lock:
            pass

    def stop(self) -> None:
        """End the chunk in progress after its current sweep (the server is stopping)."""
        self.trainer.request_stop()

    # ------------------------------------------------------------------ what it measured

    def summary(self) -> dict[str, Any]:
        """The run's summary so far (:func:`backprop86.analysis.summary.summarize`; sweep
        counts censored at the sweeps done) with the failures grouped by kind."""
        r = self.current()
        out = summarize(r, max(self.sweep, 1))
        out["failures"] = count_kinds(self.failure_kinds())
        out["sweeps_done"] = self.sweep
        out["finished"] = self.finished
        out["seconds"] = self.seconds
        return out

    def failure_kinds(self) -> list[str | None]:
        """What each replica gets wrong now (:func:`~backprop86.analysis.failures.failure_kind`)."""
        r, cfg = self.current(), self.exp.config
        rule = {"mid": cfg.mid, "margin": cfg.solve_margin,
                "near": 0.1 * (cfg.targets[1] - cfg.targets[0])}
        if self.split is None:
            coded = self.task.coded(*cfg.targets)
            return classify_failures(r.final_outputs, coded.targets, self.task.labels,
                                     diverged=r.diverged, care=self.task.care, **rule)
        kinds: list[str | None] = []
        for i, own in enumerate(self.split.train):
            own = own.coded(*cfg.targets)
            kinds += classify_failures(r.final_outputs[i:i + 1], own.targets, own.labels,
                                       diverged=r.diverged[i:i + 1], care=own.care, **rule)
        return kinds

    def times_to_solve(self) -> list[int]:
        """The first solved sweep of every replica that has solved so far."""
        r = self.current()
        return r.first_solved[r.first_solved > 0].astype(int).tolist()

    def run_record(self, *, with_checks: bool) -> Run:
        """The run so far as the runner records it: what the published claims are judged on
        (``with_checks``: the experiment's checks of the trained nets, which take a while)."""
        r = self.current()
        summary = summarize(r, max(self.sweep, 1))
        if self.split is not None:
            summary["heldout"] = heldout_score(self.net, self.split, self.exp.config.mid)
        checks = (run_checks(self.exp.checks, self.net, self.task)
                  if with_checks and self.exp.checks else {})
        return Run(self.exp, self.seeds, self.task, self.net, r, summary, self.split,
                   self.trainer, checks)

    def claims(self) -> list[dict[str, Any]]:
        """Each published claim of the experiment beside what this run measures so far: the
        claim's words and source, the measured numbers in words, and the verdict."""
        claims = self.exp.claims
        if not claims:
            return []
        finished = self.finished
        record = self.run_record(with_checks=finished)
        out = []
        for claim in claims:
            what = claim.get("what") or claim.get("metric") or claim.get("check") or "claim"
            row = {"what": what, "published": claim.get("value"),
                   "kind": claim.get("kind", "single-run"),
                   "source": claim.get("source", self.exp.source)}
            needs_checks = claim.get("kind") == "check" or str(
                claim.get("metric", "")).startswith("check:")
            if needs_checks and not finished:
                row.update(verdict=None, measured="judged when the run ends (a check of the "
                                                  "trained networks)")
            else:
                verdict = judge(claim, record)
                if verdict is None:
                    row.update(verdict=None, measured="no published value to compare")
                else:
                    row.update(verdict=verdict["verdict"], rule=verdict["rule"],
                               measured=describe_measured(verdict["measured"]))
            row["so_far"] = not finished
            out.append(row)
        return out

    def current(self) -> TrainResult:
        """The result of the weights as they stand (the initial weights before any sweep)."""
        return self._initial() if self.result is None else self.result

    def _initial(self) -> TrainResult:
        """The initial weights as a result (sweep 0): their outputs and error, nothing solved."""
        R = self.net.replicas
        with np.errstate(all="ignore"):
            error, outputs = self.trainer.evaluate()
        cfg, zeros = self.exp.config, np.zeros(R, dtype=bool)
        solved = within(outputs, self.trainer.D, self.trainer.care, cfg.solve_margin, cfg.mid)
        return TrainResult(history=np.empty((R, 0)), sweeps=np.zeros(R, dtype=np.int64),
                           stopped=zeros, solved=solved,
                           first_solved=np.full(R, -1, dtype=np.int64), final_error=error,
                           final_outputs=outputs, diverged=zeros.copy())
