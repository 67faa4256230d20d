"""Published claims against measured runs: every kind of claim, its rule and its verdict.

An experiment's ``published`` entries (one table or an array of tables) are
*claims*. Each names a ``kind`` that fixes the rule deciding the verdict —
``reproduced``, ``within the distribution`` or ``not reproduced``:

=================  ==========================================================================
``exact``          deterministic: every seed gives exactly the value
``single-run``     one published run from an unknown seed: its percentile among *all* seeds
                   (those that never got there counted as slower than the cap) within
                   25–75, or 5–95
``median``         a reference median over many seeds: inside the measured IQR over all
                   seeds, or their 5–95 % range (censored likewise)
``upper-bound``    "in less than V": the all-seeds median below V, or the 5 % quantile
``range``          "from about L to H" over a few runs: the all-seeds median inside [L, H], or
                   the measured 5–95 % range overlapping it
``rate``           a rate: inside the measured 95 % Wilson interval; with ``trials = n``
                   (the published rate is k of only n trials) the exact one-sided binomial
                   test in the direction of the question — is a count this much better (or
                   worse) than the measured rate plausible? — p ≥ 0.25 (a typical outcome),
                   else p ≥ 0.05 (possible but unusual)
``about-rate``     "about" a rate: the Wilson interval overlaps ``value ± tolerance``
``check``          a structure seen in a published net: at least half the solved replicas
                   show it; within the distribution when at least :data:`CHECK_MIN_COUNT`
                   do and the 95 % Wilson upper bound of their fraction is ≥ 5 % (``check``
                   names one of the experiment's ``checks``, :mod:`backprop86.analysis.checks`)
=================  ==========================================================================

Times to an event (sweeps to solve or to stop) are right-censored at the cap:
every quantile and percentile counts all seeds, the censored ones slower than
the cap, and a quantile that falls among them is "> cap", never a number.

A claim's ``metric`` says what is measured: ``sweeps_to_solve`` (the first sweep
with every output on the right side of the midpoint), ``sweeps_to_stop``; for
rates ``solve_rate`` (default), ``stop_rate``, ``check:NAME`` (replicas passing
the check ``NAME``, among those it is meant for) or ``heldout`` (held-out
cases answered correctly, over every replica's ``[split]`` test cases).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from backprop86 import fmt
from backprop86.analysis.statistics import (
    binomial_tail,
    censored_percentile,
    censored_quantiles,
    wilson,
)
from backprop86.analysis.summary import sweeps_to
from backprop86.errors import ConfigError
from backprop86.train import TrainResult


class Run(Protocol):
    """What a verdict reads of a run: its experiment, its replicas' numbers, their summary
    and the checks' results (:class:`backprop86.experiments.runner.Run` is one; a sweep
    trained in chunks on a cluster is joined into one). A protocol, so that this module
    needs nothing of the runner, which imports it; ``experiment`` is an
    :class:`~backprop86.experiments.Experiment` (whose package imports this module)."""

    experiment: Any
    result: TrainResult
    summary: dict[str, Any]
    checks: dict[str, Any]

RULES = {
    "exact": "reproduced when every seed gives exactly the published value",
    "single-run": (
        "a single published run from an unknown seed, judged by its percentile among all "
        "seeds (those that never got there counted as slower than the cap; here {pct}): "
        "reproduced within the 25th–75th, within the distribution within the 5th–95th"
    ),
    "median": (
        "a reference median over many seeds: reproduced when it lies inside the measured "
        "interquartile range over all seeds (those that never got there counted as slower "
        "than the cap), within the distribution when inside their 5–95 % range"
    ),
    "upper-bound": (
        "a published upper bound: reproduced when the all-seeds median (those never there counted "
        "as slower than the cap) is below it, within the distribution when the 5 % quantile is"
    ),
    "range": (
        "a published range over a few runs: reproduced when the all-seeds median (those never "
        "there counted as slower than the cap) lies inside it, within the distribution when "
        "the measured 5–95 % range overlaps it"
    ),
    "rate": "reproduced when the published rate lies inside the measured 95 % Wilson interval",
    "rate-of-trials": (
        "the published rate is {k} of only {n} trials, {side} than the measured rate: the "
        "exact one-sided binomial test P(X {op} {k} | {n}, measured rate) = {p:.2g}: "
        "reproduced when p ≥ 0.25 (a typical outcome), within the distribution when p ≥ 0.05"
    ),
    "about-rate": (
        "the source says 'about': reproduced when the measured 95 % Wilson interval overlaps "
        "the published rate ± {tolerance:.0%}"
    ),
    "check": (
        "a structure seen in a published net: reproduced when at least half of the replicas it "
        "applies to show it, within the distribution when at least {min_count} do and the 95 % "
        "Wilson upper bound of their fraction is at least 5 % (here {hi:.1%})"
    ),
}

#: The kinds of claim, each with its rule in :data:`RULES`.
KINDS = ("exact", "single-run", "median", "upper-bound", "range", "rate", "about-rate",
         "check")

#: Replicas that must show a structure before it is "within the distribution": one could be
#: a fluke of one seed (parity 5-bit: 1 of 23).
CHECK_MIN_COUNT = 3

#: The metric of a claim that names none, by kind (else ``sweeps_to_solve``).
DEFAULT_METRIC = {"rate": "solve_rate", "about-rate": "solve_rate", "check": "check"}


def judge(claim: dict[str, Any], run: Run) -> dict[str, Any] | None:
    """The verdict on one claim: ``verdict``, ``rule``, ``metric``, ``published``, ``measured``
    (and ``kind``, ``source``, ``what``); ``None`` for a claim without a value."""
    if not claim or "value" not in claim:
        return None
    kind = claim.get("kind", "single-run")
    metric = claim.get("metric", DEFAULT_METRIC.get(kind, "sweeps_to_solve"))
    if kind == "exact":
        out = _exact(claim, metric, run)
    elif kind in ("single-run", "median", "upper-bound", "range"):
        out = _distribution(claim, kind, metric, run)
    elif kind in ("rate", "about-rate"):
        out = _rate(claim, kind, metric, run)
    elif kind == "check":
        out = _check_claim(claim, run)
    else:
        raise ConfigError(
            f"experiment {run.experiment.name!r}: unknown claim kind {kind!r}; expected one of "
            f"{', '.join(KINDS)}"
        )
    out["kind"] = kind
    out["source"] = claim.get("source", run.experiment.source)
    if "what" in claim:
        out["what"] = claim["what"]
    return out


def judge_all(run: Run) -> list[dict[str, Any]]:
    """Verdicts on every claim that applies to the run's parameters, in file order."""
    return [v for c in run.experiment.claims if (v := judge(c, run)) is not None]


