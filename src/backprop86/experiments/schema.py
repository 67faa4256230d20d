"""Every section of an experiment file, checked when the file is read, before any training.

:func:`validate` walks a parsed TOML document (after ``extends`` is merged) and
raises one :class:`~backprop86.errors.ConfigError` naming the file, the table
and what was expected at the first problem:

* unknown keys in every table: the top level, ``[params]`` (a parameter no
  ``"$name"`` uses), ``[task]`` (against the task generator's parameters),
  ``[network]`` (its groups and projections: :func:`backprop86.experiments.build_network`
  checks those), ``[seeds]``, ``[split]``, ``[quick]``, ``[[variants]]``,
  ``[[series]]``, ``[[published]]`` and the ``checks`` entries;
* value types: strings, lists of strings, seeds, counts;
* every published claim: its ``kind``, a ``metric`` that kind can judge, a
  ``value`` of the right type (a rate in [0, 1], a number of sweeps ≥ 0), a
  ``check`` among the experiment's checks, ``trials`` (rates only), ``tolerance``
  (``about-rate`` only), ``when`` keys that are parameters or settings with values
  of their type.

``[train]`` is checked by :meth:`backprop86.config.TrainConfig.from_dict`.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Mapping
from typing import Any

from backprop86.analysis.checks import CHECKS
from backprop86.analysis.summary import SWEEP_METRICS
from backprop86.config import TrainConfig, setting_names
from backprop86.errors import ConfigError
from backprop86.experiments.claims import KINDS
from backprop86.tasks.base import TASKS

#: Keys of the top level of an experiment file.
TOP_KEYS = ("name", "title", "source", "extends", "params", "task", "network", "train",
            "seeds", "split", "checks", "published", "deviations", "compare", "reproduce",
            "quick", "variants", "series")
SEEDS_KEYS = ("default", "first", "count")
SPLIT_KEYS = ("holdout", "pool", "seed", "cases")
QUICK_KEYS = ("seeds", "set", "variants")
VARIANT_KEYS = ("name", "set")
SERIES_KEYS = ("name", "param", "values", "set", "metric", "trend", "published", "points",
               "source")
CLAIM_KEYS = ("kind", "metric", "value", "what", "source", "when", "check", "trials",
              "tolerance")
#: Peers an experiment may ``compare`` with (:mod:`backprop86.experiments.peers`).
PEERS = ("MLPClassifier",)

#: Claim kinds judged on a time to an event, and those judged on a rate.
SWEEP_KINDS = ("exact", "single-run", "median", "upper-bound", "range")
RATE_KINDS = ("rate", "about-rate")
RATE_METRICS = ("solve_rate", "stop_rate", "heldout", "check:NAME")


def validate(raw: Mapping[str, Any], label: str) -> None:
    """Check every section of the experiment document ``raw`` (``label``: its file)."""
    where = _Where(label)
    where.keys(raw, "the top level", TOP_KEYS)
    for key in ("name", "title", "source", "extends"):
        if key in raw:
            where.string(raw[key], key)
    for key in ("deviations", "compare"):
        where.strings(raw.get(key, []), key)
    unknown = [p for p in raw.get("compare", []) if p not in PEERS]
    if unknown:
        where.fail("compare", f"unknown peer(s) {unknown}; expected some of {list(PEERS)}")
    if not isinstance(raw.get("reproduce", True), bool):
        where.fail("reproduce", f"expected true or false, got {raw['reproduce']!r}")
    params = raw.get("params", {})
    _params(where, params, raw)
    _task(where, raw.get("task"))
    where.table(raw.get("train", {}), "[train]")
    _seeds(where, raw.get("seeds", {}))
    where.keys(raw.get("split", {}), "[split]", SPLIT_KEYS)
    labels = _checks(where, raw.get("checks", []))
    variants = _variants(where, raw.get("variants", []))
    _quick(where, raw.get("quick", {}), variants)
    _series(where, raw.get("series", []), params)
    published = raw.get("published", [])
    claims = published if isinstance(published, list) else [published]
    for i, claim in enumerate(claims):
        name = "[published]" if isinstance(published, dict) else f"[[published]] #{i + 1}"
        _claim(where, claim, name, params, labels, "split" in raw)


class _Where:
    """Failing with the file's name and the table in every message."""

    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, where: str, message: str) -> None:
        raise ConfigError(f"{self.label}: {where}: {message}")

    def table(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(where, f"expected a table, got {value!r}")
        return value

    def keys(self, value: Any, where: str, known: tuple[str, ...]) -> Mapping[str, Any]:
        table = self.table(value, where)
        unknown = sorted(set(table) - set(known))
        if unknown:
            self.fail(where, f"unknown keys {unknown}; expected some of {list(known)}")
        return table

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {value!r}")
        return value

    def strings(self, value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(where, f"expected a list of strings, got {value!r}")
        return value

    def count(self, value: Any, where: str, low: int = 1) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            self.fail(where, f"expected an integer ≥ {low}, got {value!r}")
        return value

    def assignments(self, value: Any, where: str) -> list[str]:
        for item in self.strings(value, where):
            if "=" not in item:
                self.fail(where, f"expected KEY=VALUE strings, got {item!r}")
        return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


# ----------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------


def _params(where: _Where, params: Any, raw: Mapping[str, Any]) -> None:
    """Scalar values, each used as ``"$name"`` somewhere in ``[task]``, ``[network]`` or
    ``[split]``: a parameter used nowhere would be a ``--set`` that changes nothing."""
    where.table(params, "[params]")
    text = repr([raw.get("task"), raw.get("network"), raw.get("split")])
    for name, value in params.items():
        if not isinstance(value, (bool, int, float, str)):
            where.fail("[params]", f"{name} must be a number, a string or true/false, "
                                   f"got {value!r}")
        if name in setting_names():
            where.fail("[params]", f"{name!r} is a training setting; set it in [train]")
        if not re.search(r"'\$" + re.escape(name) + r"([+-][0-9]+)?'", text):
            where.fail("[params]", f"{name!r} is used nowhere (no \"${name}\" in [task], "
                                   "[network] or [split]); use it or remove it")


def _task(where: _Where, task: Any) -> None:
    """A table naming a known task, with only the generator's parameters."""
    task = where.table(task, "[task]")
    name = task.get("name")
    if not isinstance(name, str) or not name:
        where.fail("[task]", f"needs name = one of {', '.join(sorted(TASKS))}")
    if name not in TASKS:
        where.fail("[task]", f"unknown task {name!r}; expected one of {', '.join(sorted(TASKS))}")
    signature = inspect.signature(TASKS[name])
    if any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        return
    known = ("name", *signature.parameters)
    unknown = sorted(set(task) - set(known))
    if unknown:
        expected = list(known[1:]) or "none (it takes no parameters)"
        where.fail("[task]", f"unknown keys {unknown} for task {name!r}; "
                             f"its parameters are {expected}")


def _seeds(where: _Where, seeds: Any) -> None:
    where.keys(seeds, "[seeds]", SEEDS_KEYS)
    if "first" in seeds:
        where.count(seeds["first"], "[seeds] first", 0)
    if "count" in seeds:
        where.count(seeds["count"], "[seeds] count")
    if "default" in seeds:
        default = seeds["default"]
        if not isinstance(default, list) or not default:
            where.fail("[seeds] default", f"expected a non-empty list of seeds, got {default!r}")
        for s in default:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                where.fail("[seeds] default", f"seeds must be integers ≥ 0, got {s!r}")


def _checks(where: _Where, checks: Any) -> list[str]:
    """Each entry a check name or ``{check = NAME, label = …, options}``; their labels."""
    if not isinstance(checks, list):
        where.fail("checks", f"expected a list, got {checks!r}")
    labels: list[str] = []
    for entry in checks:
        if isinstance(entry, str):
            name, options, label = entry, {}, entry
        elif isinstance(entry, Mapping) and isinstance(entry.get("check"), str):
            name = entry["check"]
            options = {k: v for k, v in entry.items() if k not in ("check", "label")}
            label = where.string(entry.get("label", name), "checks label")
        else:
            where.fail("checks", f"an entry must be a check name or a table with check = NAME, "
                                 f"got {entry!r}")
        if name not in CHECKS:
            where.fail("checks", f"unknown check {name!r}; expected one of "
                                 f"{', '.join(sorted(CHECKS))}")
        allowed = [p for p in list(inspect.signature(CHECKS[name]).parameters)[2:]]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            where.fail("checks", f"check {name!r}: unknown keys {unknown}; expected some of "
                                 f"{['check', 'label', *allowed]}")
        if label in labels:
            where.fail("checks", f"two checks are called {label!r}; give one a label")
        labels.append(label)
    return labels


def _variants(where: _Where, variants: Any) -> list[str]:
    if not isinstance(variants, list):
        where.fail("variants", f"expected an array of tables, got {variants!r}")
    names: list[str] = []
    for v in variants:
        where.keys(v, "[[variants]]", VARIANT_KEYS)
        if "name" not in v or "set" not in v:
            where.fail("[[variants]]", f"every variant needs name and set, got {dict(v)!r}")
        names.append(where.string(v["name"], "[[variants]] name"))
        where.assignments(v["set"], f"[[variants]] {v['name']!r} set")
    return names


def _quick(where: _Where, quick: Any, variants: list[str]) -> None:
    where.keys(quick, "[quick]", QUICK_KEYS)
    if "seeds" in quick:
        where.count(quick["seeds"], "[quick] seeds")
    where.assignments(quick.get("set", []), "[quick] set")
    for name in where.strings(quick.get("variants", []), "[quick] variants"):
        if name not in variants:
            where.fail("[quick] variants", f"no variant is called {name!r}; the variants are "
                                           f"{variants}")


def _series(where: _Where, series: Any, params: Mapping[str, Any]) -> None:
    if not isinstance(series, list):
        where.fail("series", f"expected an array of tables, got {series!r}")
    for s in series:
        where.keys(s, "[[series]]", SERIES_KEYS)
        param = s.get("param")
        if not isinstance(param, str) or (param not in params and param not in setting_names()):
            where.fail("[[series]]", f"param must name a parameter or setting, got {param!r}")
        if not isinstance(s.get("values"), list) or not s["values"]:
            where.fail("[[series]]", "needs a non-empty values list")
        where.assignments(s.get("set", []), "[[series]] set")
        if s.get("trend", "falling") not in ("falling", "rising"):
            where.fail("[[series]]", f"trend must be 'falling' or 'rising', got {s['trend']!r}")
        if s.get("metric", "sweeps_to_solve") not in SWEEP_METRICS:
            where.fail("[[series]]", f"metric must be one of {', '.join(SWEEP_METRICS)}, "
                                     f"got {s['metric']!r}")
        for key in ("name", "published", "source"):
            if key in s:
                where.string(s[key], f"[[series]] {key}")


# ----------------------------------------------------------------------------
# Published claims
# ----------------------------------------------------------------------------


def _claim(where: _Where, claim: Any, name: str, params: Mapping[str, Any], checks: list[str],
           split: bool) -> None:
    """One published claim: kind, metric, value, check, trials, tolerance, when."""
    where.keys(claim, name, CLAIM_KEYS)
    kind = claim.get("kind", "single-run")
    if kind not in KINDS:
        where.fail(name, f"unknown claim kind {kind!r}; expected one of {', '.join(KINDS)}")
    for key in ("what", "source"):
        if key in claim:
            where.string(claim[key], f"{name} {key}")
    metric = claim.get("metric")
    value = claim.get("value")
    if kind in SWEEP_KINDS:
        if metric is not None and metric not in SWEEP_METRICS:
            where.fail(name, f"a {kind} claim measures {' or '.join(SWEEP_METRICS)}, "
                             f"got metric {metric!r}")
        if kind == "range":
            if "value" in claim and not (
                    isinstance(value, list) and len(value) == 2
                    and all(_is_number(v) and v >= 0 for v in value) and value[0] <= value[1]):
                where.fail(name, f"a range claim's value is [low, high], two numbers of sweeps "
                                 f"0 ≤ low ≤ high, got {value!r}")
        elif "value" in claim and (not _is_number(value) or value < 0):
            where.fail(name, f"value must be a number of sweeps ≥ 0, got {value!r}")
        if kind == "exact" and "value" in claim and value != int(value):
            where.fail(name, f"an exact claim's value must be a whole number, got {value!r}")
    elif kind in RATE_KINDS:
        _rate_metric(where, name, metric, checks, split)
        if "value" in claim and (not _is_number(value) or not 0 <= value <= 1):
            where.fail(name, f"value must be a rate in [0, 1], got {value!r}")
    else:  # check
        check = claim.get("check")
        if not isinstance(check, str) or check not in checks:
            where.fail(name, f"a check claim needs check = NAME, one of the experiment's "
                             f"checks ({', '.join(checks) or 'none'}), got {check!r}")
        if metric not in (None, "check", f"check:{check}"):
            where.fail(name, f"a check claim's metric is check:{check}, got {metric!r}")
    if "trials" in claim:
        if kind != "rate":
            where.fail(name, f"trials belongs to rate claims, not {kind}")
        where.count(claim["trials"], f"{name} trials")
    if "tolerance" in claim:
        if kind != "about-rate":
            where.fail(name, f"tolerance belongs to about-rate claims, not {kind}")
        tol = claim["tolerance"]
        if not _is_number(tol) or not 0 <= tol <= 1:
            where.fail(name, f"tolerance must be a number in [0, 1], got {tol!r}")
    _when(where, name, claim.get("when", {}), params)


def _rate_metric(where: _Where, name: str, metric: Any, checks: list[str], split: bool) -> None:
    if metric is None or metric in ("solve_rate", "stop_rate"):
        return
    if metric == "heldout":
        if not split:
            where.fail(name, "metric heldout needs a [split] table of held-out cases")
        return
    if isinstance(metric, str) and metric.startswith("check:"):
        if metric[len("check:"):] not in checks:
            where.fail(name, f"metric {metric!r} names no check of the experiment "
                             f"({', '.join(checks) or 'none'})")
        return
    where.fail(name, f"unknown rate metric {metric!r}; expected one of {', '.join(RATE_METRICS)}")


def _when(where: _Where, name: str, when: Any, params: Mapping[str, Any]) -> None:
    """``when`` keys are parameters (values of the parameter's type) or settings (values
    a setting takes)."""
    where.table(when, f"{name} when")
    for key, value in when.items():
        if key in params:
            current = params[key]
            same = (type(value) is type(current)
                    or (isinstance(current, float) and _is_number(value)))
            if not same:
                where.fail(f"{name} when", f"{key} = {value!r} can never match: parameter "
                                           f"{key!r} holds a {type(current).__name__}")
        elif key in setting_names():
            try:
                TrainConfig.from_dict({key: value})
            except ConfigError as exc:
                where.fail(f"{name} when", str(exc))
        else:
            known = ", ".join(params) or "none"
            where.fail(f"{name} when", f"{key!r} is neither a parameter ({known}) nor a "
                                       "training setting")
