"""Task generators of the 1986 experiments: sizes, targets and the cases the papers print."""

from __future__ import annotations

import numpy as np
import pytest

from backprop86 import ConfigError, make_task
from backprop86.tasks.arithmetic import from_bits, to_bits
from backprop86.tasks.parity import bit_counts


def case(task, label: str) -> np.ndarray:
    return task.targets[task.labels.index(label)]


def test_symmetry_has_64_cases_8_palindromes():
    t = make_task("symmetry")
    assert t.inputs.shape == (64, 6) and t.targets.shape == (64, 1)
    assert t.targets.sum() == 8
    palindromes = {label for label, d in zip(t.labels, t.targets[:, 0], strict=True) if d == 1}
    assert palindromes == {p + p[::-1] for p in ("000", "001", "010", "011", "100", "101",
                                                 "110", "111")}


@pytest.mark.parametrize("bits", [2, 3, 5, 7])
def test_symmetry_other_lengths(bits):
    t = make_task("symmetry", bits=bits)
    assert t.n_cases == 2**bits
    assert t.targets.sum() == 2 ** ((bits + 1) // 2)


@pytest.mark.parametrize("bits", range(2, 9))
def test_parity_sizes_and_targets(bits):
    t = make_task("parity", bits=bits)
    assert t.inputs.shape == (2**bits, bits)
    np.testing.assert_array_equal(t.targets[:, 0], bit_counts(t) % 2)
    assert t.targets.sum() == 2 ** (bits - 1)


def test_encoder_is_identity_and_graded_encoder_is_one_of_four():
    t = make_task("encoder", n=8)
    np.testing.assert_array_equal(t.inputs, np.eye(8))
    np.testing.assert_array_equal(t.targets, np.eye(8))
    g = make_task("graded_encoder")
    assert g.labels == ("00", "01", "10", "11")
    np.testing.assert_array_equal(g.targets, np.eye(4))  # 00→1000, 01→0100, 10→0010, 11→0001


def test_addition_16_cases_3_outputs():
    t = make_task("addition")
    assert t.inputs.shape == (16, 4) and t.targets.shape == (16, 3)
    a, b = from_bits(t.inputs[:, :2]), from_bits(t.inputs[:, 2:])
    np.testing.assert_array_equal(from_bits(t.targets), a + b)
    np.testing.assert_array_equal(case(t, "11+11"), [1, 1, 0])  # 3 + 3 = 6
    np.testing.assert_array_equal(case(t, "01+01"), [0, 1, 0])
    np.testing.assert_array_equal(case(t, "10+01"), [0, 1, 1])


def test_bits_round_trip():
    v = np.arange(32)
    np.testing.assert_array_equal(from_bits(to_bits(v, 5)), v)


def test_negation_as_in_table_9():
    t = make_task("negation")
    assert t.inputs.shape == (16, 4) and t.targets.shape == (16, 3)
    np.testing.assert_array_equal(case(t, "0101"), [1, 0, 1])
    np.testing.assert_array_equal(case(t, "1101"), [0, 1, 0])
    flag = t.inputs[:, 0] == 1
    np.testing.assert_array_equal(t.targets[~flag], t.inputs[~flag, 1:])  # flag 0: copy
    np.testing.assert_array_equal(t.targets[flag], 1 - t.inputs[flag, 1:])  # flag 1: complement


@pytest.mark.parametrize(("name", "params"), [
    ("symmetry", {"bits": 1}), ("parity", {"bits": 0}), ("parity", {"bits": True}),
    ("encoder", {"n": 1}), ("graded_encoder", {"bits": 9}), ("addition", {"bits": 0}),
    ("negation", {"bits": "3"}), ("addition", {"width": 2}),
])
def test_bad_parameters_are_one_clear_error(name, params):
    with pytest.raises(ConfigError, match=name):
        make_task(name, **params)
