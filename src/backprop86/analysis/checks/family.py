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

The registered checks built on it, each one claim of the papers:

* ``family_units``: all three feature units found (Nature Fig. 4's net);
* ``family_feature`` (option ``feature``): that one feature's unit found;
* ``family_no_sex_unit``: no person1-encoding unit encodes sex — none has
  ``|r| ≥ min_r`` with sex *and* a one-cut accuracy ``≥ min_accuracy``;
* ``family_relation_sex_unit``: one relation-encoding unit is devoted to the sex
  of person2 (CogSci Fig. 7). Each relation alone (person1 all 0) gives the
  code ``(R, 12, k)``; every relation fixes person2's sex (father, husband,
  son, uncle, brother, nephew: male), and the check passes when some unit has
  ``|r| ≥ min_r`` with that sex and one cut of its activity separates the
  male from the female relations without error (``min_accuracy = 1``).
"""

from __future__ import annotations

from functools import lru_cache
from itertools import permutations
from typing import Any

import numpy as np

from backprop86.analysis.checks.base import CheckResult, register
from backprop86.arrays import Array
from backprop86.errors import ConfigError
from backprop86.network import Network
from backprop86.tasks.base import Task
from backprop86.tasks.family import BRANCH, ENGLISH, GENERATION, MALE, PEOPLE, RELATIONS

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


#: Person2's sex fixed by each relation, in :data:`RELATIONS` order (1 male, 0 female).
RELATION_SEX = np.array([1.0 if i % 2 == 0 else 0.0 for i in range(len(RELATIONS))])


def person_codes(
    net: Network, *, input_group: str = "person1", code_group: str = "person_code"
) -> Array:
    """The ``code_group`` activity for each person alone: ``(R, 24, k)``.

    Every person1 unit is switched on in turn (``eye(24)``); every other input
    group is 0, so the code is the person's own when the encoding group is fed
    by person1 only, as in the paper's network.
    """
    return codes_of(net, input_group, code_group, len(PEOPLE), "person")


def relation_codes(
    net: Network, *, input_group: str = "relation", code_group: str = "relation_code"
) -> Array:
    """The ``code_group`` activity for each relation alone: ``(R, 12, k)``
    (as :func:`person_codes`, person1 all 0)."""
    return codes_of(net, input_group, code_group, len(RELATIONS), "relation")


def codes_of(net: Network, input_group: str, code_group: str, size_needed: int,
             what: str) -> Array:
    """``code_group``'s activity with each unit of ``input_group`` on alone: ``(R, n_in, k)``."""
    for name in (input_group, code_group):
        if name not in {g.name for g in net.groups}:
            raise ConfigError(
                f"the network has no group {name!r}; groups are "
                f"{', '.join(g.name for g in net.groups)}"
            )
    size = net.group(input_group).size
    if size != size_needed or not net.group(input_group).is_input:
        raise ConfigError(
            f"{input_group!r} must be an input group of {size_needed} {what} units, "
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


def _analysed(codes: Array, min_r: float, min_accuracy: float) -> dict[str, Any]:
    """:func:`_one_replica` of one net's codes ``(24, k)``, computed once: the checks
    ``family_units`` and ``family_feature`` (three times) all read the same analysis."""
    return _cached(codes.tobytes(), codes.shape, str(codes.dtype), min_r, min_accuracy)


@lru_cache(maxsize=4096)
def _cached(raw: bytes, shape: tuple[int, ...], dtype: str, min_r: float,
            min_accuracy: float) -> dict[str, Any]:
    codes = np.frombuffer(raw, dtype=dtype).reshape(shape)
    return _one_replica(codes, min_r, min_accuracy)


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
    records = [{"replica": int(i), **_analysed(codes[i], min_r, min_accuracy)} for i in chosen]
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


@register("family_feature")
def family_feature_check(
    net: Network,
    task: Task,
    *,
    feature: str,
    input_group: str = "person1",
    code_group: str = "person_code",
    min_r: float = 0.8,
    min_accuracy: float = 0.9,
) -> CheckResult:
    """One of the three feature units found: ``feature`` = nationality, generation or branch.

    The unit is the one :func:`family_units`' assignment gives the feature (three
    distinct units maximising the summed ``|r|``), so the three checks never
    count one unit twice.
    """
    if feature not in ROLES:
        raise ConfigError(f"family_feature: feature must be one of {', '.join(ROLES)}, "
                          f"got {feature!r}")
    res = family_units(net, input_group=input_group, code_group=code_group, min_r=min_r,
                       min_accuracy=min_accuracy)
    recs = [rec["roles"][feature] for rec in res["replicas"]]
    cuts = "two cuts" if feature == "generation" else "one cut"
    return CheckResult(
        f"family_{feature}", f"a {feature} unit",
        f"a {code_group} unit of its own with |r| ≥ {min_r:g} with {feature} and "
        f"{cuts} classifying ≥ {min_accuracy:.0%} of the people",
        np.array([rec["found"] for rec in recs]),
        {"abs_r": np.array([abs(rec["r"]) for rec in recs]),
         "accuracy": np.array([rec["accuracy"] for rec in recs])},
    )


def _sex_units(codes: Array, sex: Array) -> tuple[Array, Array]:
    """Per replica, the unit with the largest ``|r|`` with ``sex``: that ``|r|`` and the
    one-cut accuracy of the same unit; ``codes`` ``(R, n, k)`` → ``(R,)``, ``(R,)``."""
    best_r, best_acc = [], []
    for c in codes:
        r = np.array([abs(correlation(c[:, u], sex)) for u in range(c.shape[1])])
        u = int(np.argmax(r))
        best_r.append(float(r[u]))
        best_acc.append(threshold_accuracy(c[:, u], sex))
    return np.array(best_r), np.array(best_acc)


@register("family_no_sex_unit")
def family_no_sex_unit_check(
    net: Network,
    task: Task,
    *,
    input_group: str = "person1",
    code_group: str = "person_code",
    min_r: float = 0.8,
    min_accuracy: float = 0.9,
) -> CheckResult:
    """No person1-encoding unit encodes sex (Nature Fig. 4: sex is redundant for the task).

    A unit *encodes* sex as a feature unit encodes its feature (``|r| ≥ min_r``
    and one-cut accuracy ``≥ min_accuracy``); the check passes when the unit
    most correlated with sex does not.
    """
    codes = person_codes(net, input_group=input_group, code_group=code_group)
    sex = feature_values()["sex"][0]
    r, acc = _sex_units(codes, sex)
    return CheckResult(
        "family_no_sex_unit", "no sex unit among the person units",
        f"no {code_group} unit has both |r| ≥ {min_r:g} with the sex of person1 and one cut "
        f"classifying ≥ {min_accuracy:.0%} of the people by it",
        ~((r >= min_r) & (acc >= min_accuracy)),
        {"sex_max_abs_r": r, "accuracy": acc},
    )


@register("family_relation_sex_unit")
def family_relation_sex_unit_check(
    net: Network,
    task: Task,
    *,
    input_group: str = "relation",
    code_group: str = "relation_code",
    min_r: float = 0.8,
    min_accuracy: float = 1.0,
) -> CheckResult:
    """One relation-encoding unit devoted to the sex of person2 (CogSci Fig. 7).

    Codes of each relation alone ``(R, 12, k)`` (:func:`relation_codes`); the
    unit most correlated with the sex the relation fixes (:data:`RELATION_SEX`)
    must have ``|r| ≥ min_r`` and one cut of it must sort the twelve relations
    by that sex with accuracy ``≥ min_accuracy`` (1: without error).
    """
    codes = relation_codes(net, input_group=input_group, code_group=code_group)
    r, acc = _sex_units(codes, RELATION_SEX)
    return CheckResult(
        "family_relation_sex_unit", "a relation unit for the sex of person2",
        f"a {code_group} unit with |r| ≥ {min_r:g} with the sex each relation gives person2 "
        f"and one cut sorting ≥ {min_accuracy:.0%} of the 12 relations by it",
        (r >= min_r) & (acc >= min_accuracy),
        {"sex_abs_r": r, "accuracy": acc},
    )
