"""One reading of on/off words, environment switches and KEY=VALUE, everywhere."""

from __future__ import annotations

import pytest

from backprop86 import ConfigError, TrainConfig, experiments
from backprop86.switches import env_flag, parse_bool, split_assignment


@pytest.mark.parametrize("word", ["1", "true", "True", "YES", "on", " on "])
def test_on_words(word):
    assert parse_bool(word, "flag") is True


@pytest.mark.parametrize("word", ["0", "false", "FALSE", "no", "off", "Off\n"])
def test_off_words(word):
    assert parse_bool(word, "flag") is False


def test_other_words_are_errors_that_name_the_setting():
    words = r"true or false \(or yes/on, no/off, 1/0\)"
    with pytest.raises(ConfigError, match=rf"^bias must be {words}, got 'maybe'$"):
        parse_bool("maybe", "bias")
    with pytest.raises(ConfigError, match="got ''"):
        parse_bool("", "bias")
    assert parse_bool(True, "bias") is True
    assert parse_bool(0, "bias") is False  # a TOML integer


def test_env_flag(monkeypatch):
    monkeypatch.delenv("BACKPROP86_TEST_SWITCH", raising=False)
    assert env_flag("BACKPROP86_TEST_SWITCH", True) is True
    assert env_flag("BACKPROP86_TEST_SWITCH", False) is False
    for text, default, expected in [("off", True, False), ("0", True, False), ("on", False, True),
                                    ("", True, True), ("  ", False, False)]:
        monkeypatch.setenv("BACKPROP86_TEST_SWITCH", text)
        assert env_flag("BACKPROP86_TEST_SWITCH", default) is expected, text
    monkeypatch.setenv("BACKPROP86_TEST_SWITCH", "sometimes")
    with pytest.raises(ConfigError, match="BACKPROP86_TEST_SWITCH must be true or false"):
        env_flag("BACKPROP86_TEST_SWITCH", True)


def test_split_assignment():
    assert split_assignment("lr=0.25") == ("lr", "0.25")
    assert split_assignment(" init-scale = 0.5") == ("init_scale", " 0.5")
    assert split_assignment("targets=0,1;0.1,0.9") == ("targets", "0,1;0.1,0.9")
    assert split_assignment("x=a=b") == ("x", "a=b")
    with pytest.raises(ConfigError, match=r"^--set expects KEY=VALUE, got 'lr'$"):
        split_assignment("lr")
    with pytest.raises(ConfigError, match=r"^--grid expects KEY=V1,V2, got '=1'$"):
        split_assignment("=1", "--grid", "KEY=V1,V2")


def test_every_setting_reads_the_same_words():
    # a TrainConfig field, an experiment parameter and TOML values: one reading
    assert TrainConfig().override(["decay_biases=off"]).decay_biases is False
    assert TrainConfig.from_dict({"decay_biases": "YES"}).decay_biases is True
    exp = experiments.load("xor")
    assert exp.with_settings(["bias=on"]).params["bias"] is True
    assert exp.with_settings(["bias=0"]).params["bias"] is False
    words = r"true or false \(or yes/on, no/off, 1/0\)"
    with pytest.raises(ConfigError, match=rf"bias must be {words}, got 'maybe'"):
        exp.with_settings(["bias=maybe"])
    with pytest.raises(ConfigError, match=rf"decay_biases must be {words}, got 'maybe'"):
        TrainConfig().override(["decay_biases=maybe"])