# ----------------------------------------------------------------------------
# The kinds
# ----------------------------------------------------------------------------


def _exact(claim: dict[str, Any], metric: str, run: Run) -> dict[str, Any]:
    values = sweeps_to(metric, run.result)
    base = {"rule": RULES["exact"], "metric": metric, "published": claim["value"]}
    if values.size == 0:
        return {"verdict": "not reproduced", **base, "measured": None}
    every = values.size == run.result.sweeps.size and np.all(values == claim["value"])
    return {"verdict": "reproduced" if every else "not reproduced", **base,
            "measured": {"values": sorted(set(values.astype(int).tolist()))}}


def _counts(metric: str, run: Run) -> tuple[int, int]:
    """``(successes, trials)`` of a rate metric."""
    r = run.result
    if metric == "solve_rate":
        return int(r.solved.sum()), r.solved.size
    if metric == "stop_rate":
        return int(r.stopped.sum()), r.stopped.size
    if metric.startswith("check:"):
        return _check(run, metric[len("check:"):]).count(r.solved)
    if metric == "heldout" and "heldout" in run.summary:
        h = run.summary["heldout"]
        return int(sum(h["correct"])), h["cases"] * len(h["correct"])
    raise ConfigError(
        f"unknown rate metric {metric!r}; expected solve_rate, stop_rate, check:NAME "
        "or heldout (with a [split] table)"
    )


