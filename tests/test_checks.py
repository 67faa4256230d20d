"""Fixed-weight nets printed in PDP Figs 3, 5, 9, and the checks.

The checks must pass on the printed weights (or on the paper's described
solution, built by hand) and fail on hand-built counterexamples. Hand-built nets
use weights of ±10–20, so every unit is within e^-5 of 0 or 1.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import ConfigError, make_task
from backprop86.analysis.checks import run_checks
from backprop86.analysis.checks.addition import carries, carry_units, local_minimum_11_11
from backprop86.analysis.checks.encoders import distinct_codes
from backprop86.analysis.checks.negation import three_xors
from backprop86.analysis.checks.parity import count_code
from backprop86.analysis.checks.symmetry import mirror_antisymmetry, ratio_124
from backprop86.experiments import build_network, printed_weights

#: The published forward outputs are printed to two decimals: ±0.005 is their rounding.
TOL = 0.005


def chain(sizes, params):
    net = build_network({"sizes": sizes})
    net.set_params(params)
    return net


def graph(groups, projections, params):
    spec = {
        "groups": [{"name": n, "size": s, "activation": "input" if i == 0 else "logistic"}
                   for i, (n, s) in enumerate(groups)],
        "projections": [{"from": a, "to": b} for a, b in projections],
        "outputs": [groups[-1][0]],
    }
    net = build_network(spec)
    zeros = {k: np.zeros(v.shape[1:]) for k, v in net.params.items()}
    net.set_params({**zeros, **params})
    return net


def lookup_net(task, table):
    """One hidden unit per case, on only for that input; outputs read ``table`` ``(N, n_out)``."""
    P = task.inputs
    W1 = 20.0 * (2 * P - 1).T  # (n_in, N)
    b1 = (-20.0 * P.sum(axis=1) + 10.0)[None, :]
    W2 = 20.0 * (2 * np.asarray(table, dtype=float) - 1)  # (N, n_out)
    return chain([task.n_inputs, task.n_cases, task.n_outputs],
                 {"w:input->hidden1": W1, "b:hidden1": b1, "w:hidden1->output": W2,
                  "b:output": np.zeros((1, task.n_outputs))})


def solved(net, task) -> bool:
    return bool(np.all((net.predict(task.inputs)[0] > 0.5) == (task.targets > 0.5)))


# ----------------------------------------------------------------------------
# Published weights: forward passes
# ----------------------------------------------------------------------------


def test_pdp_fig3_xor_outputs():
    fig = printed_weights.load("fig3")
    y = fig.net.predict(fig.task.inputs)[0, :, 0]
    np.testing.assert_allclose(y, fig.expected["outputs"], atol=TOL)
    np.testing.assert_allclose(fig.expected["outputs"], [0.10, 0.88, 0.88, 0.11])


def test_pdp_fig5_local_minimum_outputs():
    fig = printed_weights.load("fig5")
    y = fig.net.predict(fig.task.inputs)[0, :, 0]
    np.testing.assert_allclose(y, [0.10, 0.50, 0.90, 0.50], atol=TOL)
    assert not solved(fig.net, fig.task)  # 01 and 11 sit at 0.5: a local minimum


def test_pdp_fig9_symmetry_classifies_all_64():
    fig = printed_weights.load("fig9")
    y = fig.net.predict(fig.task.inputs)[0, :, 0]
    pal = fig.task.targets[:, 0] == 1
    lo, hi = fig.expected["palindrome_outputs"]
    assert pal.sum() == 8
    assert lo - TOL <= y[pal].min() and y[pal].max() <= hi + TOL
    assert y[~pal].max() <= fig.expected["other_outputs_max"] + TOL
    assert solved(fig.net, fig.task)


def test_unknown_figure():
    with pytest.raises(ConfigError, match="fig3"):
        printed_weights.load("fig4")


# ----------------------------------------------------------------------------
# Symmetry
# ----------------------------------------------------------------------------


def test_symmetry_checks_pass_on_fig9():
    fig = printed_weights.load("fig9")
    m = mirror_antisymmetry(fig.net, fig.task)
    r = ratio_124(fig.net, fig.task)
    assert m.passed.all() and m.numbers["residual"][0] < 0.01
    assert r.passed.all()
    np.testing.assert_allclose(r.numbers["ratio"][0], [1, 2, 4], rtol=0.02)


def _symmetry_net(side):
    side = np.asarray(side, dtype=float)
    w = np.concatenate([side, -side[::-1]])[:, None]  # anti-symmetric by construction
    return chain([6, 1, 1], {"w:input->hidden1": w, "b:hidden1": [[-1.0]],
                             "w:hidden1->output": [[-9.0]], "b:output": [[5.0]]})


def test_symmetry_counterexamples():
    task = make_task("symmetry")
    broken = printed_weights.load("fig9").net
    w = broken.params["w:input->hidden"].copy()
    w[0, 0, 0] = +3.18  # one weight of unit A with the wrong sign
    broken.set_params({"w:input->hidden": w[0]})
    assert not mirror_antisymmetry(broken, task).passed.any()
    symmetric = _symmetry_net([1, 2, 4])
    symmetric.params["w:input->hidden1"][0, 3:, 0] *= -1  # now w_i = +w_mirror(i)
    assert not mirror_antisymmetry(symmetric, task).passed.any()
    nine = _symmetry_net([-1, 3, -9])  # anti-symmetric, but 1:3:9
    assert mirror_antisymmetry(nine, task).passed.all()
    assert not ratio_124(nine, task).passed.any()
    assert ratio_124(_symmetry_net([4, -2, 1]), task).passed.all()  # order does not matter


# ----------------------------------------------------------------------------
# Parity
# ----------------------------------------------------------------------------


def _parity_net(bits, *, mirror=False, copy=False, same=False):
    k = np.arange(1, bits + 1)
    if copy:  # hidden unit k copies input k: depends on which bits, not how many
        W, b = 10.0 * np.eye(bits), np.full(bits, -5.0)
    elif same:  # every unit "at least one on": one code for counts 1…N
        W, b = np.full((bits, bits), 10.0), np.full(bits, -5.0)
    elif mirror:  # Table 3: unit k on when at least k inputs are off
        W, b = np.full((bits, bits), -10.0), 10.0 * (bits - k + 0.5)
    else:  # Fig. 6: unit k on when at least k inputs are on
        W, b = np.full((bits, bits), 10.0), -10.0 * (k - 0.5)
    # output net input 10·(Σ_on s_k + β) − 5 with Σ_on s_k + β = parity of the count:
    # units 1…m on stand for m inputs on (Fig. 6) or m inputs off (Table 3)
    parity_of_m = (k if not mirror else bits - k) % 2
    beta = 0 if not mirror else bits % 2
    s = np.diff(np.concatenate([[beta], parity_of_m])).astype(float)
    return chain([bits, bits, 1], {"w:input->hidden1": W, "b:hidden1": b[None, :],
                                   "w:hidden1->output": 10.0 * s[:, None],
                                   "b:output": [[10.0 * beta - 5.0]]})


@pytest.mark.parametrize("bits", [2, 3, 4, 6])
def test_count_code_passes_on_the_paradigm_and_table_3(bits):
    task = make_task("parity", bits=bits)
    for mirror in (False, True):
        net = _parity_net(bits, mirror=mirror)
        assert solved(net, task)
        c = count_code(net, task)
        assert c.passed.all() and c.numbers["codes"][0] == bits + 1


def test_table_3_codes():
    task = make_task("parity", bits=4)
    net = _parity_net(4, mirror=True)
    H = net.forward(task.inputs).y["hidden1"][0] > 0.5
    by_count = {int(c): "".join(str(int(v)) for v in H[i][::-1])
                for i, c in enumerate(task.inputs.sum(axis=1))}
    # Table 3's columns, read right to left as printed: 1111, 1011, 1010, 0010, 0000 up to
    # the order of the units; here each step turns exactly one unit off.
    assert [code.count("1") for _, code in sorted(by_count.items())] == [4, 3, 2, 1, 0]


def test_count_code_counterexamples():
    task = make_task("parity", bits=4)
    copy = count_code(_parity_net(4, copy=True), task)
    assert not copy.passed.any() and not copy.numbers["consistent"][0]
    same = count_code(_parity_net(4, same=True), task)
    assert not same.passed.any() and same.numbers["consistent"][0]  # count-only, not nested


# ----------------------------------------------------------------------------
# Encoders
# ----------------------------------------------------------------------------


def _encoder_net(codes):
    """8-3-8 whose hidden codes are ``codes`` (values 0, 0.5, 1) for the one-hot inputs."""
    pre = {0.0: -10.0, 0.5: 0.0, 1.0: 10.0}
    W = np.array([[pre[v] for v in row] for row in codes])
    return chain([8, 3, 8], {"w:input->hidden1": W, "b:hidden1": np.zeros((1, 3)),
                             "w:hidden1->output": np.zeros((3, 8)),
                             "b:output": np.zeros((1, 8))})


TABLE_5 = [(.5, 0, 0), (0, 1, 0), (1, 1, 0), (1, 1, 1), (0, 1, 1), (.5, 0, 1), (1, 0, .5),
           (0, 0, .5)]


def test_distinct_codes_pass_on_binary_and_table_5_codes():
    task = make_task("encoder", n=8)
    binary = [tuple((i >> j) & 1 for j in range(3)) for i in range(8)]
    for codes in (binary, TABLE_5):
        c = distinct_codes(_encoder_net(codes), task)
        assert c.passed.all() and c.numbers["rounded_codes"][0] == 8


def test_distinct_codes_counterexample():
    codes = list(TABLE_5)
    codes[7] = codes[0]  # two patterns share a code
    assert not distinct_codes(_encoder_net(codes), make_task("encoder", n=8)).passed.any()


def test_graded_single_unit_levels():
    task = make_task("graded_encoder")

    def net(w):
        return chain([2, 1, 4, 4], {"w:input->hidden1": [[w[0]], [w[1]]], "b:hidden1": [[-3.0]],
                                    "w:hidden1->hidden2": np.zeros((1, 4)),
                                    "w:hidden2->output": np.zeros((4, 4))})

    ok = distinct_codes(net((4.0, 2.0)), task, group="hidden1", min_distance=0.1)
    assert ok.passed.all()  # levels ≈ .05, .27, .73, .95
    bad = distinct_codes(net((4.0, 0.0)), task, group="hidden1", min_distance=0.1)
    assert not bad.passed.any()  # 00 and 01 share a level


# ----------------------------------------------------------------------------
# Addition
# ----------------------------------------------------------------------------

ADDER = [("input", 4), ("hidden_a", 1), ("hidden_b", 1), ("output", 3)]
LINKS = [("input", "hidden_a"), ("input", "hidden_b"), ("hidden_a", "hidden_b"),
         ("input", "output"), ("hidden_a", "output"), ("hidden_b", "output")]


def _adder(low="and"):
    """The carry solution: inputs (a1, a0, b1, b0), outputs (s2, s1, s0)."""
    if low == "and":  # hidden_a = c0 = a0·b0; hidden_b = c1 = [a1 + b1 + c0 ≥ 2]
        wa, ba = [[0], [10], [0], [10]], [[-15.0]]
        wb, wab, bb = [[10], [0], [10], [0]], [[10.0]], [[-15.0]]
        # s1 = a1 + b1 + c0 − 2 c1, s0 = a0 + b0 − 2 c0
        w_out = [[0, 20, 0], [0, 0, 20], [0, 20, 0], [0, 0, 20]]
        wa_out, b_out = [[0, 20, -40]], [[-10.0, -10.0, -10.0]]
    else:  # hidden_a = NOR(a0, b0) and c0 = a0 + b0 − 1 + NOR
        wa, ba = [[0], [-10], [0], [-10]], [[5.0]]
        wb, wab, bb = [[10], [10], [10], [10]], [[10.0]], [[-25.0]]
        w_out = [[0, 20, 0], [0, 20, -20], [0, 20, 0], [0, 20, -20]]
        wa_out, b_out = [[0, 20, -40]], [[-10.0, -30.0, 30.0]]
    return graph(ADDER, LINKS, {
        "w:input->hidden_a": wa, "b:hidden_a": ba, "w:input->hidden_b": wb,
        "w:hidden_a->hidden_b": wab, "b:hidden_b": bb, "w:input->output": w_out,
        "w:hidden_a->output": wa_out, "w:hidden_b->output": [[20, -40, 0]], "b:output": b_out,
    })


def test_carries():
    task = make_task("addition")
    c0, c1 = carries(task)
    a0, b0 = task.inputs[:, 1], task.inputs[:, 3]
    np.testing.assert_array_equal(c0, a0 * b0)
    np.testing.assert_array_equal(c1, task.targets[:, 0])


@pytest.mark.parametrize("low", ["and", "nor"])
def test_carry_units_pass_on_the_carry_solution(low):
    task = make_task("addition")
    net = _adder(low)
    assert solved(net, task)
    assert carry_units(net, task).passed.all()
    assert not local_minimum_11_11(net, task).passed.any()


def test_carry_units_counterexample():
    task = make_task("addition")
    net = _adder()
    net.set_params({"w:input->hidden_a": [[0], [10], [0], [0]], "b:hidden_a": [[-5.0]],  # a0
                    "w:hidden_a->hidden_b": [[0.0]], "w:input->hidden_b": [[0], [0], [10], [0]],
                    "b:hidden_b": [[-5.0]]})  # b1
    c = carry_units(net, task)
    assert not c.passed.any() and c.numbers["carries_found"][0] == 0


def test_local_minimum_11_11():
    task = make_task("addition")
    table = task.targets.copy()
    assert not local_minimum_11_11(lookup_net(task, table), task).passed.any()
    table[-1] = [1, 0, 0]  # PDP: 100 instead of 110 on 11 + 11
    stuck = local_minimum_11_11(lookup_net(task, table), task)
    assert stuck.passed.all() and stuck.numbers["answer"][0] == 4
    assert "100 ×1" in stuck.line()
    table[0] = [0, 0, 1]  # a second wrong case: not that minimum
    assert not local_minimum_11_11(lookup_net(task, table), task).passed.any()


# ----------------------------------------------------------------------------
# Negation
# ----------------------------------------------------------------------------


def _negator():
    """Three separate XORs: hidden k = flag AND bit k; output k = flag + bit k − 2 hidden k."""
    w_in_h = np.zeros((4, 3))
    w_in_h[0, :] = 10
    w_in_h[1:, :] = 10 * np.eye(3)
    w_in_o = np.zeros((4, 3))
    w_in_o[0, :] = 20
    w_in_o[1:, :] = 20 * np.eye(3)
    return graph([("input", 4), ("hidden", 3), ("output", 3)],
                 [("input", "hidden"), ("input", "output"), ("hidden", "output")],
                 {"w:input->hidden": w_in_h, "b:hidden": np.full((1, 3), -15.0),
                  "w:input->output": w_in_o, "w:hidden->output": -40 * np.eye(3),
                  "b:output": np.full((1, 3), -10.0)})


def test_three_xors():
    task = make_task("negation")
    net = _negator()
    assert solved(net, task)
    assert three_xors(net, task).passed.all()
    leak = _negator()
    w = leak.params["w:input->output"][0].copy()
    w[2, 0] = 10.0  # data bit 2 into output 1: a quarter of the largest weight there
    leak.set_params({"w:input->output": w})
    assert not three_xors(leak, task).passed.any()
    table = lookup_net(task, task.targets)  # solves it, but every output sees every input
    assert solved(table, task)
    c = three_xors(table, task)
    assert not c.passed.any() and c.numbers["separate_outputs"][0] == 0


# ----------------------------------------------------------------------------
# Running checks by name
# ----------------------------------------------------------------------------


def test_run_checks_by_name_and_table():
    fig = printed_weights.load("fig9")
    out = run_checks(["mirror_antisymmetry",
                      {"check": "ratio_124", "tolerance": 0.01, "label": "tight"}],
                     fig.net, fig.task)
    assert set(out) == {"mirror_antisymmetry", "tight"}
    assert not out["tight"].passed.any()  # deviation 1.1 % > 1 %
    assert out["mirror_antisymmetry"].count(np.array([True])) == (1, 1)
    assert out["mirror_antisymmetry"].to_json()["passed"] == 1


@pytest.mark.parametrize(("spec", "message"), [
    (["no_such_check"], "unknown check"),
    ([{"check": "ratio_124", "tolerence": 0.1}], "ratio_124"),
    ([42], "checks entry"),
])
def test_run_checks_bad_specs(spec, message):
    fig = printed_weights.load("fig9")
    with pytest.raises(ConfigError, match=message):
        run_checks(spec, fig.net, fig.task)


def test_checks_refuse_the_wrong_task():
    fig = printed_weights.load("fig9")
    with pytest.raises(ConfigError, match="addition"):
        carry_units(fig.net, fig.task)
    with pytest.raises(ConfigError, match="negation"):
        three_xors(fig.net, fig.task)
