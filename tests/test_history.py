"""What a run's error history keeps (issue 17, item 3: memory that does not grow with sweeps).

The history never changes the training: every mode gives the same weights and outcomes;
``"log"`` and ``"none"`` keep what their docstrings say, of the replicas asked for; a
continued run and a checkpoint keep the same columns as one uninterrupted run.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import checkpoint
from backprop86.errors import ConfigError
from backprop86.experiments import load
from backprop86.history import LOG_POINTS, HistoryPlan, history_columns, log_index
from backprop86.train import Trainer

SEEDS = [0, 1, 2, 3, 4]


def _trainer(max_sweeps: int = 300, **history) -> Trainer:
    exp = load("xor").with_settings([f"max_sweeps={max_sweeps}", "hidden=2"])
    return Trainer(exp.network(replicas=len(SEEDS)), exp.task(), exp.config, SEEDS, **history)


@pytest.fixture(scope="module")
def every():
    return _trainer().train()


def test_log_index_is_log_spaced_bounded_and_sorted():
    for columns in (1, 2, 10, 300, 10_001, 10**9):
        index = log_index(columns)
        assert index[0] == 0 and index[-1] == columns - 1
        assert np.all(np.diff(index) > 0) and index.size <= min(columns, LOG_POINTS)
    assert log_index(10_001).size == 218  # 300 points, neighbours merged by rounding
    assert history_columns(10_001, 1) == 10_001 and history_columns(10, 3) == 4


@pytest.mark.parametrize("mode", ["log", "none"])
def test_the_history_never_changes_the_training(every, mode):
    other = _trainer(history=mode).train()
    for name in ("sweeps", "solved", "first_solved", "final_error", "final_outputs", "stopped"):
        assert np.array_equal(getattr(other, name), getattr(every, name)), name


def test_log_keeps_the_every_columns_it_names(every):
    log = _trainer(history="log").train()
    index = log_index(300)
    assert np.array_equal(log.history_sweeps, index)
    assert np.array_equal(log.history, every.history[:, index], equal_nan=True)
    assert np.array_equal(every.history_sweeps, np.arange(300))


def test_none_keeps_nothing_and_some_replicas_keep_their_rows(every):
    none = _trainer(history="none").train()
    assert none.history.shape == (5, 0) and none.history_sweeps.size == 0
    rows = _trainer(history="every", history_replicas=[3, 1]).train()
    assert np.array_equal(rows.history_replicas, [1, 3])
    assert np.array_equal(rows.history, every.history[[1, 3]], equal_nan=True)


def test_the_history_is_handed_over_read_only_without_a_copy():
    trainer = _trainer()
    result = trainer.train()
    assert not result.history.flags.writeable
    assert np.shares_memory(result.history, trainer.loop.history)
    with pytest.raises(ValueError):
        result.history[0, 0] = 1.0


def test_a_continued_log_history_spreads_over_the_longer_run(every):
    trainer = _trainer(max_sweeps=100, history="log")
    first = trainer.train()
    assert np.array_equal(first.history_sweeps, log_index(100))
    trainer.config = trainer.config.replace(max_sweeps=300)
    second = trainer.train()
    longer = log_index(300)
    expected = np.concatenate([log_index(100), longer[longer >= 100]])
    assert np.array_equal(second.history_sweeps, expected)
    assert np.array_equal(second.history, every.history[:, expected], equal_nan=True)


@pytest.mark.parametrize("history", [{"history": "log"}, {"history": "none"},
                                     {"history": "every", "history_replicas": [0, 4]}])
def test_a_checkpoint_keeps_the_plan_and_resumes_exactly(tmp_path, history):
    whole = _trainer(**history).train()
    half = _trainer(**history)  # stopped after sweep 120, as a first Ctrl-C stops it
    half.train(lambda sweep, cap, active: half.request_stop() if sweep >= 120 else None)
    assert 120 <= half.sweep < 300
    path = tmp_path / "c.npz"
    checkpoint.save(path, half, {"seeds": SEEDS})
    resumed = _trainer(**history)
    checkpoint.resume(resumed, checkpoint.load(path))
    result = resumed.train()
    assert np.array_equal(result.history, whole.history, equal_nan=True)
    assert np.array_equal(result.history_sweeps, whole.history_sweeps)
    assert np.array_equal(result.final_error, whole.final_error)


def test_a_default_checkpoint_resumes_into_a_run_keeping_less(tmp_path, every):
    """An older checkpoint (every column of every replica) resumes into a run that keeps a
    log history: the columns it wants are taken from the file."""
    half = _trainer(max_sweeps=120)
    half.train()
    path = tmp_path / "c.npz"
    checkpoint.save(path, half, {"seeds": SEEDS})
    resumed = _trainer(history="log")
    checkpoint.resume(resumed, checkpoint.load(path))
    result = resumed.train()
    assert np.array_equal(result.history, every.history[:, log_index(300)], equal_nan=True)


def test_a_bad_history_is_refused_in_one_line():
    with pytest.raises(ConfigError, match="history 'all' is not a history mode; expected one "
                                          "of 'every', 'log', 'none'"):
        _trainer(history="all")
    with pytest.raises(ConfigError, match="outside the batch's replicas 0…4"):
        _trainer(history_replicas=[5])
    with pytest.raises(ConfigError, match="list of replica indices"):
        _trainer(history_replicas=[0.5])
    assert HistoryPlan.make("log", 1, None, 3).count(10**12) <= LOG_POINTS
