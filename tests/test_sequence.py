"""Sequence completion (PDP vol. 1 ch. 8, Tables 10-11): the task, the named split, the run."""

from __future__ import annotations

import pytest

from backprop86.cli import main
from backprop86.errors import ConfigError
from backprop86.experiments import load
from backprop86.experiments.holdout import make_split
from backprop86.experiments.runner import run
from backprop86.tasks import make_task
from backprop86.tasks.sequence import PDP_TEST, sequence_digits


def test_the_25_sequences_are_two_letters_then_four_one_hot_digits():
    task = make_task("sequence_completion")
    assert task.inputs.shape == (25, 10) and task.targets.shape == (25, 12)
    assert task.labels[0] == "AA" and task.labels[-1] == "EE" and len(set(task.labels)) == 25
    assert sequence_digits("AD") == (1, 2, 2, 1)  # PDP's example: AD → 1221
    ad = task.labels.index("AD")
    assert task.inputs[ad].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 1, 0]
    assert task.targets[ad].reshape(4, 3).argmax(axis=1).tolist() == [0, 1, 1, 0]
    assert (task.inputs.reshape(25, 2, 5).sum(axis=2) == 1).all()
    assert (task.targets.reshape(25, 4, 3).sum(axis=2) == 1).all()


def test_the_experiments_net_reads_the_letters_at_steps_1_2_and_answers_at_3_to_6():
    exp = load("sequence-completion")
    net = exp.network()
    assert net.recurrent and net.steps == 6
    assert net.input_slots == (("letters", 1), ("letters", 2))
    assert net.output_slots == tuple(("digits", t) for t in (3, 4, 5, 6))
    task = exp.task()
    assert (net.n_inputs, net.n_outputs) == (task.n_inputs, task.n_outputs)
    split = make_split(task, [0, 1, 2], exp.split_spec())
    assert split is not None
    for r in range(3):
        assert split.test[r].labels == tuple(sorted(PDP_TEST))
        assert split.train[r].n_cases == 20


@pytest.mark.parametrize("spec, message", [
    ({"cases": ["AD", "ZZ"]}, "no case labelled 'ZZ'"),
    ({"cases": ["AD"], "holdout": 4}, "give one or the other"),
    ({"cases": "AD"}, "must be a list of case labels"),
    ({"cases": ["AD", "AD"]}, "names a case twice"),
])
def test_a_named_split_is_refused_in_one_line_when_wrong(spec, message):
    with pytest.raises(ConfigError, match=message):
        make_split(make_task("sequence_completion"), [0], spec)


def test_trained_longer_the_net_completes_most_test_sequences():
    # PDP: 4/5 after 260 sweeps. Measured with our reading: ~400 sweeps to learn the 20
    # training sequences, then ~4.2/5 test sequences right (seeds 0-9).
    exp = load("sequence-completion").with_settings(["max_sweeps=1000"])
    result = run(exp, list(range(6)))
    assert bool(result.result.solved.all())
    assert result.summary["heldout"]["fraction"] >= 0.6


def test_the_cli_runs_it_and_scores_the_held_out_sequences(capsys):
    assert main(["run", "sequence-completion", "--seeds", "2", "--set", "max_sweeps=10"]) == 0
    out = capsys.readouterr().out
    assert "held-out correct" in out and "readable engine" in out
