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
