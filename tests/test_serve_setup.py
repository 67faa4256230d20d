"""What a page asks to train (backprop86.serve.setup), as an experiment table, as TOML, as
Python: checked against the page's limits, and the same run the library trains."""

from __future__ import annotations

import contextlib
import io
import tomllib
from pathlib import Path

import numpy as np
import pytest

from backprop86 import experiments
from backprop86.errors import ConfigError
from backprop86.serve import setup as setups
from backprop86.serve.limits import LIMITS
from backprop86.serve.toml_text import dumps
from backprop86.train import Trainer


@pytest.mark.parametrize("name", experiments.names())
def test_every_shipped_experiment_table_survives_the_toml_writer(name):
    raw = experiments.load(name).raw
    assert tomllib.loads(dumps(raw)) == raw


def test_the_toml_writer_escapes_what_toml_must():
    table = {"name": 'quote " back \\ tab \t new\nline é ✓', "a b": 1.5, "n": -3,
             "flag": False, "list": [1, "x", [2.5]], "inf": float("inf"),
             "t": {"x": {"deep": [{"k": 1}, {"k": 2}]}, "arr": [{"a": 1}, {"b": {"c": 2}}]}}
    assert tomllib.loads(dumps(table)) == table


def test_an_experiment_setup_keeps_the_file_and_sets_its_parameters():
    document = setups.table({"task": "xor", "hidden": [3], "bias": True, "lr": 0.3,
                             "seed": 7})
    assert document["params"] == {"hidden": 3, "bias": True}
    assert document["network"]["sizes"] == [2, "$hidden", 1]  # claims naming hidden still apply
    assert document["train"]["lr"] == 0.3 and document["seeds"]["default"] == [7]
    exp = setups.experiment(document)
    assert exp.network().describe() == experiments.load("xor").with_settings(
        ["hidden=3", "bias=true"]).network().describe()
    deeper = setups.table({"task": "xor", "hidden": [3, 2]})
    assert deeper["network"]["sizes"] == [2, 3, 2, 1]


def test_a_variant_experiment_is_written_out_whole():
    document = setups.table({"task": "family-trees-tuned"})
    assert "extends" not in document
    assert setups.experiment(document).config == experiments.load("family-trees-tuned").config


@pytest.mark.parametrize("setup, words", [
    ([], "a setup must be a JSON object"),
    ({}, "a setup needs task"),
    ({"task": "nope"}, "unknown task 'nope'"),
    ({"task": "xor", "colour": 1}, r"unknown setup keys \['colour'\]"),
    ({"task": "spirals", "hidden": [LIMITS.units + 1]}, "from 1 to 64"),
    ({"task": "spirals", "hidden": [2] * (LIMITS.hidden_groups + 1)}, "at most 6 group"),
    ({"task": "spirals", "n": LIMITS.points + 1}, "n must be an integer from 4 to 2,000"),
    ({"task": "spirals", "max_sweeps": LIMITS.sweeps + 1}, "from 1 to 100,000"),
    ({"task": "spirals", "lr": -1}, r"lr must be a number in \(0, 100\]"),
    ({"task": "spirals", "lr": float("nan")}, "lr must be a number"),
    ({"task": "spirals", "momentum": 1}, "momentum must be a number"),
    ({"task": "spirals", "bias": "yes"}, "bias must be true or false"),
    ({"task": "spirals", "grain": "epoch"}, "grain must be one of"),
    ({"task": "spirals", "seed": True}, "seed must be an integer"),
    ({"task": "xor", "noise": 0.1}, "noise is a setting of point sets"),
    ({"task": "family-trees", "hidden": [3]}, "not a chain of layers"),
    ({"task": "csv:abc", "target": "y"}, "no uploaded data 'abc'"),
    ({"task": "spirals", "error": "cross_entropy", "activation": "tanh", "hidden": [2]}, None),
])
def test_a_bad_setup_is_refused_in_one_line(setup, words):
    if words is None:  # the control: a good setup passes
        setups.experiment(setups.table(setup))
        return
    with pytest.raises(ConfigError, match=words):
        setups.experiment(setups.table(setup))


def test_the_python_lines_train_what_the_page_trains():
    document = setups.table({"task": "circle", "n": 60, "hidden": [4], "max_sweeps": 30,
                             "seed": 5})
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(setups.python_lines(document), "<page>", "exec"), {})
    exp = setups.experiment(document)
    result = Trainer(exp.network(), exp.task(), exp.config, [5]).train()
    words = out.getvalue().split()
    assert words[:2] == ["sweeps", "30"]
    assert np.isclose(float(words[4]), result.final_error[0], rtol=1e-12)


def test_the_readme_states_the_page_limits_as_they_are():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    said = (f"{LIMITS.hidden_groups} hidden groups of at most {LIMITS.units} units, "
            f"{LIMITS.points:,} points, {LIMITS.seeds:,} seeds,\n{LIMITS.sweeps:,} sweeps, a "
            f"{LIMITS.upload_bytes // 1_000_000} MB CSV of at most {LIMITS.upload_rows:,} rows, "
            f"{LIMITS.sessions} pages and {LIMITS.sweeps_at_once} many-seeds sweeps at once")
    assert said in readme
