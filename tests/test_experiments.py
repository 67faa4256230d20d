"""The 1986 experiments in quick mode, their published-versus-measured verdicts, and reproduce.

One module-scoped ``backprop86 reproduce --quick`` run (about 10 s) trains every
experiment of this file's list exactly as the shipped command does; the tests
read its ``results.json``. Seeds are fixed, so every number is deterministic;
the tolerances below are there so that a different BLAS or NumPy, which moves
single runs by a sweep or two, cannot flip a test, and each says where it
comes from.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop86 import ConfigError
from backprop86.cli import main
from backprop86.experiments import from_dict, load, names
from backprop86.experiments.runner import run

MINE = ["addition", "chauvin", "encoder-4-2-4", "encoder-8-3-8", "encoder-graded", "negation",
        "parity", "symmetry"]
WORDS = {"reproduced", "within the distribution", "not reproduced",
         "trend reproduced, levels not reproduced"}  # the last for series only


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("reproduce")
    args = ["reproduce", "--quick", "--no-plots", "--out", str(out)]
    for name in MINE:
        args += ["--only", name]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    runs = {(r["experiment"], r["variant"]): r for r in results["runs"]}
    return out, results, runs


def summary(runs, name, variant=None):
    return runs[(name, variant)]["result"]["summary"]


def verdicts(runs, name, variant=None):
    return {v["what"]: v for v in runs[(name, variant)]["result"]["verdicts"]}


def test_every_experiment_is_listed_and_loads():
    shipped = names()
    for name in MINE:
        assert name in shipped
        exp = load(name)
        assert exp.source and exp.deviations
        assert exp.raw["quick"]["seeds"] < len(exp.seeds())  # quick mode uses fewer seeds


def test_quick_mode_runs_every_experiment_and_variant(quick):
    out, results, runs = quick
    assert results["quick"] is True
    expected = {(n, None) for n in MINE} | {("addition", "3 hidden units"),
                                            ("parity", "2 bits"), ("parity", "3 bits")}
    assert set(runs) == expected
    for r in runs.values():
        assert r["error"] is None
        for v in r["result"].get("verdicts", []):
            assert v["verdict"] in WORDS and v["rule"]
    report = (out / "report.md").read_text()
    assert "## Summary" in report
    for name in MINE:
        assert f"\n## {name}\n" in report and f"| {name} |" in report
    assert "deviations from the source:" in report


def test_symmetry(quick):
    _, _, runs = quick
    s = summary(runs, "symmetry")
    # paper-experiments.md §2.1 computed 93/100 solved within 20,000 sweeps (Wilson 95 % CI
    # 86–97 %); ours is 46/50. At least 80 % is the spec's own statistical test.
    assert s["rate"] >= 0.8
    # computed median 2,734 (IQR 1,287–5,687): "roughly [1,000, 6,000]" in the spec
    assert 1000 <= s["median_sweeps_to_solve"] <= 6000
    checks = runs[("symmetry", None)]["result"]["checks"]
    mirror, ratio = checks["mirror_antisymmetry"], checks["ratio_124"]
    assert mirror["passed"] == mirror["considered"] == s["solved"]  # every solved run (186/186)
    assert 2 * ratio["passed"] >= ratio["considered"]  # the 1:2:4 solution is the usual one
    v = verdicts(runs, "symmetry")
    assert v["sweeps to learn"]["verdict"] in ("reproduced", "within the distribution")


def test_chauvin_trends_are_reproduced_but_not_their_levels(quick):
    _, _, runs = quick
    series = runs[("chauvin", None)]["result"]["series"]
    assert [s["param"] for s in series] == ["hidden", "lr"]
    for s in series:
        # the presentations fall as published, at about twice the published levels
        assert s["verdict"]["verdict"] == "trend reproduced, levels not reproduced"
        medians = s["medians"]
        assert medians[-1] < medians[0] / 1.5  # both trends fall by more than a third
        assert s["verdict"]["log2_fit"][1] < 0
        levels = s["verdict"]["levels"]
        assert len(levels) == 2 and not any(p["inside"] for p in levels)
        assert all(1.4 < p["ratio"] < 3.0 for p in levels)
        assert all(lo <= p["median"] <= hi for p in levels for lo, hi in [p["ci95"]])


def test_handbook_encoder_matches_the_computed_reference(quick):
    _, _, runs = quick
    s = summary(runs, "encoder-4-2-4")
    # §3.10 [COMPUTED]: 200/200 stop within 500 epochs, median 159 (IQR 153–178)
    assert s["stopped"] == s["seeds"]
    assert 153 <= s["median_sweeps_to_stop"] <= 178
    s8 = summary(runs, "encoder-8-3-8")
    # §3.10 [COMPUTED]: median 532 over 200 seeds; the IQR of ours is about 500–580
    assert 480 <= s8["median_sweeps_to_stop"] <= 600
    for name in ("encoder-4-2-4", "encoder-8-3-8", "encoder-graded"):
        c = runs[(name, None)]["result"]["checks"]["distinct_codes"]
        assert c["passed"] == c["considered"] > 0


def test_addition_minimal_net_sticks_and_the_extra_unit_helps(quick):
    _, _, runs = quick
    stuck = runs[("addition", None)]["result"]["checks"]["local_minimum_11_11"]
    # 12/50 here, 27/100 over the full seeds: between 10 % and 50 % leaves room either way
    assert 0.1 <= stuck["passed"] / stuck["considered"] <= 0.5
    two, three = summary(runs, "addition"), summary(runs, "addition", "3 hidden units")
    assert three["rate"] > two["rate"] + 0.3  # 26 % → 80 %
    carry = runs[("addition", None)]["result"]["checks"]["carry_units"]
    assert carry["passed"] == carry["considered"] > 0
    assert "solved with one extra hidden unit" in verdicts(runs, "addition", "3 hidden units")
    assert "runs stuck at the 11+11 local minimum" in verdicts(runs, "addition")


def test_negation_and_parity(quick):
    _, _, runs = quick
    v = verdicts(runs, "negation")
    assert v["passes through the stimulus set (η 0.25)"]["verdict"] == "reproduced"
    assert summary(runs, "negation")["rate"] >= 0.9
    assert summary(runs, "parity")["solved"] >= 1
    assert "presentations (4 bits, η 0.5)" in verdicts(runs, "parity")
    assert "presentations (4 bits, η 0.5)" not in verdicts(runs, "parity", "2 bits")  # when
    two = runs[("parity", "2 bits")]["result"]["checks"]["count_code"]
    assert two["passed"] >= 1  # 2-bit nets often find the count code


# ----------------------------------------------------------------------------
# The run command: check lines, variants, series, figures
# ----------------------------------------------------------------------------


def test_run_prints_checks_and_claims_of_the_variant(capsys):
    assert main(["run", "addition", "--set", "hidden=3", "--seeds", "4",
                 "--set", "max_sweeps=400"]) == 0
    out = capsys.readouterr().out
    assert "\nchecks:\n" in out and "carry units:" in out and "stuck at 11+11:" in out
    assert "solved with one extra hidden unit" in out
    # the minimal net's claims are not judged on the 3-unit net, and the table says so
    assert "published   runs stuck at the 11+11 local minimum" not in out
    assert ("not judged: runs stuck at the 11+11 local minimum — the claim holds for hidden = 2 "
            "(this run: 3)") in out


def test_run_series_json_and_plot(tmp_path, capsys):
    path = tmp_path / "chauvin.json"
    assert main(["run", "chauvin", "--seeds", "3", "--set", "max_sweeps=300",
                 "--json", str(path), "--plot", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "series: hidden units" in out and "Spearman" in out
    data = json.loads(path.read_text())
    assert [s["values"] for s in data["series"]] == [[2, 4, 8, 16, 32], [0.1, 0.25, 0.5, 0.75]]
    assert (tmp_path / "chauvin-hidden.png").stat().st_size > 0
    assert main(["run", "chauvin", "--checkpoint", str(tmp_path / "c.npz")]) == 2
    assert "single runs" in capsys.readouterr().err


def test_run_plot_draws_hinton_diagrams(tmp_path, capsys):
    assert main(["run", "encoder-4-2-4", "--seeds", "3", "--plot", str(tmp_path)]) == 0
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == ["encoder-4-2-4-hidden-solved-seed0.png",
                    "encoder-4-2-4-weights-solved-seed0.png"]


def test_reproduce_with_figures(tmp_path, capsys):
    assert main(["reproduce", "--quick", "--only", "encoder-4-2-4", "--out", str(tmp_path)]) == 0
    report = (tmp_path / "report.md").read_text()
    stem = "encoder-4-2-4-weights-solved-seed0"
    assert f"![{stem}](figures/{stem}.png)" in report
    assert (tmp_path / "figures" / "encoder-4-2-4-weights-solved-seed0.png").exists()


def test_reproduce_unknown_experiment_is_one_line(capsys):
    assert main(["reproduce", "--only", "no-such-thing"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no-such-thing" in err[0]


# ----------------------------------------------------------------------------
# The TOML schema: $param±k, seeds.count, claims with `when`, claim kinds
# ----------------------------------------------------------------------------

BASE = {"name": "t", "task": {"name": "xor"}, "params": {"hidden": 3},
        "network": {"sizes": [2, "$hidden-1", 1]}, "train": {"max_sweeps": 50}}


def test_param_arithmetic_seed_count_and_when():
    exp = from_dict({**BASE, "seeds": {"first": 5, "count": 3}, "published": [
        {"value": 1, "kind": "single-run", "when": {"hidden": 2}},
        {"value": 2, "kind": "single-run"},
    ]})
    assert exp.network().group("hidden1").size == 2
    assert exp.seeds() == [5, 6, 7]
    assert [c["value"] for c in exp.claims] == [2] and exp.published["value"] == 2
    two = exp.with_settings(["hidden=2"])
    assert [c["value"] for c in two.claims] == [1, 2] and two.published["value"] == 1
    assert two.network().group("hidden1").size == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"params": {"hidden": True}}, "must be an integer"),
    ({"seeds": {"count": 0}}, "count"),
    ({"published": [{"value": 1, "kind": "guess"}]}, "unknown claim kind"),
    ({"published": [{"value": 1, "kind": "rate", "metric": "check:nothing"}]}, "nothing"),
    ({"published": [{"value": 1, "kind": "check"}]}, "check = NAME"),
    ({"checks": ["no_such_check"]}, "unknown check"),
    ({"published": [{"value": [10, 5], "kind": "range"}]}, r"\[low, high\]"),
    ({"published": [{"value": 5, "kind": "range"}]}, r"\[low, high\]"),
])
def test_schema_errors_are_config_errors(change, message):
    with pytest.raises(ConfigError, match=message):
        exp = from_dict({**BASE, **change})
        r = run(exp, [0])
        r.verdicts  # noqa: B018 - judging the claims is what raises


def test_claim_kinds_on_a_small_run():
    exp = from_dict({**BASE, "seeds": {"count": 20}, "train": {"max_sweeps": 4000, "lr": 0.5,
                                                              "momentum": 0.9},
                     "published": [
                         {"what": "bound", "value": 10_000, "kind": "upper-bound"},
                         {"what": "tiny bound", "value": 1, "kind": "upper-bound"},
                         {"what": "about", "value": 0.5, "tolerance": 0.5, "kind": "about-rate"},
                         {"what": "median", "value": 1e9, "kind": "median"},
                         {"what": "wide range", "value": [1, 10_000], "kind": "range"},
                         {"what": "range too fast", "value": [0, 1], "kind": "range"},
                     ]})
    v = {x["what"]: x for x in run(exp, exp.seeds()).verdicts}
    assert v["bound"]["verdict"] == "reproduced"
    assert v["tiny bound"]["verdict"] == "not reproduced"
    assert v["about"]["verdict"] == "reproduced"  # any rate overlaps 0.5 ± 0.5
    assert v["median"]["verdict"] == "not reproduced"
    assert v["wide range"]["verdict"] == "reproduced"  # the median lies inside it
    assert v["range too fast"]["verdict"] == "not reproduced"  # below every measured time
    assert "5–95 % range overlaps" in v["wide range"]["rule"]
    assert np.isfinite(v["bound"]["measured"]["median"])


def test_handbook_xor_deviations_do_not_change_its_run():
    """handbook-xor's stated deviations from bp: float64 (bp: float32) and an unclipped
    logistic (bp clips at |net| > 15.935773). Both leave the published run as it is."""
    exp = load("handbook-xor")
    assert len(exp.deviations) == 2
    single = run(exp.with_settings(["dtype=float32"]), [0])
    assert single.result.sweeps.tolist() == [289] and single.result.stopped.all()
    task = exp.task()
    nets = [exp.initial_network([0])]  # XOR.WTS, then the weights after every epoch to the stop
    nets += [run(exp.with_settings([f"max_sweeps={epoch}"]), [0]).net for epoch in range(1, 290)]
    largest = [max(float(np.abs(v).max()) for v in net.forward(task.inputs).x.values())
               for net in nets]
    assert max(largest) < 15.935773


def test_a_claim_that_does_not_apply_is_named_with_its_reason(capsys):
    """A claim whose `when` this run does not meet is not judged, and the table says why."""
    assert main(["run", "handbook-xor", "--set", "grain=pattern"]) == 0
    out = capsys.readouterr().out
    assert "verdict" not in out
    assert ("not judged: sweeps_to_stop — the claim holds for grain = 'sweep' "
            "(this run: 'pattern')") in out
    exp = load("family-trees-tuned").with_settings(["max_sweeps=300"])
    assert "seeds with every training case right after 1,500 sweeps" not in [
        c["what"] for c in exp.claims]
    assert exp.unjudged == ["not judged: seeds with every training case right after 1,500 "
                            "sweeps — the claim holds for max_sweeps = 1500 (this run: 300)"]
    assert load("family-trees-tuned").unjudged == []
