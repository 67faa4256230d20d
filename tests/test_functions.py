"""Activations and error functions, each derivative against a central difference of its value.

Tolerances: a central difference with h = 1e-6 is off by the truncation h² ≈ 1e-12
plus the rounding of the two values, ≈ 2.2e-16·|value|/h: ≈ 1e-10 for the activations
(values of order 1), ≤ 2.5e-8 for the errors (summed over both replicas they reach
≈ 110 with linear outputs). 1e-7 absolute stays above both, while a wrong factor
(≥ 1e-2 here) fails.
(Precision at extreme inputs is tested in test_numerics.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop86.errors import ConfigError
from backprop86.functions import (
    ACTIVATIONS,
    ERRORS,
    MSE,
    SSE,
    TSS,
    CrossEntropy,
    DeadZone,
    activation,
    error_function,
    logistic,
)

H = 1e-6
X = np.random.default_rng(0).normal(0.0, 2.0, size=(2, 5, 4))  # (R, N, n)
X[np.abs(X) < 1e-3] = 0.5  # relu: keep clear of the kink


def central_difference(scalar, x: np.ndarray) -> np.ndarray:
    """``∂ scalar(x) / ∂x`` entry by entry: ``(scalar(x + h e_k) − scalar(x − h e_k)) / 2h``."""
    numeric = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += H
        minus[idx] -= H
        numeric[idx] = (scalar(plus) - scalar(minus)) / (2 * H)
    return numeric


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_is_the_jacobian_vector_product(name):
    f = activation(name)
    y = f.forward(X)
    assert y.shape == X.shape
    v = np.random.default_rng(1).normal(size=X.shape)  # an arbitrary dE/dy
    analytic = f.backward(X, y, v)
    numeric = central_difference(lambda x: np.sum(v * f.forward(x)), X)
    np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-7)


def test_activation_values():
    x = np.array([[[-2.0, 0.0, 3.0]]])
    np.testing.assert_array_equal(activation("relu").forward(x), [[[0.0, 0.0, 3.0]]])
    np.testing.assert_array_equal(activation("linear").forward(x), x)
    np.testing.assert_array_equal(activation("tanh").forward(x), np.tanh(x))
    s = activation("softmax").forward(X)
    np.testing.assert_allclose(s.sum(axis=-1), 1.0, rtol=0, atol=1e-15)
    assert np.all(s > 0)
    # softmax is invariant to adding a constant per case
    np.testing.assert_allclose(activation("softmax").forward(X + 7.0), s, rtol=1e-14)


def test_logistic_is_the_articles_formula_bit_for_bit():
    """For the article's range of net inputs the value is exactly 1 / (1 + exp(−z))."""
    z = np.linspace(-30, 30, 10_001)
    assert np.array_equal(logistic(z), 1 / (1 + np.exp(-z)))
    y = activation("logistic").forward(z[None, None])
    assert np.array_equal(activation("logistic").backward(z, y, np.ones_like(y)), y * (1 - y))


def _targets(error: str, output: str, rng: np.random.Generator) -> np.ndarray:
    if error == "dead_zone":
        return rng.integers(0, 2, size=X.shape).astype(float)
    if error == "cross_entropy" and output == "softmax":
        return np.eye(X.shape[-1])[rng.integers(0, X.shape[-1], X.shape[:-1])]
    return rng.uniform(size=X.shape)


@pytest.mark.parametrize(
    ("error", "output"),
    [
        (error, output)
        for error in ERRORS
        for output in ("logistic", "softmax", "tanh", "linear")
        if error != "cross_entropy" or output in ("logistic", "softmax")  # outputs in (0, 1)
    ],
)
def test_error_gradient_at_the_net_input(error, output):
    """dE_dx (eqs. 4–5, fused where the error says so) is the derivative of the value."""
    rng = np.random.default_rng(2)
    f, e = activation(output), error_function(error)
    D = _targets(error, output, rng)
    care = (rng.uniform(size=X.shape[1:]) > 0.2).astype(float)  # (N, n), some "don't care"
    for c in (None, care):
        analytic = e.dE_dx(f.forward(X), D, X, f, c)
        # replicas are independent, so the sum of their errors has each one's own derivative
        numeric = central_difference(lambda x, c=c: e.value(f.forward(x), D, x, f, c).sum(), X)
        np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-7)
        assert e.value(f.forward(X), D, X, f, c).shape == (2,)