def _check(run: Run, name: str) -> Any:
    checks = getattr(run, "checks", {}) or {}
    if name not in checks:
        raise ConfigError(
            f"experiment {run.experiment.name!r}: a claim uses check {name!r}, which is not among "
            f"its checks ({', '.join(checks) or 'none'})"
        )
    return checks[name]


def _rate(claim: dict[str, Any], kind: str, metric: str, run: Run) -> dict[str, Any]:
    k, n = _counts(metric, run)
    lo, hi = wilson(k, n)
    value = float(claim["value"])
    measured = {"rate": k / n if n else 0.0, "ci95": [lo, hi], "count": [k, n]}
    if kind == "rate" and "trials" in claim:
        trials = int(claim["trials"])
        published = round(value * trials)
        better = value >= (k / n if n else 0.0)
        p = binomial_tail(published, trials, k / n, upper=better) if n else 0.0
        word = (
            "reproduced" if p >= 0.25 else "within the distribution" if p >= 0.05
            else "not reproduced"
        )
        rule = RULES["rate-of-trials"].format(k=published, n=trials, p=p,
                                              side="better" if better else "worse",
                                              op="≥" if better else "≤")
        measured["p"] = p
    elif kind == "rate":
        word = "reproduced" if lo <= value <= hi else "not reproduced"
        rule = RULES["rate"]
    else:
        tol = float(claim.get("tolerance", 0.15))
        word = "reproduced" if lo <= value + tol and hi >= value - tol else "not reproduced"
        rule = RULES["about-rate"].format(tolerance=tol)
    return {"verdict": word, "rule": rule, "metric": metric, "published": claim["value"],
            "measured": measured}


def _distribution(claim: dict[str, Any], kind: str, metric: str, run: Run) -> dict[str, Any]:
    """``single-run`` and ``median``: the value inside the IQR, else the 5–95 % range;
    ``upper-bound``: the median below the value, else the 5 % quantile."""
    values = sweeps_to(metric, run.result)
    n, cap = int(run.result.solved.size), int(run.summary["cap"])
    low, high = ((float(claim["value"][0]), float(claim["value"][1])) if kind == "range"
                 else (float(claim["value"]),) * 2)
    value = low
    q = censored_quantiles(values, n, cap)
    pct = (censored_percentile(value, values, n) if value <= cap and kind != "range"
           else None)
    measured = {"median": q["q50"], "iqr": [q["q25"], q["q75"]], "range90": [q["q05"], q["q95"]],
                "n": n, "reached": int(values.size), "cap": cap, "percentile": pct}

    def below(a: float | None, b: float) -> bool:  # a < b, with None meaning "> cap"
        return a is not None and a < b

    def at_most(a: float | None, b: float) -> bool:
        return a is not None and a <= b

    if kind == "upper-bound":
        inside, near = below(q["q50"], value), below(q["q05"], value)
    elif kind == "range":  # the median inside [low, high]; the 5–95 % range overlapping it
        inside = q["q50"] is not None and low <= q["q50"] <= high
        near = at_most(q["q05"], high) and (q["q95"] is None or low <= q["q95"])
    elif kind == "single-run":
        inside = pct is not None and 25.0 <= pct <= 75.0
        near = pct is not None and 5.0 <= pct <= 95.0
    else:  # median: inside the all-seeds IQR, else the 5–95 % range; a top of "> cap" holds
        # every value up to the cap, and says nothing of a value beyond it
        inside = at_most(q["q25"], value) and value <= (cap if q["q75"] is None else q["q75"])
        near = at_most(q["q05"], value) and value <= (cap if q["q95"] is None else q["q95"])
    word = "reproduced" if inside else "within the distribution" if near else "not reproduced"
    rule = RULES[kind].format(pct="beyond the cap" if pct is None else fmt.ordinal(pct))
    return {"verdict": word, "rule": rule, "metric": metric, "published": claim["value"],
            "measured": measured}


