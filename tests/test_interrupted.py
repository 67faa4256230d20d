"""Ctrl-C never replaces a complete result (issue 13, item 4).

Every command that trains (run, a run of a series, xor, sweep, reproduce, fit) is
stopped by a progress callback that raises KeyboardInterrupt, as Ctrl-C does inside
the training loop. Each test first writes complete results at the paths the command
is given, then checks that they are unchanged byte for byte, that the partial
results went to ``PATH.partial.*`` (and stderr says so), that no verdict was printed
on the partial numbers ("interrupted at sweep N: no verdict"), and exit code 130.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from backprop86.cli import main
from backprop86.cli.commands import fit as fit_command
from backprop86.cli.commands import reproduce as reproduce_command
from backprop86.cli.commands import run as run_command
from backprop86.cli.commands import sweep as sweep_command
from backprop86.cli.commands import xor as xor_command
from backprop86.cli.interrupted import partial_path
from backprop86.experiments import runner
from ctrl_c import ctrl_c_at

ROOT = Path(__file__).resolve().parents[1]
IRIS = ROOT / "examples" / "iris.csv"


def _complete_files(folder: Path, names: dict[str, bytes]) -> dict[Path, bytes]:
    """Stand-ins for complete results of an earlier run, by path, with their bytes."""
    out = {}
    for name, content in names.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        out[path] = content
    return out


def _unchanged(files: dict[Path, bytes]) -> None:
    for path, content in files.items():
        assert path.read_bytes() == content, f"{path} was changed"


def test_partial_path_names_say_partial(tmp_path, monkeypatch):
    assert partial_path(Path("r.json")) == Path("r.partial.json")
    assert partial_path(Path("out/w.npz")) == Path("out/w.partial.npz")
    assert partial_path(Path("model")) == Path("model.partial")
    assert partial_path(Path("docs/reproduce-full"), folder=True) == Path(
        "docs/reproduce-full.partial")
    assert partial_path(Path("my.report"), folder=True) == Path("my.report.partial")
    monkeypatch.chdir(tmp_path)
    assert partial_path(Path(".")) == tmp_path.resolve().parent / f"{tmp_path.name}.partial"


def test_run_ctrl_c_writes_partial_files_beside_complete_ones(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(run_command, "sweep_bar", ctrl_c_at(50, seen))
    monkeypatch.chdir(tmp_path)
    old = _complete_files(tmp_path, {"r.json": b'{"complete": true}\n', "w.npz": b"PK old",
                                     "ck.npz": b"PK old checkpoint"})
    rc = main(["run", "handbook-xor", "--json", "r.json", "--weights", "w.npz",
               "--checkpoint", "ck.npz", "--plot", "figs"])
    assert rc == 130
    out, err = capsys.readouterr()
    at = seen["at"]
    assert 50 <= at < 289
    assert f"interrupted at sweep {at:,}: no verdict" in out
    assert "verdict     " not in out and "reproduced" not in out  # no verdict on partial numbers
    _unchanged(old)
    record = json.loads((tmp_path / "r.partial.json").read_text())
    assert record["interrupted"] and record["sweeps_done"] == at
    assert record["verdict"] is None and record["verdicts"] == []
    assert main(["verify", "r.partial.json"]) == 0  # re-runs to where it stopped
    assert (tmp_path / "w.partial.npz").exists() and (tmp_path / "ck.partial.npz").exists()
    assert not (tmp_path / "figs").exists()  # no figures of a half-trained net
    assert "the partial results went to r.partial.json, w.partial.npz, not r.json, w.npz" in err
    assert "no figures drawn from an interrupted run" in err
    # the line to continue writes the complete results where they were asked for
    line = next(x for x in err.splitlines() if "continue with: " in x)
    words = shlex.split(line.split("continue with: ", 1)[1])
    assert words[:3] == ["backprop86", "run", "handbook-xor"]
    assert words[words.index("--json"):words.index("--json") + 2] == ["--json", "r.json"]
    assert words[-2:] == ["--resume", "ck.partial.npz"]
    monkeypatch.setattr(run_command, "sweep_bar", ctrl_c_at(10**9, {}))
    assert main(words[1:]) == 0
    assert "verdict     reproduced" in capsys.readouterr().out
    done = json.loads((tmp_path / "r.json").read_text())
    assert not done["interrupted"] and done["summary"]["median_sweeps_to_stop"] == 289


def test_run_ctrl_c_without_checkpoint_names_a_partial_one(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(run_command, "sweep_bar", ctrl_c_at(20, {}))
    monkeypatch.chdir(tmp_path)
    old = _complete_files(tmp_path, {"handbook-xor.checkpoint.npz": b"PK complete"})
    assert main(["run", "handbook-xor"]) == 130
    _unchanged(old)
    assert (tmp_path / "handbook-xor.checkpoint.partial.npz").exists()
    assert "--resume handbook-xor.checkpoint.partial.npz" in capsys.readouterr().err


def test_run_of_a_series_ctrl_c_gives_no_trend_verdict(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(run_command, "sweep_bar", ctrl_c_at(20, seen))
    old = _complete_files(tmp_path, {"c.json": b"complete\n"})
    rc = main(["run", "chauvin", "--seeds", "2", "--set", "max_sweeps=300",
               "--json", str(tmp_path / "c.json")])
    assert rc == 130
    out, err = capsys.readouterr()
    assert f"interrupted at sweep {seen['at']:,}: no verdict (at hidden = 2)" in out
    assert "verdict     " not in out and "series: learning rate" not in out
    _unchanged(old)
    record = json.loads((tmp_path / "c.partial.json").read_text())
    assert record["interrupted"] and len(record["series"]) == 1
    assert record["series"][0]["verdict"] is None and record["series"][0]["values"] == [2]
    assert "c.partial.json, not" in err


def test_xor_ctrl_c_prints_no_predictions(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(xor_command, "sweep_bar", ctrl_c_at(4500, seen))
    old = _complete_files(tmp_path, {"x.json": b"complete\n"})
    assert main(["xor", "--json", str(tmp_path / "x.json")]) == 130
    out, err = capsys.readouterr()
    at = seen["at"]
    assert out.startswith("Step     0 | Loss: 0.2557\n")
    assert "Step  4000" in out and "Step  6000" not in out
    assert "Predicted" not in out
    assert out.endswith(f"interrupted at sweep {at:,}: no verdict\n")
    _unchanged(old)
    assert json.loads((tmp_path / "x.partial.json").read_text())["sweeps_done"] == at
    assert "x.partial.json, not" in err


def test_sweep_keeps_progress_in_the_partial_file_and_removes_it_when_done(
        tmp_path, monkeypatch):
    path = tmp_path / "s.json"
    real = sweep_command.measure
    seen_partial = []

    def measure(*args, **kwargs):
        seen_partial.append(partial_path(path).exists())
        return real(*args, **kwargs)

    monkeypatch.setattr(sweep_command, "measure", measure)
    old = _complete_files(tmp_path, {"s.json": b"complete\n"})
    argv = ["sweep", "xor", "--seeds", "2", "--grid", "hidden=2,3", "--set", "max_sweeps=200",
            "--json", str(path)]
    assert main(argv) == 0
    assert seen_partial == [False, True]  # the first point was kept there as the sweep went
    assert not partial_path(path).exists()
    assert json.loads(path.read_text())["complete"] is True
    assert path.read_bytes() != old[path]


def test_sweep_ctrl_c_never_writes_over_a_complete_sweep(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(sweep_command, "sweep_bar", ctrl_c_at(50, seen, at_call=2))
    old = _complete_files(tmp_path, {"s.json": b"complete\n"})
    rc = main(["sweep", "xor", "--seeds", "3", "--grid", "hidden=2,3,4", "--set",
               "max_sweeps=3000", "--json", str(tmp_path / "s.json")])
    assert rc == 130
    out, err = capsys.readouterr()
    assert f"interrupted at sweep {seen['at']:,} of 3,000: partial numbers, no verdict" in out
    _unchanged(old)
    data = json.loads((tmp_path / "s.partial.json").read_text())
    assert data["interrupted"] and data["points_done"] == 2 and data["points"][1]["partial"]
    assert data["points"][1]["verdicts"] == []
    assert "s.partial.json, not" in err


def _interrupting_runner(monkeypatch, at_call: int, at_sweep: int) -> dict:
    """Make the ``at_call``-th training run of ``reproduce`` see Ctrl-C at ``at_sweep``."""
    real, calls, seen = runner.run, {"n": 0}, {}

    def run(exp, seeds, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_call:
            def progress(done, total, active):
                if done >= at_sweep:
                    seen["at"] = done
                    raise KeyboardInterrupt
            kwargs["progress"] = progress
        return real(exp, seeds, **kwargs)

    monkeypatch.setattr(runner, "run", run)
    return seen


def test_reproduce_replaces_stale_figures_and_never_a_complete_report(tmp_path, capsys,
                                                                      monkeypatch):
    out = tmp_path / "rep"
    mine = _complete_files(out, {"notes.txt": b"my notes\n", "figures/keep.txt": b"mine\n"})
    _complete_files(out, {"figures/old-run-figure.png": b"stale", "figures/old.svg": b"stale"})
    argv = ["reproduce", "--quick", "--only", "handbook-xor", "--out", str(out)]
    assert main(argv) == 0
    _unchanged(mine)
    figures = sorted(p.name for p in (out / "figures").iterdir())
    report = (out / "report.md").read_text()
    assert "old-run-figure.png" not in figures and "old.svg" not in figures
    assert [f for f in figures if f != "keep.txt"] == sorted(
        Path(line.split("(")[1].rstrip(")")).name for line in report.splitlines()
        if line.startswith("![")), "figures on disk are exactly the report's"
    complete = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    # Ctrl-C: the complete report stays as it was; the partial one goes to rep.partial
    seen = _interrupting_runner(monkeypatch, 1, 30)
    capsys.readouterr()
    assert main(argv) == 130
    err = capsys.readouterr().err
    _unchanged(complete)
    assert {p for p in out.rglob("*") if p.is_file()} == set(complete)
    partial = tmp_path / "rep.partial"
    text = (partial / "report.md").read_text()
    assert "**Interrupted**" in text and f"interrupted at sweep {seen['at']:,}: no verdict" in text
    assert "| reproduced |" not in text
    assert not (partial / "figures").exists()  # no figures of a half-trained net
    results = json.loads((partial / "results.json").read_text())
    assert results["interrupted"] and results["runs"][0]["interrupted_at"] == seen["at"]
    assert f"{partial}, not {out}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "rep.partial"]  # no leftovers


@pytest.mark.parametrize("at_call", [1, 2])
def test_reproduce_ctrl_c_outside_training_keeps_the_runs_done(tmp_path, monkeypatch, at_call):
    """Ctrl-C while a figure is drawn (KeyboardInterrupt outside the training loop)."""
    real, calls = reproduce_command.run_one, {"n": 0}

    def run_one(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == at_call:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(reproduce_command, "run_one", run_one)
    out = tmp_path / "rep"
    rc = main(["reproduce", "--quick", "--only", "xor", "--only", "handbook-xor", "--no-plots",
               "--out", str(out)])
    assert rc == 130 and not out.exists()
    results = json.loads((tmp_path / "rep.partial" / "results.json").read_text())
    assert len(results["runs"]) == at_call - 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep.partial"]


def test_fit_ctrl_c_keeps_the_complete_model(tmp_path, capsys, monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(fit_command, "sweep_bar", ctrl_c_at(20, seen))
    old = _complete_files(tmp_path, {"m.json": b"{}\n", "m.npz": b"PK old", "f.json": b"{}\n"})
    rc = main(["fit", str(IRIS), "--target", "species", "--out", str(tmp_path / "m"),
               "--json", str(tmp_path / "f.json")])
    assert rc == 130
    out, err = capsys.readouterr()
    _unchanged(old)
    meta = json.loads((tmp_path / "m.partial.json").read_text())
    assert meta["interrupted_at"] == seen["at"] and meta["weights"] == "m.partial.npz"
    assert (tmp_path / "m.partial.npz").exists() and (tmp_path / "f.partial.json").exists()
    assert f"interrupted at sweep {seen['at']:,}: the model is only partly trained" in out
    assert "m.partial.json, " in err and "not " in err