def test_error_values_follow_their_definitions():
    y = np.array([[[0.2, 0.9], [0.6, 0.1]]])
    d = np.array([[[0.0, 1.0], [1.0, 0.0]]])
    f = activation("logistic")
    x = np.log(y / (1 - y))
    sq = 0.04 + 0.01 + 0.16 + 0.01
    assert SSE().value(y, d, x, f, None)[0] == pytest.approx(0.5 * sq, rel=1e-15)  # eq. (3)
    assert TSS().value(y, d, x, f, None)[0] == pytest.approx(sq, rel=1e-15)  # handbook tss
    assert MSE().value(y, d, x, f, None)[0] == pytest.approx(sq / 4, rel=1e-15)  # article
    ce = -(np.log(0.8) + np.log(0.9) + np.log(0.6) + np.log(0.9))
    assert CrossEntropy().value(y, d, x, f, None)[0] == pytest.approx(ce, rel=1e-12)
    np.testing.assert_array_equal(SSE().dE_dy(y, d, None), y - d)  # eq. (4)
    np.testing.assert_array_equal(TSS().dE_dy(y, d, None), 2 * (y - d))


def test_dead_zone_residuals():
    """On-targets: shortfall from `high`; off-targets: excess over `low`; else 0 (CogSci p. 12)."""
    y = np.array([[[0.9, 0.7, 0.1, 0.3, 0.8, 0.2]]])
    d = np.array([[[1.0, 1.0, 0.0, 0.0, 1.0, 0.0]]])
    dz = DeadZone()
    expected = np.array([[[0.0, -0.1, 0.0, 0.1, 0.0, 0.0]]])
    np.testing.assert_allclose(dz.dE_dy(y, d, None), expected, rtol=0, atol=1e-15)
    assert dz.value(y, d, None, None, None)[0] == pytest.approx(0.5 * 0.02, rel=1e-12)
    narrow = DeadZone(low=0.05, high=0.95)
    np.testing.assert_allclose(
        narrow.dE_dy(y, d, None), [[[-0.05, -0.25, 0.05, 0.25, -0.15, 0.15]]], atol=1e-15
    )


def test_dont_care_targets_give_no_error_and_no_gradient():
    rng = np.random.default_rng(3)
    y = rng.uniform(size=(3, 4, 2))
    d = rng.uniform(size=(3, 4, 2))
    care = np.ones((4, 2))
    care[1] = 0.0
    f = activation("logistic")
    x = np.log(y / (1 - y))
    for e in (SSE(), TSS(), MSE(), CrossEntropy(), DeadZone()):
        g = e.dE_dx(y, d, x, f, care)
        assert np.all(g[:, 1] == 0.0)
        d2 = d.copy()
        d2[:, 1] = 1.0 - d2[:, 1]
        np.testing.assert_array_equal(e.value(y, d, x, f, care), e.value(y, d2, x, f, care))
    # mse averages over the counted targets only
    kept = np.delete(np.arange(4), 1)
    np.testing.assert_allclose(
        MSE().value(y, d, x, f, care), MSE().value(y[:, kept], d[:, kept], x[:, kept], f, None),
        rtol=1e-14,
    )


def test_lookups_name_the_choices():
    with pytest.raises(ConfigError, match="unknown activation 'sigmoid'; expected one of logistic"):
        activation("sigmoid")
    with pytest.raises(ConfigError, match="unknown error function 'l1'; expected one of sse"):
        error_function("l1")
    assert CrossEntropy.target_range == (0.0, 1.0) and SSE.target_range is None
