"""``backprop86 verify``: result files carry a manifest and re-run to the same numbers."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from backprop86 import __version__
from backprop86.cli import main
from backprop86.cli.commands.verify import compare
from backprop86.experiments import load
from backprop86.experiments.runner import run
from backprop86.io import jsonable, save_json

SHORT = ["--set", "max_sweeps=300"]


def _run_json(tmp_path: Path, *argv: str, name: str = "r.json") -> Path:
    path = tmp_path / name
    assert main(["run", *argv, "--json", str(path)]) == 0
    return path


def test_result_file_carries_a_manifest(tmp_path, capsys):
    data = json.loads(_run_json(tmp_path, "xor", *SHORT, "--set", "hidden=2").read_text())
    assert data["config"]["max_sweeps"] == 300 and data["params"]["hidden"] == 2
    assert data["seeds"] == [42]
    assert data["experiment_table"]["name"] == "xor"
    assert data["experiment_file"].endswith("xor.toml")
    v = data["versions"]
    assert v["backprop86"] == __version__ and {"numpy", "python", "platform", "machine"} <= set(v)
    assert data["sweeps_done"] == 300 and data["interrupted"] is False


@pytest.mark.parametrize("argv", [
    ["xor", *SHORT, "--set", "hidden=2", "--seeds", "3"],
    ["handbook-xor"],  # initial weights from a file; stops at sweep 289
    ["xor", *SHORT, "--set", "dtype=float32", "--set", "grain=pattern", "--set", "order=shuffled"],
])
def test_verify_matches_exactly(tmp_path, capsys, argv):
    path = _run_json(tmp_path, *argv)
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "every number must match exactly" in out and "match: all" in out


def test_verify_reports_a_changed_number(tmp_path, capsys):
    path = _run_json(tmp_path, "xor", *SHORT)
    data = json.loads(path.read_text())
    data["replicas"][0]["final_error"] *= 1 + 1e-12  # one part in 1e12 is not "exactly"
    data["replicas"][0]["sweeps"] += 1
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH: 2 of" in out
    assert "replicas[0].final_error: recorded" in out and "replicas[0].sweeps: recorded 301" in out


def test_other_platform_uses_the_stated_tolerance(tmp_path, capsys):
    path = _run_json(tmp_path, "xor", *SHORT)
    data = json.loads(path.read_text())
    data["versions"]["numpy"] = "0.0-elsewhere"
    data["replicas"][0]["final_error"] *= 1 + 1e-9  # inside the default rtol 1e-6
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "another platform: numpy '0.0-elsewhere' there" in out
    assert "floats within relative 1e-06" in out
    assert main(["verify", str(path), "--rtol", "1e-10"]) == 1
    data["replicas"][0]["final_error"] *= 1 + 1e-3
    path.write_text(json.dumps(data))
    assert main(["verify", str(path)]) == 1


def test_verify_needs_no_original_toml(tmp_path, capsys):
    """The experiment table is in the result file: moving the TOML away does not matter."""
    toml = tmp_path / "mine.toml"
    shutil.copy(load("xor").path, toml)
    path = _run_json(tmp_path, str(toml), *SHORT)
    toml.unlink()
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0


def test_verify_an_interrupted_run(tmp_path):
    """Interrupted at sweep 30: the re-run stops where it stopped."""
    exp = load("xor").with_settings(["max_sweeps=300"])

    def progress(done: int, total: int, active: int) -> None:
        if done >= 30:
            raise KeyboardInterrupt

    result = run(exp, [1, 2], progress=progress)
    assert result.result.interrupted
    path = tmp_path / "i.json"
    save_json(path, result.to_json())
    assert main(["verify", str(path)]) == 0


@pytest.mark.parametrize(("content", "expected"), [
    ("{not json", "is not valid JSON"),
    ("[1, 2]", "holds a JSON list, expected an object"),
    ('{"summary": {}, "replicas": []}', "lacks experiment, params, config, seeds"),
    ('{"experiment": "xor"}', "is not a run result"),
])
def test_verify_bad_files_exit_2(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.json"
    path.write_text(content)
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_verify_unknown_experiment_without_table_exits_2(tmp_path, capsys):
    path = _run_json(tmp_path, "xor", *SHORT)
    data = json.loads(path.read_text())
    data["experiment_table"] = None
    data["experiment"] = "no-such-experiment"
    path.write_text(json.dumps(data))
    assert main(["verify", str(path)]) == 2
    assert "unknown experiment 'no-such-experiment'" in capsys.readouterr().err
    assert main(["verify", str(tmp_path / "missing.json")]) == 2


def test_compare_walks_every_leaf():
    a = jsonable({"x": [1, 2.0, {"y": True, "z": None}], "s": "t"})
    assert compare(a, a, exact=True, rtol=0).match
    b = {"x": [1, 2.0 + 1e-15, {"y": True, "z": None}], "s": "t"}
    assert not compare(a, b, exact=True, rtol=0).match
    assert compare(a, b, exact=False, rtol=1e-12).match
    c = {"x": [1, 2.0, {"y": False, "z": None}], "s": "t"}
    diffs = compare(a, c, exact=False, rtol=1.0).differences
    assert diffs == ["x[2].y: recorded True, re-run False"]


def test_verify_a_run_whose_settings_pick_another_claim(tmp_path, capsys):
    """``--set hidden=3`` makes addition's ``when = {hidden = 3}`` claim the headline verdict;
    the rebuilt run must judge that claim too, not the one of the file's default parameters."""
    path = _run_json(tmp_path, "addition", "--set", "hidden=3", "--seeds", "4", *SHORT)
    assert json.loads(path.read_text())["verdict"]["what"] == "solved with one extra hidden unit"
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    assert "match: all" in capsys.readouterr().out


