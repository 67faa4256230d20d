"""TrainConfig: `--set KEY=VALUE` parsing for every field type, validation, and round trips."""

from __future__ import annotations

import dataclasses
import typing

import pytest

from backprop86 import TrainConfig
from backprop86.config import parse_assignment, setting_names
from backprop86.errors import ConfigError
from backprop86.experiments import load


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # float
        ("lr=0.25", ("lr", 0.25)),
        ("lr=2", ("lr", 2.0)),
        ("decay=1e-3", ("decay", 0.001)),
        # int
        ("max_sweeps=300", ("max_sweeps", 300)),
        ("max_sweeps=1_000", ("max_sweeps", 1000)),
        ("batch_size= 4 ", ("batch_size", 4)),
        # bool
        ("decay_biases=false", ("decay_biases", False)),
        ("decay_biases=No", ("decay_biases", False)),
        ("decay_biases=0", ("decay_biases", False)),
        ("decay_biases=true", ("decay_biases", True)),
        ("decay_biases=on", ("decay_biases", True)),
        # str (choices)
        ("grain=pattern", ("grain", "pattern")),
        ("error=cross_entropy", ("error", "cross_entropy")),
        # optional
        ("ecrit=none", ("ecrit", None)),
        ("ecrit=None", ("ecrit", None)),
        ("ecrit=0.04", ("ecrit", 0.04)),
        ("stop_margin=", ("stop_margin", None)),
        ("init_file=xor.wts", ("init_file", "xor.wts")),
        ("init_file=null", ("init_file", None)),
        # fixed-length tuples
        ("targets=0.1,0.9", ("targets", (0.1, 0.9))),
        ("targets=(0.1, 0.9)", ("targets", (0.1, 0.9))),
        ("dead_zone=0.2,0.8", ("dead_zone", (0.2, 0.8))),
        # schedules: sweep:value pairs
        ("lr_schedule=20:0.01", ("lr_schedule", ((20, 0.01),))),
        ("lr_schedule=20:0.01,40:0.005", ("lr_schedule", ((20, 0.01), (40, 0.005)))),
        ("momentum_schedule=[0:0.5, 20:0.9]", ("momentum_schedule", ((0, 0.5), (20, 0.9)))),
        ("lr_schedule=", ("lr_schedule", ())),
        # dashes are read as underscores
        ("max-sweeps=5", ("max_sweeps", 5)),
    ],
)
def test_set_values_are_parsed_by_the_field_type(text, expected):
    key, value = parse_assignment(text)
    assert (key, value) == expected
    assert type(value) is type(expected[1])
    config = TrainConfig().override([text])
    assert getattr(config, key) == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("lr=abc", "lr must be a number"),
        ("lr=nan", "lr must be a number"),
        ("lr=inf", "lr must be a finite number > 0"),
        ("lr=0", "lr must be a finite number > 0"),
        ("max_sweeps=1.5", "max_sweeps must be an integer"),
        ("max_sweeps=0", "max_sweeps must be an integer ≥ 1"),
        ("decay_biases=maybe", "decay_biases must be true or false"),
        ("targets=0.1", "targets must be 2 comma-separated values"),
        ("targets=0.9,0.1", "targets must be two values low < high"),
        ("lr_schedule=abc", "lr_schedule must be a list like 20:0.01"),
        ("lr_schedule=20:0.01:3", "lr_schedule must be a list like 20:0.01"),
        ("lr_schedule=40:0.1,20:0.2", "increasing sweeps"),
        ("momentum_schedule=5:1.5", "momentum_schedule must be values in [0, 1)"),
        ("momentum=1", "momentum must be a number in [0, 1)"),
        ("adam_beta1=1", "adam_beta1 must be a number in [0, 1)"),
        ("adam_eps=0", "adam_eps must be a finite number > 0"),
        ("ecrit=0", "ecrit must be a number > 0"),
        ("grain=batch", "grain must be one of sweep, pattern, minibatch"),
        ("init=file", "init = 'file' needs init_file"),
        ("nosuchkey=1", "unknown setting 'nosuchkey'; expected one of error, report"),
        ("lr", "--set expects KEY=VALUE"),
    ],
)
def test_bad_values_are_one_clear_config_error(text, words):
    with pytest.raises(ConfigError) as info:
        TrainConfig().override([text])
    message = str(info.value)
    assert words in message
    assert "\n" not in message


def test_every_field_type_is_covered_by_the_parser():
    """Each annotation of TrainConfig is one of the types the --set parser reads."""
    hints = typing.get_type_hints(TrainConfig)
    readable = {
        float, int, bool, str, float | None, str | None,
        tuple[float, float], tuple[tuple[int, float], ...],
    }
    assert {hints[f.name] for f in dataclasses.fields(TrainConfig)} <= readable
    assert setting_names() == [f.name for f in dataclasses.fields(TrainConfig)]


def test_round_trip_through_a_result_file_dict():
    cfg = TrainConfig().override([
        "lr=0.01", "lr_schedule=20:0.02", "momentum_schedule=20:0.9", "targets=0.1,0.9",
        "ecrit=0.5", "decay_biases=false", "grain=minibatch", "batch_size=5",
    ])
    data = cfg.to_dict()
    assert data["lr_schedule"] == [[20, 0.02]] and data["targets"] == [0.1, 0.9]
    assert TrainConfig.from_dict(data) == cfg
    assert cfg.replace(lr=0.5).lr == 0.5 and cfg.replace(lr=0.5).targets == (0.1, 0.9)


def test_toml_values_are_coerced_to_the_field_types():
    cfg = TrainConfig.from_dict({"lr": 1, "max_sweeps": 100.0, "lr_schedule": [[20, 1]],
                                 "decay_biases": 0})
    assert cfg.lr == 1.0 and type(cfg.lr) is float
    assert cfg.max_sweeps == 100 and type(cfg.max_sweeps) is int
    assert cfg.lr_schedule == ((20, 1.0),)
    assert cfg.decay_biases is False
    with pytest.raises(ConfigError, match="unknown setting 'learning_rate'"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    with pytest.raises(ConfigError, match="max_sweeps must be an integer"):
        TrainConfig.from_dict({"max_sweeps": True})


def test_experiment_settings_reach_parameters_and_the_config():
    exp = load("xor").with_settings(["hidden=2", "bias=true", "lr=0.25", "targets=0.1,0.9"])
    assert exp.params == {"hidden": 2, "bias": True}
    assert exp.config.lr == 0.25 and exp.config.targets == (0.1, 0.9)
    net = exp.network()
    assert list(net.params) == ["w:input->hidden1", "w:hidden1->output", "b:hidden1", "b:output"]
    assert net.params["w:input->hidden1"].shape == (1, 2, 2)
    with pytest.raises(ConfigError, match="hidden must be an integer, got 'two'"):
        load("xor").with_settings(["hidden=two"])
    with pytest.raises(ConfigError, match="bias must be true or false"):
        load("xor").with_settings(["bias=2"])
    with pytest.raises(ConfigError, match="unknown setting 'hiddn' for experiment 'xor'"):
        load("xor").with_settings(["hiddn=3"])
