"""Checks of family-trees nets: which person1-encoding units stand for which feature.

Nature Fig. 4 and CogSci §3.1 describe the six units that encode person1:
unit 1 separates English from Italian, unit 2 encodes generation (three-valued,
the middle generation intermediate), unit 6 encodes the branch of the family;
no unit encodes sex (it is redundant: every relation fixes the sex of person2),
and an English person and their Italian twin get nearly the same code.

:func:`family_units` measures this on any trained network with a person1 input
group and an encoding group fed by it, for every replica:

* ``codes`` ``(R, 24, k)``: the encoding of each person alone (other inputs 0).
* For each feature — nationality (English 0 / Italian 1), generation (1, 2, 3),
  branch (left 0 / right 1; Colin, Charlotte and their twins, who belong to
  both, left out) and sex — and each unit ``u``, the correlation ``r`` between
  the unit's activity and the feature's value over the people (point-biserial
  for a two-valued feature, a linear trend for generation) and the
  *threshold accuracy*: the fraction of people a single cut (two ordered cuts
  for generation) of that unit's activity classifies correctly.
* The **assignment**: three distinct units for nationality, generation and
  branch that maximise the summed ``|r|``; a feature is *found* when its unit
  has ``|r| ≥ min_r`` and threshold accuracy ``≥ min_accuracy``.
* ``sex_max_r``: the largest ``|r|`` of any unit with sex (small if no unit
  encodes it), and ``twin_ratio``: the mean distance between twins' codes
  divided by the mean distance between all other pairs, both without the
  nationality unit (well below 1 when twins are close).
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

import numpy as np

from backprop86.analysis.checks.base import CheckResult, register
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.base import Task
from backprop86.tasks.family import BRANCH, ENGLISH, GENERATION, MALE, PEOPLE

#: The features the paper names, in the order they are assigned.
ROLES = ("nationality", "generation", "branch")


def feature_values() -> dict[str, tuple[Array, Array]]:
    """Each feature's value per person ``(24,)`` and a mask ``(24,)`` of the people it covers."""
    english_of = {p: p for p in ENGLISH}
    english_of.update({PEOPLE[12 + i]: p for i, p in enumerate(ENGLISH)})
    everyone = np.ones(len(PEOPLE), dtype=bool)
    nationality = np.array([0.0 if p in ENGLISH else 1.0 for p in PEOPLE])
    generation = np.array([float(GENERATION[english_of[p]]) for p in PEOPLE])
    branch_name = [BRANCH[english_of[p]] for p in PEOPLE]
    branch = np.array([1.0 if b == "right" else 0.0 for b in branch_name])
    sex = np.array([1.0 if p in MALE else 0.0 for p in PEOPLE])
    return {
        "nationality": (nationality, everyone),
        "generation": (generation, everyone),
        "branch": (branch, np.array([b != "both" for b in branch_name])),
        "sex": (sex, everyone),
    }


def person_codes(
    net: Network, *, input_group: str = "person1", code_group: str = "person_code"
) -> Array:
    """The ``code_group`` activity for each person alone: ``(R, 24, k)``.

    Every person1 unit is switched on in turn (``eye(24)``); every other input
    group is 0, so the code is the person's own when the encoding group is fed
    by person1 only, as in the paper's network.
    """
    for name in (input_group, code_group):
        if name not in {g.name for g in net.groups}:
            raise ConfigError(
                f"the network has no group {name!r}; groups are "
                f"{', '.join(g.name for g in net.groups)}"
            )
    size = net.group(input_group).size
    if size != len(PEOPLE) or not net.group(input_group).is_input:
        raise ConfigError(
            f"{input_group!r} must be an input group of {len(PEOPLE)} person units, "
            f"got {size} units"
        )
    inputs = {
        name: (np.eye(size) if name == input_group else np.zeros((size, net.group(name).size)))
        for name in net.inputs
    }
    return net.forward(inputs).y[code_group]


def correlation(a: Array, v: Array) -> float:
    """Pearson ``r`` between activities ``a`` and feature values ``v`` (0 if either is constant)."""
    a = a - a.mean()
    v = v - v.mean()
    denom = float(np.sqrt((a * a).sum() * (v * v).sum()))
    return float((a * v).sum() / denom) if denom > 1e-12 else 0.0


def threshold_accuracy(a: Array, v: Array) -> float:
    """Best fraction classified right by cutting ``a`` at ordered thresholds, one per step of ``v``.

    Two values: one cut, either direction. Three values (generation): two cuts,
    the classes in either order (low–middle–high or high–middle–low).
    """
    levels = np.unique(v)
    cuts = np.concatenate(([-np.inf], (np.sort(a)[:-1] + np.sort(a)[1:]) / 2, [np.inf]))
    best = 0.0
    for order in (levels, levels[::-1]):
        if len(levels) == 2:
            for c in cuts:
                pred = np.where(a > c, order[1], order[0])
                best = max(best, float(np.mean(pred == v)))
        elif len(levels) == 3:
            for i, c1 in enumerate(cuts):
                for c2 in cuts[i:]:
                    pred = np.where(a > c2, order[2], np.where(a > c1, order[1], order[0]))
                    best = max(best, float(np.mean(pred == v)))
        else:
            raise ConfigError(f"threshold accuracy needs 2 or 3 feature values, got {len(levels)}")
    return best


