"""``backprop86 sweep``: one batch per grid point, statistics, failures, JSON, Ctrl-C, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop86.analysis.failures import failure_kind
from backprop86.analysis.statistics import quantiles, wilson
from backprop86.cli import main
from backprop86.cli.commands import sweep
from backprop86.cli.commands.sweep import Point, measure
from backprop86.experiments import load
from backprop86.experiments.runner import run
from ctrl_c import ctrl_c_at

SEEDS = list(range(8))


@pytest.fixture(scope="module")
def xor2():
    """The article's net with 2 hidden units, 1,500 sweeps: some seeds solve, some do not."""
    exp = load("xor").with_settings(["hidden=2", "max_sweeps=1500"])
    return exp, measure(Point(exp, {"hidden": 2}), SEEDS, curves=True)


@pytest.fixture(scope="module")
def singles(xor2):
    exp, _ = xor2
    return [run(exp, [s], history="every") for s in SEEDS]


def test_replica_r_equals_the_single_run_with_seed_r(xor2, singles):
    _, res = xor2
    for r, one in enumerate(singles):
        single = one.result
        assert np.array_equal(res.final_outputs[r], single.final_outputs[0])
        assert res.first_solved[r] == single.first_solved[0]
        assert res.final_error[r] == single.final_error[0]
        assert np.array_equal(res.curves[r], single.history[0, res.curve_sweeps - 1])


def test_statistics_equal_those_of_independent_runs(xor2, singles):
    _, res = xor2
    s = res.summary
    solved = np.array([one.result.solved[0] for one in singles])
    first = np.array([one.result.first_solved[0] for one in singles])
    final = np.array([one.result.final_error[0] for one in singles])
    assert 0 < solved.sum() < len(SEEDS), "the fixture should mix solved and failed seeds"
    assert s["seeds"] == len(SEEDS)
    assert s["solved"] == solved.sum()
    assert s["rate"] == solved.mean()
    assert s["ci95"] == list(wilson(int(solved.sum()), len(SEEDS)))
    assert s["median_sweeps_to_solve"] == np.median(first[solved])
    assert s["sweeps_to_solve_iqr"] == list(np.quantile(first[solved], [0.25, 0.75]))
    assert s["final_error_quantiles"] == quantiles(final)
    task = singles[0].task
    kinds = {}
    for seed, one in zip(SEEDS, singles, strict=True):
        k = failure_kind(one.result.final_outputs[0], task.targets, task.labels)
        assert (k is None) == bool(one.result.solved[0])
        if k is not None:
            kinds.setdefault(k, []).append(seed)
    assert s["failure_seeds"] == kinds
    assert s["failure_kinds"] == {k: len(v) for k, v in kinds.items()}
    assert sum(s["failure_kinds"].values()) == len(SEEDS) - solved.sum()


def test_table_lists_every_point_and_failures(xor2):
    _, res = xor2
    text = sweep.format_table([res], planned=1)
    s = res.summary
    assert f"{s['solved']}/{len(SEEDS)}" in text
    assert "every output on the right side of 0.5" in text
    for kind, count in s["failure_kinds"].items():
        assert kind in text and str(count) in text


