"""Sizes are checked before anything is allocated (issue 13, item 1).

Every size a user can ask for — seeds, replicas, units, sweeps, history, cases —
from flags, ``--set``, ``--grid``, TOML files and result files given to
``verify`` goes through :mod:`backprop86.resources`: a count too large for a
64-bit integer, or a run whose estimate exceeds the memory available, is one
line on stderr naming the estimate, the memory and the flag that lowers it,
exit 2, nothing written. The tests fake a small available memory, and make
training itself fail, so that a missing check fails fast instead of allocating.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from backprop86 import Network, TrainConfig, make_task, resources
from backprop86.cli import main
from backprop86.errors import ConfigError
from backprop86.experiments import load
from backprop86.history import LOG_POINTS
from backprop86.resources import (
    ABSURD,
    INT_MAX,
    SizeError,
    check,
    run_estimate,
    size_text,
    whole_number,
)
from backprop86.train import Trainer

#: The memory the tests pretend is available.
FAKE = 64 << 20


@pytest.fixture
def small_memory(monkeypatch):
    """64 MiB available, and any training that starts fails the test at once."""
    monkeypatch.setattr(resources, "available_memory", lambda: FAKE)

    def no_training(self, progress=None):
        raise AssertionError("training started: the size was not checked")

    monkeypatch.setattr(Trainer, "train", no_training)


# ----------------------------------------------------------------------------
# The validator
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [
    (12, 12), ("12", 12), (" 1_000 ", 1000), ("1e6", 1_000_000), (3.0, 3), (np.int64(7), 7),
    (INT_MAX, INT_MAX),
])
def test_whole_numbers(value, expected):
    assert whole_number("n", value) == expected


@pytest.mark.parametrize(("value", "message"), [
    ("2.5", "n must be an integer, got '2.5'"),
    ("x", "n must be an integer, got 'x'"),
    (True, "n must be an integer, got True"),
    (float("nan"), "n must be an integer"),
    (-1, "n must be an integer ≥ 0, got -1"),
    ("1e400", "n must be an integer of at most 2**63 − 1"),
    (10**30, "too large"),
    (INT_MAX + 1, "too large"),
])
def test_not_whole_numbers(value, message):
    with pytest.raises(ConfigError) as info:
        whole_number("n", value)
    assert message in str(info.value)


def test_size_text():
    assert size_text(512) == "512 B"
    assert size_text(1536) == "1.5 KiB"
    assert size_text(149 << 30) == "149 GiB"
    assert size_text(10**26).endswith("EiB")


def _estimate(replicas=1, max_sweeps=100, **sizes):
    shape = {"cases": 4, "inputs": 2, "outputs": 1, "units": 3, "params": 9, **sizes}
    return run_estimate(replicas=replicas, settings=TrainConfig(max_sweeps=max_sweeps), **shape)


def test_estimate_grows_with_every_size():
    base = _estimate().total
    for change in ({"replicas": 10}, {"max_sweeps": 10_000}, {"cases": 400}, {"units": 300},
                   {"params": 900}):
        assert _estimate(**change).total > base, change


def test_history_every_lowers_the_history():
    config = TrainConfig(max_sweeps=10**6, history_every=1000)
    thin = run_estimate(replicas=100, cases=4, inputs=2, outputs=1, units=3, params=9,
                        settings=config)
    assert thin.total < _estimate(replicas=100, max_sweeps=10**6).total


def test_check_names_the_part_the_memory_and_the_remedy(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: FAKE)
    with pytest.raises(SizeError) as info:
        check(_estimate(replicas=1000, max_sweeps=10**6), "this run", {"replicas": "--seeds"})
    text = str(info.value)
    assert text.startswith("this run needs about 7.46 GiB of memory, more than the 64 MiB "
                           "available (the error history: 1,000 replicas × 1,000,000 recorded "
                           "sweeps); lower --seeds or max_sweeps, or raise history_every"), text
    check(_estimate(), "a small run")  # fits: no error


def test_unknown_memory_refuses_only_absurd_sizes(monkeypatch):
    monkeypatch.setattr(resources, "available_memory", lambda: None)
    check(_estimate(replicas=10**6, max_sweeps=10**6), "a big run")  # 15 TiB: allowed
    with pytest.raises(SizeError, match="more than any machine has"):
        check(_estimate(replicas=10**9, max_sweeps=10**9), "an absurd run")
    assert _estimate(replicas=10**9, max_sweeps=10**9).total > ABSURD


def test_available_memory_is_read():
    memory = resources.available_memory()
    assert memory is None or memory > 0


# ----------------------------------------------------------------------------
# The API refuses before allocating
# ----------------------------------------------------------------------------


def test_a_task_too_large_is_refused_before_its_cases_are_made(small_memory, monkeypatch):
    import backprop86.tasks.symmetry as symmetry

    def made(n):
        raise AssertionError("the cases were made")

    monkeypatch.setattr(symmetry, "all_binary", made)
    with pytest.raises(SizeError, match=r"task 'symmetry' with 1,099,511,627,776 cases needs "
                                        r"about .* lower bits"):
        make_task("symmetry", bits=40)


def test_a_network_too_large_is_refused_before_its_weights(small_memory):
    with pytest.raises(SizeError, match=r"a network of 1,000 replicas needs about .* \(the "
                                        r"weights: 1,000 replicas × 300,000 weights\)"):
        Network.mlp([2, 100_000, 1], bias=False, replicas=1000)


def test_a_run_too_large_is_refused_before_its_history(small_memory):
    net = Network.mlp([2, 2, 1])
    with pytest.raises(SizeError, match=r"training 1 replica needs .* \(the error history"):
        Trainer(net, make_task("xor"), TrainConfig(max_sweeps=10**9), [0])


def test_a_run_keeping_no_history_costs_the_same_however_long_it_trains():
    """Issue 17: a seed's memory does not grow with the sweeps when no per-sweep history is
    kept (``run``, ``sweep``), and a log history is bounded; a million seeds of the
    article's net fit in 4 GiB by the estimate."""
    exp = load("xor").with_settings(["hidden=4"])
    long = exp.with_settings(["max_sweeps=1e9"])
    assert exp.estimate(10**6, history="none").total == long.estimate(10**6).total
    log_long, log_short = (e.estimate(10**6, history="log").total for e in (long, exp))
    assert 0 < log_long - log_short <= 10**6 * LOG_POINTS * 8
    assert exp.estimate(10**6, history="none").total < 4 << 30
    assert long.estimate(10**6, history="every").total > 1000 * exp.estimate(10**6).total