# ----------------------------------------------------------------------------
# Every result file the package writes (issue 13, item 7)
# ----------------------------------------------------------------------------


def test_verify_a_sweep_file(tmp_path, capsys):
    path = tmp_path / "s.json"
    assert main(["sweep", "xor", "--seeds", "5", "--grid", "hidden=2,3", *SHORT,
                 "--json", str(path)]) == 0
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "a sweep (`backprop86 sweep --json`), 2 runs to re-run" in out
    assert "xor hidden=2: recorded by the numpy-first engine; re-ran with the numpy-first " \
           "engine; match" in out
    assert "match: all" in out and "of the 2 runs came out again" in out
    data = json.loads(path.read_text())
    data["points"][1]["solved"] += 1
    path.write_text(json.dumps(data))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "xor hidden=3:" in out and "solved: recorded" in out and "MISMATCH: 1 of 2 runs" in out


def test_verify_an_interrupted_sweep(tmp_path, capsys, monkeypatch):
    """The partial file of a Ctrl-C'd sweep re-runs each point to where it stopped."""
    from contextlib import contextmanager

    from backprop86.cli.commands import sweep

    calls = {"n": 0}

    @contextmanager
    def bar(total, label, work):
        calls["n"] += 1

        def update(done, _total, _active):
            if calls["n"] == 2 and done >= 40:
                raise KeyboardInterrupt

        yield update

    monkeypatch.setattr(sweep, "sweep_bar", bar)
    path = tmp_path / "s.json"
    assert main(["sweep", "handbook-xor", "--seeds", "1", "--grid", "lr=0.5,0.25",
                 "--json", str(path)]) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "s.partial.json")]) == 0


def test_verify_a_run_of_series_and_a_report(tmp_path, capsys):
    path = tmp_path / "c.json"
    assert main(["run", "chauvin", "--seeds", "2", "--set", "max_sweeps=100",
                 "--json", str(path)]) == 0
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "chauvin hidden=32:" in out and "chauvin lr=0.75:" in out and "of the 9 runs" in out
    out_dir = tmp_path / "rep"
    assert main(["reproduce", "--quick", "--only", "xor", "--only", "handbook-xor",
                 "--no-plots", "--out", str(out_dir)]) == 0
    capsys.readouterr()
    results = str(out_dir / "results.json")
    assert main(["verify", results]) == 0
    out = capsys.readouterr().out
    assert "a report's results (`backprop86 reproduce`), 2 runs" in out
    assert main(["verify", results, "--only", "handbook-xor"]) == 0
    assert "1 run to re-run" in capsys.readouterr().out
    assert main(["verify", results, "--only", "parity"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_verify_refuses_a_model_file_in_one_line(tmp_path, capsys):
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"format": "backprop86-model", "version": 1}))
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert "is a model written by `backprop86 fit`, not a result file" in err
    assert err.count("\n") == 1


def test_verify_checks_the_experiment_name_against_its_table(tmp_path, capsys):
    path = _run_json(tmp_path, "xor", *SHORT)
    data = json.loads(path.read_text())
    data["experiment"] = "handbook-xor"  # a known name, but not the table's
    path.write_text(json.dumps(data))
    before = path.read_bytes()
    capsys.readouterr()
    assert main(["verify", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == (
        f"backprop86: error: {path}: the experiment is named 'handbook-xor' but its "
        "experiment_table is 'xor'; expected the two to agree (was the file edited?)\n")
    assert captured.out == "" and path.read_bytes() == before


def test_verify_reruns_with_the_recorded_engine(tmp_path, capsys):
    """auto would pick numpy-last for 100 tiny networks; the file says numpy-first trained it."""
    path = _run_json(tmp_path, "xor", "--seeds", "100", "--set", "max_sweeps=50",
                     "--set", "engine=numpy-first")
    data = json.loads(path.read_text())
    data["config"]["engine"] = "auto"  # as if auto had chosen numpy-first where it ran
    path.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert "recorded by the numpy-first engine; re-ran with the numpy-first engine" in out
    assert "every number must match exactly" in out


def test_verify_says_in_words_when_another_engine_reran(tmp_path, capsys, monkeypatch):
    """The file's engine cannot run here (no numba): auto re-runs it, floats are compared
    within the tolerance, and a different outcome is explained, not just reported."""
    from backprop86.engine import select

    path = _run_json(tmp_path, "xor", "--seeds", "100", "--set", "max_sweeps=200",
                     "--set", "engine=numpy-last")
    data = json.loads(path.read_text())
    data["config"]["engine"] = "auto"
    data["engine"] = "compiled-last"  # as if trained where numba was installed
    path.write_text(json.dumps(data))
    monkeypatch.setattr(select, "numba_missing", lambda: "it needs numba, which is not installed")
    capsys.readouterr()
    assert main(["verify", str(path)]) == 0
    out = capsys.readouterr().out
    assert ("recorded by the compiled-last engine; re-ran with the numpy-last engine (the "
            "compiled-last engine cannot train it here (engine 'compiled-last' cannot train "
            "this run: it needs numba, which is not installed") in out
    assert "floats within relative 1e-06" in out
    data["replicas"][7]["solved"] = not data["replicas"][7]["solved"]
    path.write_text(json.dumps(data))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "replicas[7].solved: recorded" in out
    assert ("note: the compiled-last and numpy-last engines agree to rounding, not bit for bit "
            "(relative differences near 1e-15 a sweep); over 200 sweeps") in out
