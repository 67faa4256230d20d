"""Conflicting or repeated settings are refused (issue 13, item 6).

A key given twice in ``--set`` (any command), the same key in ``--grid`` and
``--set``, a key in two ``--grid``s, an option that takes one value given twice,
and a ``BACKPROP86_*`` environment variable that is not a switch or has a value
its switch does not take: one line on stderr naming both values (or the values
accepted), exit 2, no traceback, nothing written.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backprop86 import TrainConfig
from backprop86.cli import main
from backprop86.errors import ConfigError
from backprop86.experiments import load
from backprop86.switches import SWITCHES, assignments, check_environment
from backprop86.train import Trainer

ROOT = Path(__file__).resolve().parent.parent

FIT = ["fit", "data.csv", "--target", "y", "--out", "model"]

CLI_CASES = [
    (["run", "xor", "--set", "lr=0.1", "--set", "lr=0.2"],
     "backprop86: error: --set gives lr twice (lr=0.1 and lr=0.2); give each setting once"),
    (["run", "xor", "--set", "init-scale=1", "--set", "init_scale=2"],
     "--set gives init_scale twice (init-scale=1 and init_scale=2)"),
    (["run", "xor", "--set", "hidden=2", "--set", "hidden=3"], "--set gives hidden twice"),
    (["gradcheck", "xor", "--set", "lr=1", "--set", "lr=2"], "--set gives lr twice"),
    (["trace", "xor", "--pattern", "1", "--set", "lr=1", "--set", "lr=2"],
     "--set gives lr twice"),
    ([*FIT, "--set", "lr=0.1", "--set", "lr=0.2"], "--set gives lr twice"),
    (["sweep", "xor", "--seeds", "2", "--set", "lr=1", "--set", "lr=2"],
     "backprop86 sweep: error: --set gives lr twice (lr=1 and lr=2)"),
    (["sweep", "xor", "--seeds", "2", "--grid", "hidden=1,2", "--set", "hidden=3"],
     "backprop86 sweep: error: hidden is given by both --grid hidden=1,2 and --set hidden=3; "
     "give it in one of them"),
    (["sweep", "xor", "--seeds", "2", "--grid", "lr=1,2", "--set", "lr = 3"],
     "lr is given by both --grid lr=1,2 and --set lr=3"),
    (["sweep", "xor", "--seeds", "2", "--grid", "hidden=1,2", "--grid", "hidden=3"],
     "backprop86 sweep: error: --grid hidden is given twice; list all its values in one"),
    (["run", "xor", "--seeds", "2", "--seeds", "3"],
     "backprop86 run: error: argument --seeds: given twice (2 and 3); give it once"),
    (["xor", "--hidden", "2", "--hidden", "3"], "argument --hidden: given twice (2 and 3)"),
    (["sweep", "xor", "--seeds", "2", "--json", "a.json"], "argument --json: given twice"),
    ([*FIT, "--seeds", "2", "--seeds", "3"], "argument --seeds: given twice"),
]


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder with a CSV table and a result file that must survive; training fails the test."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.csv").write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    (tmp_path / "out.json").write_text('{"kept": true}\n')
    monkeypatch.setattr(Trainer, "train", lambda self, progress=None: pytest.fail("trained"))
    return tmp_path


def _one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("backprop86"), err
    assert "Traceback" not in err, err


@pytest.mark.parametrize(("argv", "message"), CLI_CASES,
                         ids=[" ".join(c[0])[:70] for c in CLI_CASES])
def test_cli_refuses_repeated_settings(argv, message, workdir, capsys):
    before = sorted(p.name for p in workdir.iterdir())
    json_flag = [] if argv[0] in ("gradcheck", "trace") else ["--json", "out.json"]
    assert main([*argv, *json_flag]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    _one_line(err)
    assert (workdir / "out.json").read_text() == '{"kept": true}\n'
    assert sorted(p.name for p in workdir.iterdir()) == before


def test_repeatable_options_still_repeat(workdir, monkeypatch, capsys):
    """``--set`` and ``--grid`` are meant to be given many times, each with its own key."""
    monkeypatch.undo()
    monkeypatch.chdir(workdir)
    assert main(["run", "xor", "--set", "lr=0.25", "--set", "max_sweeps=20"]) == 0
    assert main(["sweep", "xor", "--seeds", "2", "--grid", "hidden=1,2", "--grid", "lr=0.5,1",
                 "--set", "max_sweeps=20"]) == 0
    capsys.readouterr()


def test_api_refuses_a_key_given_twice():
    with pytest.raises(ConfigError, match=r"--set gives lr twice \(lr=0.1 and lr=0.2\)"):
        load("xor").with_settings(["lr=0.1", "lr=0.2"])
    with pytest.raises(ConfigError, match="--set gives max_sweeps twice"):
        TrainConfig().override(["max_sweeps=2", "max-sweeps=3"])
    with pytest.raises(ConfigError, match="the file's set gives bits twice"):
        load("parity").with_settings(["bits=2", "bits=3"], option="the file's set")
    assert assignments(["a=1", "b = 2"]) == [("a", "1"), ("b", " 2")]


# ----------------------------------------------------------------------------
# Environment switches
# ----------------------------------------------------------------------------

ENV_CASES = [
    ({"BACKPROP86_FAST": "banana"}, "backprop86: error: unknown environment switch "
     "BACKPROP86_FAST='banana'; the BACKPROP86_ switches are BACKPROP86_PROGRESS"),
    ({"BACKPROP86_PROGRES": "off"}, "unknown environment switch BACKPROP86_PROGRES='off'"),
    ({"BACKPROP86_PROGRESS": "banana"}, "backprop86: error: environment switch "
     "BACKPROP86_PROGRESS='banana' is neither on nor off; it takes on: 1, true, yes, on; off: "
     "0, false, no, off (any case), or empty for its default"),
    ({"BACKPROP86_REQUIRE_TORCH": "maybe"}, "BACKPROP86_REQUIRE_TORCH='maybe' is neither on "
     "nor off"),
]


@pytest.mark.parametrize(("env", "message"), ENV_CASES, ids=[next(iter(e)) for e, _ in ENV_CASES])
@pytest.mark.parametrize("argv", [["list"], ["run", "xor", "--json", "out.json"],
                                  ["sweep", "xor", "--seeds", "2", "--json", "out.json"]],
                         ids=["list", "run", "sweep"])
def test_cli_refuses_unknown_environment_switches(env, message, argv, workdir, monkeypatch,
                                                  capsys):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err, captured.err
    assert captured.out == ""
    _one_line(captured.err)
    assert (workdir / "out.json").read_text() == '{"kept": true}\n'


@pytest.mark.parametrize("value", ["", "1", "on", "OFF", " no ", "true"])
def test_every_on_off_word_is_taken(value):
    check_environment({"BACKPROP86_PROGRESS": value, "BACKPROP86_REQUIRE_TORCH": value,
                       "BACKPROP86_BENCH_BLAS_ENV": "OPENBLAS_CORETYPE=Haswell", "OTHER": "x"})


def test_every_switch_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in SWITCHES:
        assert f"`{name}`" in readme, name