def test_experiment_seeds_are_checked_before_the_list_is_made(small_memory):
    exp = load("xor")
    with pytest.raises(SizeError, match="a run of xor with 99,999,999,999 replicas"):
        exp.seeds(99_999_999_999)
    with pytest.raises(SizeError, match="--seeds must be an integer of at most"):
        exp.seeds(10**23)
    assert exp.seeds(3) == [0, 1, 2]


def test_an_experiment_estimate_matches_the_built_network():
    exp = load("family-trees")
    net = exp.network()
    units = sum(g.size for g in net.groups if not g.is_input)
    params = sum(w.size for w in net.params.values())
    est = exp.estimate(1)
    weights = next(p for p in est.parts if p.what.startswith("the weights"))
    assert weights.why == f"1 replica × {params:,} weights"
    activations = next(p for p in est.parts if p.what == "the activations")
    assert f"× {units:,} units" in activations.why


# ----------------------------------------------------------------------------
# The command line: one line, exit 2, nothing written
# ----------------------------------------------------------------------------

TOML = {
    "wide.toml": 'name = "w"\n[task]\nname = "xor"\n[network]\nsizes = [2, 1_000_000_000, 1]\n',
    "count.toml": 'name = "c"\n[task]\nname = "xor"\n[network]\nsizes = [2, 2, 1]\n'
                  "[seeds]\ncount = 1_000_000_000_000\n",
    "huge.toml": 'name = "u"\n[task]\nname = "xor"\n[network]\nsizes = [2, 2, 1]\n'
                 "[train]\nmax_sweeps = 100_000_000_000_000_000_000\n",
}

