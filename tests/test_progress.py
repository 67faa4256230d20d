"""Progress bars on stderr: BACKPROP86_PROGRESS turns them on and off, whatever stderr is."""

from __future__ import annotations

import pytest

from backprop86 import ConfigError
from backprop86.cli import progress

LONG = 10**9  # replicas × sweeps × cases: long enough to be worth a bar


class _Terminal:
    """A stand-in for stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


@pytest.mark.parametrize("word", ["off", "0", "false", "no", "OFF"])
def test_an_off_word_turns_progress_off_even_on_a_terminal(word, monkeypatch):
    monkeypatch.setattr(progress.sys, "stderr", _Terminal())
    monkeypatch.setenv("BACKPROP86_PROGRESS", word)
    assert progress.wanted() is False
    with progress.sweep_bar(100, "run", LONG) as bar:
        assert bar is None


@pytest.mark.parametrize("word", ["on", "1", "true", "yes"])
def test_an_on_word_turns_progress_on_without_a_terminal(word, monkeypatch):
    monkeypatch.setenv("BACKPROP86_PROGRESS", word)
    assert progress.wanted() is True


def test_unset_progress_follows_the_terminal(monkeypatch):
    monkeypatch.delenv("BACKPROP86_PROGRESS", raising=False)
    monkeypatch.setattr(progress.sys, "stderr", _Terminal())
    assert progress.wanted() is True


def test_an_unknown_word_is_an_error(monkeypatch):
    monkeypatch.setenv("BACKPROP86_PROGRESS", "sometimes")
    with pytest.raises(ConfigError, match="BACKPROP86_PROGRESS must be true or false"):
        progress.wanted()
