"""Recurrent networks: groups and projections run synchronously for T steps (network.py).

The forward pass is checked against values computed by hand, the settings
(steps, delays, clamps, target steps, initial activity, the bias constraint)
against their definitions and their bad values against one clear error each,
and training through the one loop: the readable engine trains recurrent nets,
the fast engines refuse them in one line.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from backprop86.cli import main
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError
from backprop86.experiments import build_network
from backprop86.functions import error_function
from backprop86.network import Group, Network, Projection
from backprop86.tasks.base import Task
from backprop86.train import Trainer

SSE = error_function("sse")


def loop(T: int = 3, **kw) -> Network:
    """One linear unit ``s`` with a self-connection, its start clamped from the data."""
    return Network([Group("s", 1, "linear", False)], [Projection("s", "s")], steps=T,
                   clamp={"s": [0]}, **kw)


def elman(T: int = 4, **kw) -> Network:
    """in → h (within a step), h → h and out → h (from the previous step), h → out."""
    groups = [Group("in", 2, None, False), Group("h", 3), Group("out", 2)]
    projections = [Projection("in", "h"), Projection("h", "h"), Projection("h", "out"),
                   Projection("out", "h")]
    return Network(groups, projections, steps=T, **kw)


def random_params(net: Network, seed: int = 0) -> Network:
    rng = np.random.default_rng(seed)
    net.set_params({k: rng.uniform(-1, 1, v.shape) for k, v in net.params.items()})
    return net


# ----------------------------------------------------------------------------
# The forward pass, by hand
# ----------------------------------------------------------------------------


def test_a_self_loop_multiplies_its_start_once_per_step():
    net = loop(T=3)
    net.set_params({"w:s->s": [[0.5]]})
    assert net.recurrent and net.input_slots == (("s", 0),) and net.output_slots == (("s", 3),)
    y = net.predict(np.array([[2.0], [-4.0]]))
    assert np.allclose(y[0, :, 0], [2.0 * 0.5**3, -4.0 * 0.5**3])


def test_history_initial_activity_and_targets_at_several_steps():
    """Unclamped units start at ``initial``; the outputs are the target steps side by side."""
    net = Network([Group("in", 1, None, False), Group("s", 1, "linear", True)],
                  [Projection("in", "s"), Projection("s", "s")], steps=3, initial=0.2,
                  clamp={"in": [1]}, target_steps={"s": [1, 3]})
    net.set_params({"w:in->s": [[2.0]], "w:s->s": [[0.5]], "b:s": [[0.1]]})
    activity = net.forward(np.array([[1.0]]))
    y = {t: float(activity.y["s", t][0, 0, 0]) for t in range(4)}
    assert y[0] == 0.2
    assert y[1] == pytest.approx(2.0 * 1.0 + 0.5 * 0.2 + 0.1)  # the input at step 1 only
    assert y[2] == pytest.approx(0.5 * y[1] + 0.1)  # the input is off (0) after step 1
    assert y[3] == pytest.approx(0.5 * y[2] + 0.1)
    assert net.output_slots == (("s", 1), ("s", 3))
    assert np.allclose(net.output(activity)[0, 0], [y[1], y[3]])
    assert ("in", 2) not in activity.x and activity.y["in", 2].sum() == 0.0


def test_a_delay_on_a_forward_projection_makes_every_connection_take_a_step():
    """Fully synchronous: in → h → out with delay 1 each, the input reaches out at step 2."""
    groups = [Group("in", 1, None, False), Group("h", 1, "linear", False),
              Group("out", 1, "linear", False)]
    net = Network(groups, [Projection("in", "h", delay=1), Projection("h", "out", delay=1)],
                  steps=2, clamp={"in": [0]})
    net.set_params({"w:in->h": [[3.0]], "w:h->out": [[2.0]]})
    assert net.predict(np.array([[1.0]]))[0, 0, 0] == 6.0


def test_a_one_step_net_without_delays_is_the_feed_forward_net():
    ff = Network.mlp([2, 3, 1])
    same = Network(ff.groups, ff.projections, steps=1)
    assert not same.recurrent and same.input_slots == ("input",)
    random_params(ff)
    same.set_params(ff.params)
    X = np.array([[0.0, 1.0], [1.0, 1.0]])
    assert np.array_equal(ff.predict(X), same.predict(X))


def test_uses_count_every_step_a_parameter_computes():
    net = elman(T=4, clamp={"in": [1, 2]})
    assert set(net.uses.values()) == {4}
    net = loop(T=3)
    assert net.uses == {"w:s->s": 3}


def test_describe_says_steps_delays_clamps_and_targets():
    text = elman(T=4, clamp={"in": [1, 2]}, target_steps={"out": [3, 4]}, initial=0.2).describe()
    assert "runs 4 time steps, initial activity 0.2" in text
    assert "projection h -> h (from the previous step)" in text
    assert "group in clamped at steps 1-2" in text
    assert "group out has targets at steps 3-4" in text


# ----------------------------------------------------------------------------
# Bad settings: one clear error each
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "message"), [
    (lambda: loop(T=0), "steps (the time steps T) must be a positive integer, got 0"),
    (lambda: elman(target_steps={"out": [5]}),
     "target steps of group 'out': step 5 is outside the network's steps 1 … 4"),
    (lambda: elman(target_steps={"out": [0]}),
     "target steps of group 'out': step 0 is outside the network's steps 1 … 4"),
    (lambda: elman(clamp={"in": [1, 9]}),
     "clamp of group 'in': step 9 is outside the network's steps 0 … 4"),
    (lambda: elman(clamp={"in": []}), "input group 'in' is clamped at no step"),
    (lambda: elman(clamp={"x": [1]}), "clamp names no group 'x'"),
    (lambda: elman(target_steps={"h": [1]}), "target_steps names 'h', which is not an output"),
    (lambda: elman(clamp={"out": [4]}), "group 'out' is clamped at step 4, where it also has"),
    (lambda: elman(initial="x"), "initial activity must be a number"),
    (lambda: Network([Group("s", 1)], [Projection("s", "s", delay=0)]),
     "projection s->s goes backwards or to itself within a time step"),
    (lambda: Network([Group("i", 1, None), Group("s", 1)], [Projection("i", "s", delay=2)]),
     "projection i->s: delay must be 0 (within a time step) or 1"),
    (lambda: Network([Group("s", 1)], [Projection("s", "s")]),
     "a network needs at least one input group (activation None) or a clamped group"),
])
def test_bad_recurrent_settings_raise_one_clear_error(build, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()


def test_the_inputs_of_a_recurrent_net_are_its_clamped_steps():
    net = elman(T=4, clamp={"in": [1, 2]})
    assert net.n_inputs == 4 and net.n_outputs == 2
    with pytest.raises(Exception, match=r"inputs have shape \(3, 2\), expected \(cases, 4\)"):
        net.predict(np.zeros((3, 2)))


# ----------------------------------------------------------------------------
# Training: the one loop, the readable engine, the constraint
# ----------------------------------------------------------------------------


def shift_task(n: int = 3) -> Task:
    P = np.array(list(itertools.product([0, 1], repeat=n)), float)
    return Task("shift", P, np.roll(P, -2, axis=1))


def shift_net(R: int = 1, n: int = 3) -> Network:
    return Network([Group("s", n)], [Projection("s", "s")], replicas=R, steps=2,
                   clamp={"s": [0]})


def test_the_readable_engine_trains_a_recurrent_net_and_says_why_no_faster_one():
    cfg = TrainConfig(lr=0.25, max_sweeps=30, bias_max=0.0)
    trainer = Trainer(shift_net(R=4), shift_task(), cfg, range(4))
    result = trainer.train()
    assert result.engine == "readable"
    assert result.why_not == ("no faster engine can train it: the network is recurrent "
                              "(run for 2 time steps, trained through time)")
    history = result.history
    assert np.all(np.isfinite(history)) and np.all(history[:, -1] < history[:, 0])


@pytest.mark.parametrize("engine", ["numpy-first", "numpy-last"])
def test_fast_engines_refuse_a_recurrent_net_in_one_line(engine):
    with pytest.raises(ConfigError, match=f"engine '{engine}' cannot train this run: the "
                       "network is recurrent"):
        Trainer(shift_net(), shift_task(), TrainConfig(engine=engine), [0])


def test_fast_engines_refuse_a_constraint_on_a_feed_forward_net():
    task = Task("xor", [[0, 0], [0, 1], [1, 0], [1, 1]], [[0], [1], [1], [0]])
    cfg = TrainConfig(engine="numpy-first", bias_max=0.0)
    with pytest.raises(ConfigError, match=r"parameter constraints \(bias_max\)"):
        Trainer(Network.mlp([2, 2, 1]), task, cfg, [0])


def test_bias_max_keeps_every_bias_at_or_below_it_from_the_start():
    cfg = TrainConfig(lr=0.25, max_sweeps=20, bias_max=0.0, init_scale=1.0)
    net = shift_net(R=8)
    trainer = Trainer(net, shift_task(), cfg, range(8))
    assert net.params["b:s"].max() <= 0.0 and net.params["b:s"].min() < 0.0
    trainer.train()
    assert net.params["b:s"].max() <= 0.0
    free = shift_net(R=8)
    Trainer(free, shift_task(), cfg.replace(bias_max=None), range(8)).train()
    assert free.params["b:s"].max() > 0.0  # without the constraint some bias grows above 0


def test_the_tie_rule_scales_a_recurrent_nets_weight_change_by_its_steps():
    """One sweep: Nature's averaging rule changes each weight by 1/T of PDP's summed change."""
    changes = {}
    for rule in ("sum", "mean"):
        net = shift_net()
        cfg = TrainConfig(lr=0.5, max_sweeps=1, tie_rule=rule, engine="readable")
        trainer = Trainer(net, shift_task(), cfg, [3])
        before = {k: v.copy() for k, v in net.params.items()}
        trainer.train()
        changes[rule] = {k: net.params[k] - before[k] for k in before}
    for name in changes["sum"]:
        assert np.allclose(changes["mean"][name], changes["sum"][name] / 2)


# ----------------------------------------------------------------------------
# Experiment files and the command line
# ----------------------------------------------------------------------------

TOML = """
name = "tiny-shift"
[task]
{task}
[network]
steps = 2
clamp = {{ s = [0] }}
{extra}
[[network.groups]]
name = "s"
size = 2
[[network.projections]]
from = "s"
to = "s"
[train]
lr = 0.5
max_sweeps = 5
"""


def test_build_network_reads_steps_clamps_targets_initial_and_delays():
    spec = {"groups": [{"name": "in", "size": 1, "activation": "input"},
                       {"name": "s", "size": 2}],
            "projections": [{"from": "in", "to": "s", "delay": 1}, {"from": "s", "to": "s"}],
            "steps": 3, "clamp": {"in": [0, 1]}, "target_steps": {"s": [2, 3]}, "initial": 0.2}
    net = build_network(spec, replicas=2)
    assert net.steps == 3 and net.initial == 0.2 and net.clamped == {"in": (0, 1)}
    assert net.target_steps == {"s": (2, 3)} and list(net.delays.values()) == [1, 1]
    assert net.input_slots == (("in", 0), ("in", 1)) and net.n_outputs == 4


def test_the_cli_runs_a_recurrent_experiment_file(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    path.write_text(TOML.format(task='name = "encoder"\nn = 2', extra=""))
    assert main(["run", str(path), "--seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "readable" in out and "recurrent" in out


def test_the_cli_says_when_a_task_does_not_fit_a_recurrent_net(tmp_path, capsys):
    path = tmp_path / "tiny.toml"
    # xor's 2 inputs clamp s at step 0; its 1 target does not fit s's 2 units: say so
    path.write_text(TOML.format(task='name = "xor"', extra=""))
    assert main(["run", str(path)]) == 2
    assert "task 'xor' has 2 inputs and 1 outputs, but the network expects 2 inputs and 2" in (
        capsys.readouterr().err)


def test_the_cli_refuses_a_target_beyond_the_last_step_with_exit_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(TOML.format(task='name = "encoder"\nn = 2',
                                extra="target_steps = { s = [3] }"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "target steps of group 's': step 3 is outside the network's steps 1 … 2" in err[0]


# ----------------------------------------------------------------------------
# Nature Fig. 5: an iterative net run for 3 steps is a layered net with tied weights
# ----------------------------------------------------------------------------


def iterative(targets: tuple[int, ...]) -> Network:
    """Fig. 5 (top): 3 fully connected units with biases, run synchronously for 3 steps."""
    return Network([Group("s", 3)], [Projection("s", "s")], steps=3, clamp={"s": [0]},
                   target_steps={"s": list(targets)})


def layered(targets: tuple[int, ...]) -> Network:
    """Fig. 5 (bottom): one layer per step, the weights between layers tied, and the bias of
    every layer a tied weight from an always-on unit."""
    groups = [Group("in", 3, None, False), Group("one", 1, None, False)]
    groups += [Group(f"h{t}", 3, "logistic", False) for t in (1, 2, 3)]
    projections = []
    for t, source in ((1, "in"), (2, "h1"), (3, "h2")):
        projections += [Projection(source, f"h{t}", tie="W"), Projection("one", f"h{t}", tie="b")]
    return Network(groups, projections, outputs=[f"h{t}" for t in targets])


@pytest.mark.parametrize("targets", [(3,), (2, 3)], ids=["target at step 3", "steps 2 and 3"])
@pytest.mark.parametrize("tie_rule", ["sum", "mean"])
def test_nature_fig5_iterative_and_layered_nets_are_the_same(targets, tie_rule):
    """The same outputs and, sweep after sweep, the same weight changes under each tie rule."""
    rng = np.random.default_rng(5)
    W, b = rng.uniform(-1, 1, (3, 3)), rng.uniform(-1, 1, (1, 3))
    P = np.array(list(itertools.product([0, 1], repeat=3)), float)  # (8, 3)
    D = rng.uniform(0.1, 0.9, (8, 3 * len(targets)))
    rec, lay = iterative(targets), layered(targets)
    rec.set_params({"w:s->s": W, "b:s": b})
    lay.set_params({"W": W, "b": b})
    assert rec.uses == {"w:s->s": 3, "b:s": 3} and lay.tie_counts == {"W": 3, "b": 3}
    ones = np.ones((8, 1))
    np.testing.assert_allclose(rec.predict(P), lay.predict(np.hstack([P, ones])), rtol=1e-14)
    cfg = TrainConfig(lr=0.5, momentum=0.9, max_sweeps=5, tie_rule=tie_rule, engine="readable")
    r1 = Trainer(rec, Task("fig5", P, D), cfg, [0], initialized=True).train()
    r2 = Trainer(lay, Task("fig5", np.hstack([P, ones]), D), cfg, [0], initialized=True).train()
    np.testing.assert_allclose(r1.history, r2.history, rtol=1e-13)
    np.testing.assert_allclose(rec.params["w:s->s"], lay.params["W"], rtol=1e-13)
    np.testing.assert_allclose(rec.params["b:s"], lay.params["b"], rtol=1e-13)
    assert not np.allclose(rec.params["w:s->s"][0], W)  # the weights did change


def test_nature_fig5_the_two_tie_rules_differ_by_the_number_of_steps():
    rng = np.random.default_rng(6)
    net = iterative((3,))
    random_params(net, 6)
    P = np.array(list(itertools.product([0, 1], repeat=3)), float)
    D = rng.uniform(0.1, 0.9, (8, 3))
    act = net.forward(P)
    deltas = net.output_deltas(act, D, SSE)
    total, mean = (net.backward(act, deltas, tie_rule=r) for r in ("sum", "mean"))
    for name in total:
        np.testing.assert_allclose(mean[name] * 3, total[name], rtol=1e-14)


# ----------------------------------------------------------------------------
# Central differences on recurrent nets: every tied array, both rules
# ----------------------------------------------------------------------------


def synchronous() -> Network:
    """Every projection takes a step; two projections share one array across groups."""
    groups = [Group("in", 2, None, False), Group("a", 2, "tanh"), Group("b", 2)]
    projections = [Projection("in", "a", delay=1), Projection("a", "b", tie="shared", delay=1),
                   Projection("b", "a", tie="shared"), Projection("b", "b", mask=[[1, 0], [1, 1]])]
    return Network(groups, projections, replicas=2, steps=4, clamp={"in": [0, 2]},
                   target_steps={"b": [2, 4]}, initial=0.2)


def teacher_forced() -> Network:
    """The output is clamped to the data at step 2 (and starts from it), targets elsewhere."""
    groups = [Group("in", 1, None, False), Group("h", 3, "relu"), Group("out", 2, "softmax")]
    projections = [Projection("in", "h"), Projection("h", "h"), Projection("h", "out"),
                   Projection("out", "h")]
    return Network(groups, projections, replicas=3, steps=4, clamp={"out": [0, 2]},
                   target_steps={"out": [1, 3, 4]})


@pytest.mark.parametrize("build", [elman, loop, synchronous, teacher_forced])
@pytest.mark.parametrize("tie_rule", ["sum", "mean"])
@pytest.mark.parametrize("error", ["sse", "cross_entropy"])
def test_gradcheck_passes_on_recurrent_nets(build, tie_rule, error):
    from backprop86.analysis.gradcheck import gradcheck

    net = build()
    if error == "cross_entropy" and net.group(net.outputs[0]).activation not in (
            "logistic", "softmax"):
        pytest.skip("cross-entropy needs logistic or softmax outputs")
    random_params(net, 7)
    rng = np.random.default_rng(7)
    X = rng.uniform(-1, 1, (5, net.n_inputs))
    D = rng.uniform(0, 1, (5, net.n_outputs))
    if net.group(net.outputs[0]).activation == "softmax":  # one distribution per slot
        D = np.concatenate([np.eye(2)[rng.integers(0, 2, 5)] for _ in net.output_slots], axis=1)
    care = (rng.uniform(size=D.shape) < 0.8).astype(float)
    report = gradcheck(net, X, D, error, care, tie_rule=tie_rule)
    assert report.passed, report.format()
    assert all("tied x" in row.kind for row in report.rows)  # every array is used at every step


# ----------------------------------------------------------------------------
# The shift register (PDP pp. 354-357): task, check, experiment
# ----------------------------------------------------------------------------


def test_shift_register_task_shifts_two_places_left_circularly():
    from backprop86.tasks import make_task

    task = make_task("shift_register", units=3, shift=2)
    assert task.n_cases == 8
    i = task.labels.index("001")
    assert task.targets[i].tolist() == [1.0, 0.0, 0.0]
    with pytest.raises(ConfigError, match="shift_register needs units ≥ 2"):
        make_task("shift_register", units=1)


def test_one_place_per_step_tells_a_shift_register_from_other_weights():
    from backprop86.analysis.checks import CHECKS

    net = shift_net(R=2)
    shift = np.zeros((3, 3))
    shift[[1, 2, 0], [0, 1, 2]] = 6.0  # unit j listens to unit j + 1
    other = shift.copy()
    other[0, 0] = 3.0
    net.set_params({"w:s->s": np.stack([shift, other]), "b:s": -3.0 * np.ones((1, 3))})
    result = CHECKS["one_place_per_step"](net, shift_task())
    assert result.passed.tolist() == [True, False]
    y = net.predict(shift_task().inputs)[0]  # the ideal weights shift two places in two steps
    assert np.all((y > 0.5) == (shift_task().targets > 0.5))


def test_shift_register_experiment_runs_from_the_cli(capsys):
    assert main(["run", "shift-register", "--seeds", "4", "--set", "max_sweeps=100"]) == 0
    out = capsys.readouterr().out
    assert "shifts one place per step" in out and "trained by the readable engine" in out
    assert main(["run", "shift-register", "--seeds", "2", "--set", "units=5",
                 "--set", "max_sweeps=20"]) == 0
    capsys.readouterr()
    assert main(["run", "shift-register", "--set", "engine=numpy-first"]) == 2
    assert "the network is recurrent" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# Sizes and experiment files: the history counted, the new keys known
# ----------------------------------------------------------------------------


def test_a_recurrent_nets_history_is_counted_in_its_size():
    from backprop86.experiments import network_size
    from backprop86.network import size_of

    groups, projections = [Group("s", 3)], [Projection("s", "s")]
    assert size_of(groups, projections, steps=4) == (15, 12)  # 3 units × steps 0 … 4
    assert shift_net().history_units == 9
    ff = Network.mlp([2, 3, 1])
    assert ff.history_units == 4 and size_of(ff.groups, ff.projections)[0] == 4
    spec = {"steps": 2, "clamp": {"s": [0]}, "groups": [{"name": "s", "size": 3}],
            "projections": [{"from": "s", "to": "s"}]}
    assert network_size(spec) == (9, 12)


def test_an_experiment_file_takes_the_recurrent_keys_and_refuses_a_misspelt_one(tmp_path):
    from backprop86.experiments import load

    text = """
name = "loop"
[task]
name = "shift_register"
units = 3
[network]
steps = 2
initial = 0.0
clamp = { units = [0] }
target_steps = { units = [2] }
groups = [{ name = "units", size = 3 }]
projections = [{ from = "units", to = "units", delay = 1 }]
[train]
bias_max = 0.0
max_sweeps = 5
"""
    path = tmp_path / "loop.toml"
    path.write_text(text)
    exp = load(path)
    net = build_network(exp.network_spec)
    assert net.recurrent and net.steps == 2
    path.write_text(text.replace("target_steps", "target_step"))
    with pytest.raises(ConfigError, match="target_step"):
        load(path)
