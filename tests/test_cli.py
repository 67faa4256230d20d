"""The command line contract (DESIGN §7): outputs, the JSON record, exit codes, bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backprop86 import experiments
from backprop86.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_list_names_every_shipped_experiment_with_its_source(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    names = experiments.names()
    assert [line.split()[0] for line in lines] == names
    for name, line in zip(names, lines, strict=True):
        exp = experiments.load(name)
        assert line.endswith(exp.source or exp.title)


def test_run_handbook_xor_reports_289_and_reproduced(capsys):
    assert main(["run", "handbook-xor"]) == 0
    out = capsys.readouterr().out
    assert "sweeps to stop (median)     289" in out
    assert "measured    values 289" in out
    assert "verdict     reproduced" in out
    # its weights come from a file, not a seed: the table says so instead of "seeds 1"
    assert "initial weights             from xor.wts (the same for every run; 1 run)" in out
    assert "\nseeds " not in out


def test_run_json_record(tmp_path, capsys):
    path = tmp_path / "sub" / "handbook.json"
    argv = ["run", "handbook-xor", "--seeds", "2", "--set", "grain=pattern", "--json", str(path)]
    assert main(argv) == 0
    capsys.readouterr()
    data = json.loads(path.read_text())
    assert {"experiment", "config", "versions", "summary", "replicas"} <= set(data)
    assert data["experiment"] == "handbook-xor"
    assert data["config"]["grain"] == "pattern" and data["config"]["ecrit"] == 0.04
    assert {"backprop86", "numpy"} <= set(data["versions"])
    summary = data["summary"]
    assert {"seeds", "solved", "rate", "ci95", "median_sweeps_to_solve"} <= set(summary)
    assert summary["seeds"] == 2 and summary["solved"] == 2 and summary["rate"] == 1.0
    lo, hi = summary["ci95"]
    assert 0.0 < lo < 1.0 == hi  # Wilson interval for 2/2
    assert isinstance(summary["median_sweeps_to_solve"], float)
    replicas = data["replicas"]
    assert [r["seed"] for r in replicas] == [0, 1]
    for r in replicas:
        assert {"seed", "sweeps", "final_tss", "solved", "stopped"} <= set(r)
        # xor.wts fixes the start, so both seeds give the per-pattern regression run
        assert r["sweeps"] == 298 and r["stopped"] is True and r["solved"] is True
        assert 0.0 < r["final_tss"] < 0.04
    assert not list(path.parent.glob(".*.tmp"))  # the atomic write left no temporary file


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["xor", "--hidden", "-1"], "--hidden"),
        (["xor", "--lr", "0"], "--lr"),
        (["xor", "--steps", "abc"], "--steps"),
        (["run", "nosuch"], "unknown experiment 'nosuch'"),
        (["run", "xor", "--set", "nosuchkey=1"], "unknown setting 'nosuchkey'"),
        (["run", "xor", "--set", "lr=abc"], "lr must be a number, got 'abc'"),
        (["run", "xor", "--seeds", "0"], "--seeds"),
        (["gradcheck", "nosuch"], "unknown experiment 'nosuch'"),
        (["gradcheck", "xor", "--eps", "-1"], "--eps"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, words, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].strip()
    assert "error:" in lines[0] and words in lines[0]
    assert "Traceback" not in captured.err + captured.out


def test_python_dash_m_runs_the_article(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "backprop86", "xor", "--steps", "2001"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Step     0 | Loss: 0.")
    assert lines[1].startswith("Step  2000 | Loss: 0.")
    assert "Trained predictions vs correct XOR:" in lines
    assert sum(line.startswith(" Input [") for line in lines) == 4


def test_bad_input_through_the_real_process_has_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "backprop86", "run", "xor", "--set", "lr=abc"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr


def test_importing_the_package_does_not_import_matplotlib():
    code = (
        "import sys, backprop86, backprop86.cli, backprop86.analysis.gradcheck\n"
        "print('matplotlib' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["run", "xor", "--plot", "figs"],
         "backprop86 run: error: --plot needs matplotlib, a dependency of backprop86 missing "
         "here: pip install matplotlib"),
        (["sweep", "xor", "--seeds", "2", "--plot", "figs"],
         "backprop86 sweep: error: --plot needs matplotlib, a dependency of backprop86 missing "
         "here: pip install matplotlib"),
        (["reproduce", "--only", "xor", "--out", "out"],
         "backprop86 reproduce: error: the figures need matplotlib, a dependency of backprop86 "
         "missing here: pip install matplotlib, or pass --no-plots"),
    ],
)
def test_figures_without_matplotlib_are_refused_before_any_work(
    argv, line, tmp_path, monkeypatch, capsys
):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err == line + "\n" and captured.out == ""
    assert list(tmp_path.iterdir()) == []  # nothing trained, nothing written


def test_a_default_install_has_what_every_documented_command_needs():
    """matplotlib (figures, `reproduce`) and tqdm (progress bars) are dependencies, not extras;
    the old extras stay, empty, so that old install commands keep working."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = {re.split(r"[<>=!~ ;\[]", d, maxsplit=1)[0] for d in project["dependencies"]}
    assert {"numpy", "matplotlib", "tqdm"} <= core
    extras = project["optional-dependencies"]
    assert extras["plots"] == [] and extras["progress"] == []


@pytest.mark.parametrize("argv", [
    ["run", "xor", "--seeds", "3", "--set", "max_sweeps=50", "--json", "{d}/r.json",
     "--weights", "{d}/w.npz"],
    ["xor", "--steps", "50", "--json", "{d}/r.json"],
    ["sweep", "xor", "--seeds", "3", "--set", "max_sweeps=50", "--json", "{d}/r.json"],
])
def test_a_reader_that_stops_early_loses_no_file(tmp_path, argv):
    """`backprop86 run ... --json x.json | head`: the table's reader goes away before the
    files are written; the command still writes them and exits 0."""
    import subprocess
    import sys

    argv = [a.replace("{d}", str(tmp_path)) for a in argv]
    proc = subprocess.Popen([sys.executable, "-m", "backprop86", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line is printed
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert "Traceback" not in err and "Broken pipe" not in err, err
    outputs = [a for a in argv if str(tmp_path) in a]
    assert outputs and all(Path(a).stat().st_size > 0 for a in outputs)