def _one_replica(codes: Array, min_r: float, min_accuracy: float) -> dict[str, Any]:
    """The analysis of one net's codes ``(24, k)``."""
    k = codes.shape[1]
    if k < len(ROLES):
        raise ConfigError(f"the encoding has {k} units; at least {len(ROLES)} are needed")
    feats = feature_values()
    r = {
        f: np.array([correlation(codes[m, u], v[m]) for u in range(k)])
        for f, (v, m) in feats.items()
    }
    best = max(
        permutations(range(k), len(ROLES)),
        key=lambda units: sum(abs(r[f][u]) for f, u in zip(ROLES, units, strict=True)),
    )
    roles: dict[str, Any] = {}
    for f, u in zip(ROLES, best, strict=True):
        v, m = feats[f]
        acc = threshold_accuracy(codes[m, u], v[m])
        roles[f] = {
            "unit": int(u),
            "r": float(r[f][u]),
            "accuracy": acc,
            "found": bool(abs(r[f][u]) >= min_r and acc >= min_accuracy),
        }
    nat_unit = roles["nationality"]["unit"]
    rest = np.delete(codes, nat_unit, axis=1)
    dist = np.linalg.norm(rest[:, None, :] - rest[None, :, :], axis=-1)  # (24, 24)
    twins = np.array([dist[i, i + 12] for i in range(12)])
    others = dist[np.triu_indices(24, 1)]
    twin_mean = float(twins.mean())
    other_mean = float((others.sum() - twins.sum()) / (others.size - twins.size))
    return {
        "roles": roles,
        "all_found": all(v["found"] for v in roles.values()),
        "r": {f: v.tolist() for f, v in r.items()},
        "sex_max_r": float(np.max(np.abs(r["sex"]))),
        "twin_ratio": twin_mean / other_mean if other_mean > 0 else float("nan"),
    }


def family_units(
    net: Network,
    *,
    input_group: str = "person1",
    code_group: str = "person_code",
    min_r: float = 0.8,
    min_accuracy: float = 0.9,
    replicas: Array | None = None,
) -> dict[str, Any]:
    """Unit roles of every replica (or of ``replicas``, a boolean ``(R,)`` mask, e.g. the solved).

    Returns ``replicas``: one :func:`_one_replica` record per analysed replica
    (with its index), and a summary: how many replicas have each feature found,
    all three found, the median ``|r|`` of each feature's unit, the median
    ``sex_max_r`` and ``twin_ratio``.
    """
    codes = person_codes(net, input_group=input_group, code_group=code_group)
    chosen = np.arange(net.replicas) if replicas is None else np.flatnonzero(replicas)
    records = [{"replica": int(i), **_one_replica(codes[i], min_r, min_accuracy)} for i in chosen]
    summary: dict[str, Any] = {
        "analysed": len(records), "min_r": min_r, "min_accuracy": min_accuracy,
    }
    for f in ROLES:
        summary[f"{f}_found"] = sum(rec["roles"][f]["found"] for rec in records)
        summary[f"{f}_median_abs_r"] = (
            float(np.median([abs(rec["roles"][f]["r"]) for rec in records])) if records else None
        )
    summary["all_found"] = sum(rec["all_found"] for rec in records)
    for key in ("sex_max_r", "twin_ratio"):
        summary[f"median_{key}"] = (
            float(np.median([rec[key] for rec in records])) if records else None
        )
    return {"summary": summary, "replicas": records}


@register("family_units")
def family_units_check(
    net: Network,
    task: Task,
    *,
    input_group: str = "person1",
    code_group: str = "person_code",
    min_r: float = 0.8,
    min_accuracy: float = 0.9,
) -> CheckResult:
    """The check an experiment lists in ``checks``: all three feature units found.

    A replica passes when nationality, generation and branch each have their
    own encoding unit with ``|r| ≥ min_r`` and threshold accuracy
    ``≥ min_accuracy`` (:func:`family_units`). ``task`` is not needed: the
    codes come from each person alone.
    """
    res = family_units(
        net, input_group=input_group, code_group=code_group, min_r=min_r,
        min_accuracy=min_accuracy,
    )
    recs = res["replicas"]
    numbers: dict[str, Array] = {
        f"{f}_abs_r": np.array([abs(rec["roles"][f]["r"]) for rec in recs]) for f in ROLES
    }
    # (R, 3), in ROLES order: which unit plays each role, and its one-cut accuracy
    numbers["units"] = np.array([[rec["roles"][f]["unit"] for f in ROLES] for rec in recs])
    numbers["accuracy"] = np.array([[rec["roles"][f]["accuracy"] for f in ROLES] for rec in recs])
    numbers["sex_max_abs_r"] = np.array([rec["sex_max_r"] for rec in recs])
    numbers["twin_ratio"] = np.array([rec["twin_ratio"] for rec in recs])
    return CheckResult(
        "family_units", "nationality, generation and branch units",
        f"three distinct {code_group} units with |r| ≥ {min_r:g} and one-cut accuracy "
        f"≥ {min_accuracy:.0%} for nationality, generation (two cuts) and branch",
        np.array([rec["all_found"] for rec in recs]), numbers,
    )