def _check_claim(claim: dict[str, Any], run: Run) -> dict[str, Any]:
    """``check``: the replicas passing the named check, among those it is meant for."""
    name = claim.get("check")
    if not name:
        raise ConfigError(
            f"experiment {run.experiment.name!r}: a check claim needs check = NAME"
        )
    k, n = _check(run, name).count(run.result.solved)
    hi = wilson(k, n)[1] if n else 0.0
    if n and 2 * k >= n:
        word = "reproduced"
    elif k >= CHECK_MIN_COUNT and hi >= 0.05:
        word = "within the distribution"
    else:
        word = "not reproduced"
    rule = RULES["check"].format(min_count=CHECK_MIN_COUNT, hi=hi)
    return {"verdict": word, "rule": rule, "metric": f"check:{name}",
            "published": claim["value"], "measured": {"count": [k, n], "rate": k / n if n else 0.0}}


# ----------------------------------------------------------------------------
# Text
# ----------------------------------------------------------------------------


def describe_measured(m: Any) -> str:
    """The measured side of a verdict in words."""
    if m is None:
        return "nothing (no seed reached the criterion)"
    if "values" in m:
        return "values " + ", ".join(map(str, m["values"]))
    if "ci95" in m:
        count = f"{m['count'][0]}/{m['count'][1]} = " if "count" in m else ""
        return f"rate {count}{m['rate']:.1%} ({fmt.ci(*m['ci95'])})"
    if "count" in m:
        if m["count"][1] == 0:
            return "no replica to examine (none solved)"
        return f"{m['count'][0]}/{m['count'][1]} replicas show it"
    if "cap" not in m:  # a record written before times were censored
        n = f" over {m['n']} runs" if "n" in m else ""
        return (f"median {fmt.number(m['median'])}, IQR {fmt.span(m['iqr'], fmt.number)}, "
                f"5–95% {fmt.span(m['range90'], fmt.number)}{n}")

    def one(v: float | None) -> str:
        return f"> {fmt.number(float(m['cap']))}" if v is None else fmt.number(v)

    at = m["percentile"]
    pct = "" if at is None else f"; published value at the {fmt.ordinal(at)} percentile"
    return (f"all {m['n']} seeds ({m['reached']} got there, the rest counted as slower than the "
            f"cap): median {one(m['median'])}, IQR {one(m['iqr'][0])}–{one(m['iqr'][1])}, "
            f"5–95% {one(m['range90'][0])}–{one(m['range90'][1])}{pct}")


def published_text(v: dict[str, Any]) -> str:
    """The published value in words: a range claim's ``[low, high]`` as ``low–high``."""
    if v.get("kind") == "range" and isinstance(v.get("published"), list):
        low, high = v["published"]
        return f"{fmt.number(low)}–{fmt.number(high)}"
    return str(v["published"])


def claim_lines(v: dict[str, Any]) -> list[str]:
    """Three lines per verdict: published (with source), measured, verdict and rule."""
    what = v.get("what") or v.get("metric", "")
    return [
        f"published   {what} = {published_text(v)}  ({v.get('source', '')})",
        f"measured    {describe_measured(v['measured'])}",
        f"verdict     {v['verdict']}  — {v['rule']}",
    ]


def verdict_word_and_numbers(v: dict[str, Any]) -> str:
    """The verdict with the number that decided it, for a table cell:
    ``not reproduced (p = 0.035)``, ``reproduced (40/40)``, ``within the distribution (13th)``."""
    m = v.get("measured")
    number = ""
    if isinstance(m, dict):
        if "p" in m:
            number = f"p = {m['p']:.2g}"
        elif "count" in m:
            number = f"{m['count'][0]}/{m['count'][1]}"
        elif m.get("percentile") is not None:
            number = f"{fmt.ordinal(m['percentile'])} percentile"
        elif "cap" in m:
            number = "beyond the cap"
    return f"{v['verdict']} ({number})" if number else str(v["verdict"])


def check_lines(run: Run) -> list[str]:
    """One line per check: how many replicas pass."""
    checks = getattr(run, "checks", {}) or {}
    return [f"  {c.line(run.result.solved)}" for c in checks.values()]
