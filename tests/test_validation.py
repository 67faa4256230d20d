"""Bad input, API and CLI: one clear line naming what is wrong and what is expected.

The API raises a subclass of :class:`backprop86.errors.Backprop86Error` (a
``ValueError``); the command line prints the same message as one line on stderr
and exits 2, never with a traceback.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import Group, Network, Projection, Task, TrainConfig, make_task, train
from backprop86.cli import main
from backprop86.errors import Backprop86Error, ConfigError, DataError, ShapeError
from backprop86.experiments import build_network, load
from backprop86.functions import error_function

NET = Network.mlp([2, 3, 1])
X, D = np.zeros((4, 2)), np.zeros((4, 1))
SSE = error_function("sse")


def _train(net, task, **config):
    return lambda: train(net, task, TrainConfig(max_sweeps=1, **config))


API_CASES = [
    # wrong shapes: the expected and the actual shape are named
    ("predict: wrong width", lambda: NET.predict(np.zeros((4, 3))), ShapeError,
     "inputs have shape (4, 3), expected (cases, 2) or (1, cases, 2)"),
    ("predict: 1-D", lambda: NET.predict(np.zeros(2)), ShapeError, "inputs have shape (2,)"),
    ("gradients: targets too wide", lambda: NET.gradients(X, np.zeros((4, 2)), SSE), ShapeError,
     "targets have shape (4, 2), expected (cases, 1)"),
    ("gradients: case counts differ", lambda: NET.gradients(X, np.zeros((3, 1)), SSE), ShapeError,
     "4 cases of inputs but 3 cases of targets"),
    ("forward: mapping lacks a group", lambda: NET.forward({}), ShapeError,
     "expected exactly the input groups ['input']"),
    ("forward: mapping with a wrong shape", lambda: NET.forward({"input": np.zeros((4, 5))}),
     ShapeError, "inputs of group 'input' have shape (4, 5), expected (cases, 2)"),
    ("set_params: wrong shape", lambda: NET.copy().set_params({"b:output": np.zeros(3)}),
     ShapeError, "parameter 'b:output' has shape (3,), expected (1, 1)"),
    ("mask of the wrong shape",
     lambda: Network([Group("i", 2, None), Group("o", 1)], [Projection("i", "o", np.ones((1, 2)))]),
     ShapeError, "mask of i->o has shape (1, 2), expected (2, 1)"),
    ("task: case counts differ", lambda: Task("t", np.zeros((4, 2)), np.zeros((3, 1))), ShapeError,
     "4 input cases but 3 target cases"),
    ("task/network mismatch", _train(Network.mlp([3, 2, 1]), make_task("xor")), ShapeError,
     "task 'xor' has 2 inputs and 1 outputs, but the network expects 3 inputs"),
    # NaN / inf in patterns, weights and targets
    ("predict: NaN input", lambda: NET.predict(np.array([[np.nan, 0.0]])), DataError,
     "inputs hold a non-finite value (NaN or inf) at index (0, 0, 0)"),
    ("predict: inf input", lambda: NET.predict(np.array([[0.0, np.inf]])), DataError,
     "non-finite value (NaN or inf) at index (0, 0, 1)"),
    ("gradients: NaN target", lambda: NET.gradients(X, np.full((4, 1), np.nan), SSE), DataError,
     "targets hold a non-finite value"),
    ("task: NaN input", lambda: Task("t", [[np.nan, 0.0]], [[0.0]]), DataError,
     "task 't': inputs hold a non-finite value at case 0, unit 0"),
    ("task: inf target", lambda: Task("t", [[0.0, 0.0]], [[np.inf]]), DataError,
     "targets hold a non-finite value"),
    ("task: text", lambda: Task("t", [["a", "b"]], [[0]]), DataError,
     "inputs must be a table of numbers"),
    ("task: ragged rows", lambda: Task("t", [[0, 0], [1]], [[1], [0]]), DataError,
     "rows of different lengths"),
    ("task: care mask not 0/1", lambda: Task("t", [[0, 0]], [[1]], care=[[0.5]]), DataError,
     "the care mask must hold only 0 and 1"),
    ("set_params: NaN", lambda: NET.copy().set_params({"b:output": [[np.nan]]}), DataError,
     "parameter 'b:output' holds a non-finite value"),
    ("predict: text", lambda: NET.predict(np.array([["a", "b"]])), DataError,
     "inputs must be real numbers, got dtype <U1"),
    # targets outside the error function's range, and errors that do not fit the outputs
    ("gradients: cross-entropy target 2", lambda: NET.gradients(X, np.full((4, 1), 2.0),
                                                                error_function("cross_entropy")),
     DataError, "targets lie in [2, 2], but the cross_entropy error needs targets in [0, 1]"),
    ("train: cross-entropy targets -1/1",
     _train(Network.mlp([2, 2, 1]), make_task("xor"), error="cross_entropy", targets=(-1.0, 1.0)),
     DataError, "targets of task 'xor' lie in [-1, 1], but the cross_entropy error needs"),
    ("train: cross-entropy on linear outputs",
     _train(Network.mlp([2, 2, 1], output_activation="linear"), make_task("xor"),
            error="cross_entropy"),
     ConfigError, "the cross_entropy error needs logistic or softmax output units"),
    # zero or negative sizes
    ("mlp: hidden size 0", lambda: Network.mlp([2, 0, 1]), ConfigError,
     "size of hidden1 must be a positive integer, got 0"),
    ("mlp: negative size", lambda: Network.mlp([2, -3, 1]), ConfigError, "got -3"),
    ("mlp: fractional size", lambda: Network.mlp([2, 2.5, 1]), ConfigError, "got 2.5"),
    ("replicas 0", lambda: Network.mlp([2, 2, 1], replicas=0), ConfigError,
     "replicas must be a positive integer, got 0"),
    ("group of size 0",
     lambda: Network([Group("i", 0, None), Group("o", 1)], [Projection("i", "o")]),
     ConfigError, "size of group 'i' must be a positive integer, got 0"),
    ("task without cases", lambda: Task("t", np.zeros((0, 2)), np.zeros((0, 1))), ShapeError,
     "task 't' has no cases"),
    ("[network] negative size", lambda: build_network({"sizes": [2, -1, 1]}), ConfigError,
     "layer sizes must be integers ≥ 0, got [2, -1, 1]"),
    # settings
    ("config: lr 0", lambda: TrainConfig(lr=0), ConfigError, "lr must be a finite number > 0"),
    ("config: max_sweeps 2.5", lambda: TrainConfig(max_sweeps=2.5), ConfigError,
     "max_sweeps must be an integer, got 2.5"),
    ("config: infinite target", lambda: TrainConfig(targets=(0.0, float("inf"))), ConfigError,
     "targets must be two values low < high, both finite"),
    ("config: infinite lr in schedule", lambda: TrainConfig(lr_schedule=((10, float("inf")),)),
     ConfigError, "lr_schedule must be finite values > 0"),
    ("unknown experiment", lambda: load("nope"), ConfigError, "unknown experiment 'nope'"),
    ("unknown setting", lambda: load("xor").with_settings(["foo=1"]), ConfigError,
     "unknown setting 'foo' for experiment 'xor'"),
    ("unknown task", lambda: make_task("nope"), ConfigError, "unknown task 'nope'"),
    ("[network] misspelt key", lambda: build_network({"sizes": [2, 2, 1], "activaton": "tanh"}),
     ConfigError, "[network]: unknown keys ['activaton']"),
    ("[[network.groups]] without name",
     lambda: build_network({"groups": [{"size": 2, "activation": "input"}]}), ConfigError,
     "lacks name"),
]


@pytest.mark.parametrize(("label", "call", "kind", "message"), API_CASES,
                         ids=[c[0] for c in API_CASES])
def test_api_bad_input(label, call, kind, message):
    with pytest.raises(kind) as info:
        call()
    assert isinstance(info.value, ValueError) and isinstance(info.value, Backprop86Error)
    text = str(info.value)
    assert message in text and "\n" not in text


def test_bad_seeds():
    for seeds, message in (([-1], "seeds must be integers ≥ 0, got -1"),
                           ([1.5], "got 1.5"), (["a"], "got 'a'")):
        with pytest.raises(ConfigError, match=message):
            train(Network.mlp([2, 2, 1]), make_task("xor"), TrainConfig(max_sweeps=1), seeds)
    with pytest.raises(ConfigError, match="too large for init 'normal'"):
        train(Network.mlp([2, 2, 1]), make_task("xor"),
              TrainConfig(max_sweeps=1, init="normal"), [2**40])


# ----------------------------------------------------------------------------
# The command line: exit 2, one line, the API's message
# ----------------------------------------------------------------------------

TOML = {
    "neg.toml": 'name = "bad"\n[task]\nname = "xor"\n[network]\nsizes = [2, -2, 1]\n',
    "typo.toml": 'name = "bad"\n[task]\nname = "xor"\n[network]\nsizes = [2, 2, 1]\n'
                 'activaton = "tanh"\n',
    "broken.toml": 'name = "bad"\n[task\nname = "xor"\n',
    "negseed.toml": 'name = "bad"\n[task]\nname = "xor"\n[network]\nsizes = [2, 2, 1]\n'
                    '[seeds]\ndefault = [-1]\n',
    "taskparam.toml": 'name = "bad"\n[task]\nname = "xor"\nbits = 3\n[network]\n'
                      'sizes = [2, 2, 1]\n',
    "diverges.toml": 'name = "lin"\n[task]\nname = "xor"\n[network]\nsizes = [2, 3, 1]\n'
                     'output_activation = "linear"\n[train]\nlr = 50.0\nmax_sweeps = 1000\n',
}

CLI_CASES = [
    (["run", "nope"], "unknown experiment 'nope'; expected one of"),
    (["run", "missing.toml"], "no experiment file missing.toml"),
    (["run", "broken.toml"], "broken.toml is not valid TOML"),
    (["run", "neg.toml"], "layer sizes must be integers ≥ 0, got [2, -2, 1]"),
    (["run", "typo.toml"], "[network]: unknown keys ['activaton']"),
    (["run", "negseed.toml"], "seeds must be integers ≥ 0, got -1"),
    (["run", "taskparam.toml"], "[task]: unknown keys ['bits'] for task 'xor'; its parameters "
                                "are none"),
    (["run", "diverges.toml"], "training diverged at sweep 69 (replica 0, seed 0) in group "
                               "'output'"),
    (["run", "xor", "--set", "lr=abc"], "lr must be a number, got 'abc'"),
    (["run", "xor", "--set", "lr=-1"], "lr must be a finite number > 0, got -1.0"),
    (["run", "xor", "--set", "lr=inf"], "lr must be a finite number > 0, got inf"),
    (["run", "xor", "--set", "lr=nan"], "lr must be a number, got 'nan'"),
    (["run", "xor", "--set", "lr"], "--set expects KEY=VALUE, got 'lr'"),
    (["run", "xor", "--set", "foo=1"], "unknown setting 'foo' for experiment 'xor'"),
    (["run", "xor", "--set", "hidden=x"], "hidden must be an integer, got 'x'"),
    (["run", "xor", "--set", "hidden=-1"], "layer sizes must be integers ≥ 0, got [2, -1, 1]"),
    (["run", "xor", "--set", "max_sweeps=0"], "max_sweeps must be an integer ≥ 1, got 0"),
    (["run", "xor", "--set", "max_sweeps=2.5"], "max_sweeps must be an integer, got '2.5'"),
    (["run", "xor", "--set", "momentum=1"], "momentum must be a number in [0, 1), got 1.0"),
    (["run", "xor", "--set", "grain=batch"], "grain must be one of sweep, pattern, minibatch"),
    (["run", "xor", "--set", "targets=0.1"], "targets must be 2 comma-separated values"),
    (["run", "xor", "--set", "targets=0.9,0.1"], "targets must be two values low < high"),
    (["run", "xor", "--set", "error=cross_entropy", "--set", "targets=-1,1"],
     "but the cross_entropy error needs targets in [0, 1]"),
    (["run", "xor", "--set", "init=file"], "init = 'file' needs init_file"),
    (["run", "xor", "--set", "init_file=nowhere.wts"], "init_file 'nowhere.wts' not found"),
    (["run", "xor", "--seeds", "0"], "argument --seeds: expected a positive integer, got '0'"),
    (["run", "xor", "--seeds", "x"], "argument --seeds: expected a positive integer, got 'x'"),
    (["run", "xor", "--json", "."], "cannot write .: it is a folder; give a file name"),
    (["run", "xor", "--resume", "nowhere.npz"], "cannot read nowhere.npz"),
    (["xor", "--hidden", "-1"], "argument --hidden: expected an integer ≥ 0, got '-1'"),
    (["xor", "--seed", "99999999999"], "--seed must be below 2**32"),
    (["xor", "--lr", "0"], "argument --lr: expected a finite number > 0, got '0'"),
    (["verify", "nowhere.json"], "cannot read nowhere.json"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_cli_bad_input(argv, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    for name, text in TOML.items():
        (tmp_path / name).write_text(text)
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert message in err, err
    assert err.count("\n") == 1 and err.startswith("backprop86") and "Traceback" not in err


@pytest.mark.parametrize("setting", ["lr=abc", "hidden=-1", "foo=1", "targets=0.9,0.1"])
def test_cli_prints_the_api_message(setting, capsys):
    """The command line's line is the API's exception text, prefixed by the program name."""
    with pytest.raises(Backprop86Error) as info:
        load("xor").with_settings([setting]).network()
    assert main(["run", "xor", "--set", setting]) == 2
    assert capsys.readouterr().err == f"backprop86: error: {info.value}\n"


def test_an_initial_range_whose_width_overflows_is_refused_in_one_line(capsys):
    from backprop86.cli import main

    assert main(["run", "shift-register", "--set", "init_scale=1e308", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert "init_scale must be a finite number" in err and "Traceback" not in err
