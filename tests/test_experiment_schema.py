"""Every section of an experiment file is checked on reading, before training (issue 13, item 2).

Unknown keys are refused in every table, and every published claim is checked
(kind, metric, value types, check names, trials, tolerance, ``when``): a bad claim
used to raise a traceback after the whole run. Each case is refused by
:func:`backprop86.experiments.from_dict` itself (so no command can train first), and
on the command line with exit 2, one line and no file written.
"""

from __future__ import annotations

import copy
import tomllib

import pytest

from backprop86.cli import main
from backprop86.errors import ConfigError
from backprop86.experiments import from_dict, load, names

BASE = """
name = "mine"
checks = ["count_code"]
[params]
hidden = 2
[task]
name = "parity"
bits = 2
[network]
sizes = [2, "$hidden", 1]
[train]
max_sweeps = 20
[seeds]
default = [0, 1]
[split]
holdout = 0
[quick]
seeds = 2
variants = ["fast"]
[[variants]]
name = "fast"
set = ["lr=1.0"]
[[published]]
what = "sweeps"
metric = "sweeps_to_solve"
value = 100
kind = "single-run"
when = { hidden = 2, grain = "sweep" }
[[published]]
value = 0.5
kind = "rate"
trials = 10
[[published]]
value = 0.5
kind = "about-rate"
tolerance = 0.2
metric = "check:count_code"
[[published]]
value = "nested on-sets"
kind = "check"
check = "count_code"
"""


def base() -> dict:
    return tomllib.loads(BASE)


def test_the_base_is_valid():
    exp = from_dict(base())
    assert len(exp.claims) == 4