def test_cli_grid_product_and_json(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    rc = main(["sweep", "xor", "--seeds", "3", "--grid", "hidden=1,3", "--grid", "lr=0.5,1",
               "--set", "max_sweeps=200", "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["complete"] is True and data["interrupted"] is False
    assert data["grid"] == {"hidden": [1, 3], "lr": [0.5, 1.0]}
    assert data["settings"] == ["max_sweeps=200"]
    assert {"backprop86", "numpy", "python"} <= set(data["versions"])
    assert [p["grid"] for p in data["points"]] == [
        {"hidden": 1, "lr": 0.5}, {"hidden": 1, "lr": 1.0},
        {"hidden": 3, "lr": 0.5}, {"hidden": 3, "lr": 1.0},
    ]
    for p in data["points"]:
        for key in ("params", "seeds", "solved", "rate", "ci95", "median_sweeps_to_solve",
                    "final_error_quantiles", "failure_kinds", "config"):
            assert key in p
        assert p["config"]["lr"] == p["grid"]["lr"]
        assert p["config"]["max_sweeps"] == 200
        assert p["params"]["hidden"] == p["grid"]["hidden"]
        assert p["seeds"] == 3 and not p["partial"]
    assert table.count("\nxor ") >= 4


def test_cli_several_experiments(capsys):
    rc = main(["sweep", "xor", "xor-pdp-a", "--seeds", "2", "--set", "max_sweeps=50"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "\nxor " in out and "\nxor-pdp-a " in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--seeds", "0"], "positive integer"),
        (["--seeds", "2", "--grid", "hidden="], "empty value"),
        (["--seeds", "2", "--grid", "hidden=1,,2"], "empty value"),
        (["--seeds", "2", "--grid", "hidden"], "KEY=V1,V2"),
        (["--seeds", "2", "--grid", "nosuchkey=1"], "unknown setting 'nosuchkey'"),
        (["--seeds", "2", "--grid", "hidden=a,b"], "hidden must be an integer, got 'a'"),
        (["--seeds", "2", "--grid", "hidden=-1"], "layer sizes"),
        (["--seeds", "2", "--grid", "lr=0.5,0.5"], "listed twice"),
        (["--seeds", "2", "--grid", "hidden=1", "--grid", "hidden=2"], "given twice"),
        (["--seeds", "2", "--plot-seed", "5", "--plot", "PLOTDIR"], "--plot-seed 5"),
        (["--seeds", "2", "--plot-seed", "0"], "--plot-seed chooses the seed --plot draws"),
        (["xor", "--seeds", "2"], "experiment 'xor' is named twice"),
        (["--seeds", "2", "--set", "lr=-1"], "lr must be"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, words):
    argv = [str(tmp_path / "plots") if a == "PLOTDIR" else a for a in argv]
    rc = main(["sweep", "xor", *argv])
    captured = capsys.readouterr()
    assert rc == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert words in lines[0]


def test_unknown_experiment_exits_2(capsys):
    assert main(["sweep", "no-such-experiment", "--seeds", "2"]) == 2
    assert "unknown experiment" in capsys.readouterr().err


def test_ctrl_c_prints_finished_points_and_writes_partial_json(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(sweep, "sweep_bar", ctrl_c_at(50, seen, at_call=2))
    out = tmp_path / "partial.json"
    rc = main(["sweep", "xor", "--seeds", "3", "--grid", "hidden=2,3,4",
               "--set", "max_sweeps=3000", "--json", str(out)])
    assert rc == 130
    at = seen["at"]
    assert 50 <= at < 3000
    captured = capsys.readouterr()
    assert "2 of 3 points" in captured.out
    assert f"interrupted at sweep {at:,} of 3,000" in captured.out
    assert "interrupted after 2 of 3 points" in captured.err
    assert not out.exists()  # a partial sweep never takes the name of a complete one
    data = json.loads((tmp_path / "partial.partial.json").read_text())
    assert data["interrupted"] is True and data["complete"] is False
    assert data["points_planned"] == 3 and data["points_done"] == 2
    first, second = data["points"]
    assert not first["partial"] and first["sweeps_done"] == 3000
    assert second["partial"] and second["sweeps_done"] == at


def test_ctrl_c_between_points(tmp_path, capsys, monkeypatch):
    real = sweep.measure
    calls = {"n": 0}

    def measure_then_interrupt(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep, "measure", measure_then_interrupt)
    out = tmp_path / "p.json"
    rc = main(["sweep", "xor", "--seeds", "2", "--grid", "hidden=2,3", "--set", "max_sweeps=20",
               "--json", str(out), "--plot", str(tmp_path / "figs")])
    assert rc == 130
    assert "1 of 2 points" in capsys.readouterr().out
    assert not out.exists()
    data = json.loads((tmp_path / "p.partial.json").read_text())
    assert data["points_done"] == 1 and data["interrupted"] is True
    assert not (tmp_path / "figs").exists()  # no figures after Ctrl-C


def test_progress_goes_to_stderr(capsys, monkeypatch):
    monkeypatch.setenv("BACKPROP86_PROGRESS", "1")
    # 20 seeds × 2,600 sweeps × 4 cases passes the bar's 200,000 threshold.
    rc = main(["sweep", "xor", "--seeds", "20", "--set", "max_sweeps=2600"])
    captured = capsys.readouterr()
    assert rc == 0
    assert "xor [1/1]" in captured.err and "sweep" in captured.err
    assert "xor [1/1]" not in captured.out


def test_plot_writes_every_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    figs = tmp_path / "figs"
    rc = main(["sweep", "xor", "--seeds", "3", "--grid", "hidden=0,2", "--set", "max_sweeps=100",
               "--plot", str(figs), "--plot-seed", "1"])
    assert rc == 0
    names = sorted(p.name for p in figs.iterdir())
    expected = [
        "decision-boundary-xor-hidden0-seed1", "decision-boundary-xor-hidden2-seed1",
        "error-curves-xor-hidden0", "error-curves-xor-hidden2", "hidden-xor-hidden2-seed1",
        "solved-rate",
    ]
    assert names == sorted(f"{n}.{ext}" for n in expected for ext in ("png", "svg"))


def test_failures_are_judged_on_each_replica_s_own_training_cases(capsys):
    # family-trees holds out 4 of its 104 cases per replica: each net is judged on its 100.
    rc = main(["sweep", "family-trees", "--seeds", "2", "--set", "max_sweeps=3"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "of 100 patterns" in out and "held out right" in out


# ---------------------------------------------------------------------------- verdicts per point


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """A short family-trees sweep over two readings, with its JSON: the claims judged per point."""
    path = tmp_path_factory.mktemp("sweep") / "ft.json"
    rc = main(["sweep", "family-trees-tuned", "--seeds", "3", "--set", "max_sweeps=60",
               "--grid", "pool=single,apart", "--json", str(path)])
    assert rc == 0
    return path, json.loads(path.read_text())


def test_every_point_is_judged_on_the_experiment_s_claims(judged):
    _, record = judged
    exp = load("family-trees-tuned").with_settings(["max_sweeps=60"])  # as the sweep ran
    for point in record["points"]:
        assert [v["what"] for v in point["verdicts"]] == [c["what"] for c in exp.claims]
        held = next(v for v in point["verdicts"] if v["metric"] == "heldout")
        k = sum(point["heldout"]["correct"])
        assert held["measured"]["count"] == [k, 4 * 3]  # the point's own held-out cases
        assert set(point["checks"]) >= {"family_units", "family_no_sex_unit"}


def test_table_prints_each_point_s_verdicts_as_markdown(judged, capsys):
    path, record = judged
    assert main(["sweep", "--table", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + len(record["points"])
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:5] == ["point", "seeds", "trained (95% CI)", "to solve: median, all seeds",
                          "held-out right (95% CI)"]
    ran = load("family-trees-tuned").with_settings(["max_sweeps=60"])
    assert header[5:] == [c["what"] for c in ran.claims]
    row = [c.strip() for c in lines[3].strip("|").split("|")]
    point = record["points"][1]
    assert row[0] == "family-trees-tuned pool=apart"
    assert row[2].startswith(f"{point['solved']}/3 ")
    held = next(v for v in point["verdicts"] if v["metric"] == "heldout")
    cell = row[5 + header[5:].index(held["what"])]
    assert cell == f"{held['verdict']} (p = {held['measured']['p']:.2g})"


def test_the_text_table_names_each_verdict_and_its_numbers(capsys):
    assert main(["sweep", "family-trees", "--seeds", "2", "--set", "max_sweeps=3"]) == 0
    out = capsys.readouterr().out
    assert "Checks and verdicts on the published claims" in out
    assert ("claim    held-out cases answered correctly = 0.875: not reproduced (p = 0); "
            "measured rate 0/8") in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--table", "T.json", "xor"], "--table trains nothing; drop EXPERIMENT_OR_TOML"),
        (["--table", "T.json", "--seeds", "3"], "drop --seeds"),
        (["xor"], "--seeds N is required"),
        ([], "name at least one experiment"),
    ],
)
def test_table_and_required_arguments_are_one_line(tmp_path, capsys, argv, words):
    argv = [a.replace("T.json", str(tmp_path / "T.json")) for a in argv]
    assert main(["sweep", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


@pytest.mark.parametrize("content", ['{"runs": []}', "not json", '{"points": [{"grid": 1}]}'])
def test_table_of_a_file_that_is_not_a_sweep_json_is_one_line(tmp_path, capsys, content):
    bad = tmp_path / "s.json"
    bad.write_text(content)
    assert main(["sweep", "--table", str(bad)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
