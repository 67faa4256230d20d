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


def test_variable_timing_gives_150_sequences_letters_at_two_of_steps_1_to_4():
    task = make_task("sequence_completion", timing="variable")
    assert task.inputs.shape == (150, 20) and task.targets.shape == (150, 12)
    assert len(set(task.labels)) == 150
    steps = task.inputs.reshape(150, 4, 5)
    assert (steps.sum(axis=(1, 2)) == 2).all()  # two letters, one-hot, at two steps
    i = task.labels.index("A-D-")  # A at step 1, D at step 3
    assert steps[i].argmax(axis=1).tolist()[::2] == [0, 3]
    assert steps[i, 1].sum() == 0 and steps[i, 3].sum() == 0
    assert task.targets[i].reshape(4, 3).argmax(axis=1).tolist() == [0, 1, 1, 0]  # 1221
    with pytest.raises(ConfigError, match="'fixed' or 'variable'"):
        make_task("sequence_completion", timing="random")


def test_the_variable_experiment_omits_half_the_connections_the_same_for_every_seed():
    exp = load("sequence-completion-variable")
    net, twin = exp.network(), exp.network()
    assert net.steps == 8 and net.group("hidden").size == 60
    assert net.input_slots == tuple(("letters", t) for t in (1, 2, 3, 4))
    kept = [float(m.mean()) for m in net.masks.values()]
    assert len(kept) == 4 and all(0.3 < k < 0.7 for k in kept)
    for name, mask in net.masks.items():
        assert (mask == twin.masks[name]).all()  # one draw per mask_seed
    r = run(exp.with_settings(["max_sweeps=3"]), [0, 1])
    for name, mask in r.net.masks.items():
        assert (r.net.params[name][:, mask[0] == 0] == 0).all()  # omitted stay omitted
    split = make_split(exp.task(), [0, 1], exp.split_spec())
    assert split is not None and split.test[0].n_cases == 14
    assert split.test[0].labels != split.test[1].labels  # each seed its own test sequences


@pytest.mark.parametrize(("extra", "message"), [
    ({"density": 0}, "fraction of connections kept"),
    ({"density": 0.5, "mask": [[1.0]]}, "mask or a density"),
    ({"density": 0.5, "mask_seed": -1}, "mask_seed"),
])
def test_density_is_checked(extra, message):
    from backprop86.experiments import build_network

    spec = {"groups": [{"name": "a", "size": 1, "activation": "input"},
                       {"name": "b", "size": 1}],
            "projections": [{"from": "a", "to": "b", **extra}]}
    with pytest.raises(ConfigError, match=message):
        build_network(spec)