def _set(doc: dict, where: str, value):
    """Set ``doc[a][b]...`` (``where`` = ``"a.b"``; ``published.0.kind`` indexes lists)."""
    keys = where.split(".")
    target = doc
    for k in keys[:-1]:
        target = target[int(k)] if k.isdigit() else target[k]
    last = keys[-1]
    if value is DELETE:
        del target[int(last) if last.isdigit() else last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value


DELETE = object()

#: (change, words of the one-line error)
BAD = {
    # unknown keys, table by table
    "top level": ("colour", "red", ["the top level: unknown keys ['colour']"]),
    "[params] unused": ("params.width", 3, ["[params]: 'width' is used nowhere"]),
    "[params] a table": ("params.hidden", {"a": 1}, ["hidden must be a number"]),
    "[params] a setting": ("params.lr", 0.5, ["'lr' is a training setting"]),
    "[task]": ("task.size", 3, ["[task]: unknown keys ['size'] for task 'parity'",
                                "its parameters are ['bits']"]),
    "[task] unknown task": ("task.name", "parrot", ["unknown task 'parrot'"]),
    "[network]": ("network.colour", 1, ["[network]: unknown keys ['colour']"]),
    "[train]": ("train.speed", 1, ["unknown setting 'speed'"]),
    "[split]": ("split.fraction", 0.5, ["[split]: unknown keys ['fraction']"]),
    "[seeds]": ("seeds.last", 9, ["[seeds]: unknown keys ['last']"]),
    "[seeds] first": ("seeds.first", -1, ["[seeds] first: expected an integer ≥ 0, got -1"]),
    "[seeds] default": ("seeds.default", [], ["expected a non-empty list of seeds"]),
    "[quick]": ("quick.sweeps", 10, ["[quick]: unknown keys ['sweeps']"]),
    "[quick] seeds": ("quick.seeds", "2", ["[quick] seeds: expected an integer ≥ 1, got '2'"]),
    "[quick] variants": ("quick.variants", ["slow"], ["no variant is called 'slow'"]),
    "[quick] set": ("quick.set", ["lr"], ["expected KEY=VALUE strings, got 'lr'"]),
    "[[variants]]": ("variants.0.colour", 1, ["[[variants]]: unknown keys ['colour']"]),
    "[[variants]] no set": ("variants.0.set", DELETE, ["every variant needs name and set"]),
    "[[published]]": ("published.0.colour", 1, ["[[published]] #1: unknown keys ['colour']"]),
    "checks entry": ("checks", [{"check": "count_code", "colour": 1}],
                     ["check 'count_code': unknown keys ['colour']"]),
    "checks unknown": ("checks", ["count_codes"], ["unknown check 'count_codes'"]),
    "checks twice": ("checks", ["count_code", "count_code"], ["two checks are called"]),
    "compare": ("compare", ["SVM"], ["compare: unknown peer(s) ['SVM']"]),
    "deviations": ("deviations", "one", ["deviations: expected a list of strings"]),
    "reproduce": ("reproduce", "no", ["reproduce: expected true or false"]),
    "[[series]]": ("series", [{"param": "hidden", "values": [1, 2], "colour": 1}],
                   ["[[series]]: unknown keys ['colour']"]),
    "[[series]] param": ("series", [{"param": "width", "values": [1]}],
                         ["param must name a parameter or setting, got 'width'"]),
    # claims
    "kind": ("published.0.kind", "guess", ["#1: unknown claim kind 'guess'; expected one of"]),
    "value text": ("published.0.value", "abc", ["#1: value must be a number of sweeps ≥ 0, "
                                                "got 'abc'"]),
    "value negative": ("published.0.value", -3, ["value must be a number of sweeps ≥ 0"]),
    "value inf": ("published.0.value", float("inf"), ["value must be a number of sweeps"]),
    "value bool": ("published.0.value", True, ["value must be a number of sweeps"]),
    "sweep metric": ("published.0.metric", "solve_rate",
                     ["a single-run claim measures sweeps_to_solve or sweeps_to_stop"]),
    "rate value": ("published.1.value", 1.5, ["#2: value must be a rate in [0, 1], got 1.5"]),
    "rate metric": ("published.1.metric", "speed", ["unknown rate metric 'speed'"]),
    "rate check metric": ("published.2.metric", "check:ratio_124",
                          ["metric 'check:ratio_124' names no check of the experiment "
                           "(count_code)"]),
    "trials": ("published.1.trials", 0, ["#2 trials: expected an integer ≥ 1, got 0"]),
    "trials on a single run": ("published.0.trials", 5, ["trials belongs to rate claims"]),
    "tolerance": ("published.2.tolerance", "wide", ["tolerance must be a number in [0, 1]"]),
    "tolerance on a rate": ("published.1.tolerance", 0.1,
                            ["tolerance belongs to about-rate claims, not rate"]),
    "check name": ("published.3.check", "ratio_124",
                   ["#4: a check claim needs check = NAME", "got 'ratio_124'"]),
    "when unknown key": ("published.0.when", {"width": 2},
                         ["'width' is neither a parameter (hidden) nor a training setting"]),
    "when param type": ("published.0.when", {"hidden": "2"},
                        ["hidden = '2' can never match: parameter 'hidden' holds a int"]),
    "when setting value": ("published.0.when", {"grain": "batch"},
                           ["grain must be one of sweep, pattern, minibatch"]),
    "when not a table": ("published.0.when", "hidden=2", ["when: expected a table"]),
    "what": ("published.0.what", 3, ["#1 what: expected a string, got 3"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_section_is_refused_on_reading(case):
    where, value, words = BAD[case]
    doc = base()
    _set(doc, where, value)
    with pytest.raises(ConfigError) as info:
        from_dict(doc)
    text = str(info.value)
    assert "\n" not in text
    for word in words:
        assert word in text, text


def test_more_claim_rules():
    doc = base()
    doc["published"][0].update(kind="exact", value=100.5)
    with pytest.raises(ConfigError, match="an exact claim's value must be a whole number"):
        from_dict(doc)
    doc = base()
    del doc["split"]
    doc["published"][1]["metric"] = "heldout"
    with pytest.raises(ConfigError, match=r"metric heldout needs a \[split\] table"):
        from_dict(doc)
    doc = base()
    doc["published"] = {"value": "x", "kind": "median"}  # a single [published] table
    with pytest.raises(ConfigError, match=r"\[published\]: value must be a number"):
        from_dict(doc)


def toml_text(doc: dict) -> str:
    """A small TOML writer, enough for the documents above."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v + '"'
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v) if not (isinstance(v, float) and v == float("inf")) else "inf"

    lines = [f"{k} = {value(v)}" for k, v in doc.items() if not isinstance(v, (dict, list))
             or (isinstance(v, list) and not all(isinstance(x, dict) for x in v))]
    for k, v in doc.items():
        if isinstance(v, dict):
            lines += [f"[{k}]", *(f"{a} = {value(b)}" for a, b in v.items())]
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            for table in v:
                lines += [f"[[{k}]]", *(f"{a} = {value(b)}" for a, b in table.items())]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("case", ["kind", "value text", "check name", "when unknown key",
                                  "[params] unused", "checks entry"])
def test_the_command_line_refuses_before_training(case, tmp_path, capsys, monkeypatch):
    """Exit 2, one line, and nothing written: ``--json`` is never created."""
    where, value, words = BAD[case]
    doc = base()
    _set(doc, where, value)
    path = tmp_path / "bad.toml"
    path.write_text(toml_text(doc))
    assert tomllib.loads(path.read_text()) == doc
    before = sorted(tmp_path.iterdir())
    for argv in (["run", str(path), "--json", str(tmp_path / "r.json")],
                 ["sweep", str(path), "--seeds", "2", "--json", str(tmp_path / "s.json")],
                 ["gradcheck", str(path)], ["trace", str(path), "--pattern", "1"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert str(path) in err and all(w in err for w in words), err
    assert sorted(tmp_path.iterdir()) == before


@pytest.mark.parametrize("name", names())
def test_every_shipped_experiment_passes(name):
    exp = load(name)
    again = copy.deepcopy(exp.raw)
    from_dict(again)