CLI_CASES = [
    (["xor", "--steps", "10000000000"], "the xor run with --hidden 4 and --steps "
     "10,000,000,000 needs about 74.5 GiB of memory, more than the 64 MiB available (the error "
     "history: 1 replica × 10,000,000,000 recorded sweeps); lower --steps"),
    (["xor", "--hidden", "100000000"], "(the activations: 1 replica × 4 cases × 100,000,001 "
     "units); lower --hidden"),
    (["xor", "--steps", "99999999999999999999999"], "argument --steps: expected a positive "
     "integer of at most 2**63 − 1, got '99999999999999999999999': too large"),
    (["run", "xor", "--seeds", "99999999999999999999999"], "argument --seeds: expected a "
     "positive integer of at most 2**63 − 1"),
    (["run", "xor", "--seeds", "1000000"], "a run of xor with 1,000,000 replicas needs about "
     "3.31 GiB of memory, more than the 64 MiB available (the per-replica records"),
    (["run", "xor", "--set", "max_sweeps=1e400"], "max_sweeps must be an integer of at most "
     "2**63 − 1 (9,223,372,036,854,775,807), got '1e400': too large"),
    (["run", "xor", "--seeds", "1e8"], "a run of xor with 100,000,000 replicas needs about"),
    (["run", "xor", "--seeds", "1e8"], "(the per-replica records: 100,000,000 replicas); "
     "lower --seeds\n"),
    (["run", "xor", "--set", "hidden=100000000"], "units); lower --set hidden\n"),
    (["run", "symmetry", "--set", "bits=40"], "a run of symmetry with 200 replicas needs about"),
    (["run", "symmetry", "--set", "bits=40"], "lower --seeds or --set bits"),
    (["run", "wide.toml"], "a run of w with 1 replica needs about"),
    (["run", "count.toml"], "[seeds] count = 1,000,000,000,000 needs about 1.82 PiB of memory"),
    (["run", "huge.toml"], "max_sweeps must be an integer of at most 2**63 − 1"),
    (["sweep", "xor", "--seeds", "1000000", "--grid", "hidden=1,2"], "--grid hidden=1 (xor): "
     "a run of xor with 1,000,000 replicas needs about"),
    (["sweep", "xor", "--seeds", "2", "--grid", "hidden=2,100000000"],
     "--grid hidden=100000000 (xor): a run of xor with 2 replicas needs about"),
    (["gradcheck", "xor", "--replicas", "1000000000"], "a gradient check of xor with "
     "1,000,000,000 replicas needs about"),
    (["gradcheck", "xor", "--replicas", "1000000000"], "lower --replicas"),
    (["fit", "data.csv", "--target", "y", "--out", "model", "--seeds", "1000000000000"],
     "training 1,000,000,000,000 networks on 4 rows needs about"),
    (["fit", "data.csv", "--target", "y", "--out", "model", "--hidden", "1000000000"],
     "training 1 network on 4 rows needs about"),
    (["fit", "data.csv", "--target", "y", "--out", "model", "--hidden", "1e400"],
     "--hidden must be an integer of at most 2**63 − 1"),
]


def _prepare(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name, text in TOML.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "data.csv").write_text("a,b,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    (tmp_path / "out.json").write_text('{"kept": true}\n')


def _one_line(err: str) -> None:
    assert err.count("\n") == 1 and err.startswith("backprop86"), err
    assert "Traceback" not in err and "MemoryError" not in err, err


@pytest.mark.parametrize(("argv", "message"), CLI_CASES,
                         ids=[" ".join(c[0])[:60] for c in CLI_CASES])
def test_cli_refuses_sizes_that_do_not_fit(argv, message, tmp_path, monkeypatch, capsys,
                                           small_memory):
    _prepare(tmp_path, monkeypatch)
    before = sorted(p.name for p in tmp_path.iterdir())
    json_flag = [] if argv[0] in ("gradcheck",) else ["--json", "out.json"]
    assert main([*argv, *json_flag]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    _one_line(err)
    assert (tmp_path / "out.json").read_text() == '{"kept": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def _result_file(tmp_path, monkeypatch, **changes):
    """A result of ``run xor --json`` (trained for real, before memory is faked), changed."""
    path = tmp_path / "r.json"
    assert main(["run", "xor", "--set", "max_sweeps=20", "--json", str(path)]) == 0
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if key == "max_sweeps":
            data["config"]["max_sweeps"] = value
        else:
            data[key] = value
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize("changes", [{"seeds": list(range(100_000))}], ids=["seeds"])
def test_verify_checks_the_run_a_file_records(changes, tmp_path, monkeypatch, capsys):
    path = _result_file(tmp_path, monkeypatch, **changes)
    capsys.readouterr()
    before = path.read_bytes()
    monkeypatch.setattr(resources, "available_memory", lambda: FAKE)
    monkeypatch.setattr(Trainer, "train", lambda self, progress=None: pytest.fail("trained"))
    assert main(["verify", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"re-running xor of {path} (" in err and "needs about" in err, err
    _one_line(err)
    assert path.read_bytes() == before


def test_series_points_are_checked_before_any_trains(tmp_path, monkeypatch, capsys,
                                                     small_memory):
    """An experiment that runs a series of points: a point too large stops it before the first."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "series.toml").write_text(
        'name = "s"\n[params]\nhidden = 2\n[task]\nname = "xor"\n[network]\n'
        'sizes = [2, "$hidden", 1]\n[train]\nmax_sweeps = 10\n'
        '[[series]]\nparam = "hidden"\nvalues = [2, 100_000_000]\n')
    assert main(["run", "series.toml"]) == 2
    err = capsys.readouterr().err
    assert "a run of s at hidden=100000000 with 1 seed needs about" in err, err
    _one_line(err)


def test_runs_that_fit_still_run(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(resources, "available_memory", lambda: FAKE)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "xor", "--seeds", "3", "--set", "max_sweeps=50"]) == 0
    assert main(["xor", "--steps", "100"]) == 0
