"""Logistic, softmax, log-softmax and cross-entropy: exact and warning-free up to ±1e6.

pyproject sets ``filterwarnings = error``, so any overflow / invalid / divide
RuntimeWarning from NumPy fails these tests.

References are computed with :mod:`decimal` at 60 significant digits from the
exact binary value of each input, so they are the true values, and
``float(Decimal)`` rounds them correctly. Tolerances, in units of the dtype's
spacing (ulp):

* logistic: 2 ulp of the value itself — a correctly rounded ``exp`` followed by
  one addition and one reciprocal, each rounding once (½ ulp each), over the
  whole range including values that underflow to subnormals or 0;
* log-softmax: 4 ulp of ``|value| + 1`` — ``x − max`` rounds once (Sterbenz makes
  it exact for close values), ``log Σ exp`` rounds a few times at scale 1;
* softmax and the fused cross-entropy gradients ``y − d`` and ``y Σd − d``: 4 ulp
  of 1 — they are probabilities, whose natural scale is 1;
* cross-entropy values: 4 ulp of the value per term (``logaddexp`` rounds a few
  times, the two terms add once).
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

import numpy as np
import pytest

from backprop86.functions import (
    CrossEntropy,
    Logistic,
    Softmax,
    log_softmax,
    logistic,
    max_units,
)

DTYPES = [np.float64, np.float32]

# Inputs across the whole range: 0, tiny, moderate, the exp overflow edges, ±1e6.
EDGES = [0.0, 1e-300, 1e-8, 0.5, 1.0, 3.0, 17.0, 36.7, 40.0, 88.0, 89.0, 100.0, 700.0,
         708.0, 709.9, 710.0, 745.0, 746.0, 1e3, 1e4, 1e5, 1e6]
XS = sorted({s * v for v in EDGES for s in (1.0, -1.0)})


def _dec(v: float) -> Decimal:
    return Decimal(float(v))


def ref_logistic(x: float) -> float:
    with localcontext() as ctx:
        ctx.prec = 60
        return float(1 / (1 + (-_dec(x)).exp()))


def ref_log_softmax(row) -> list[float]:
    with localcontext() as ctx:
        ctx.prec = 60
        xs = [_dec(v) for v in row]
        m = max(xs)
        lse = m + sum((v - m).exp() for v in xs).ln()
        return [float(v - lse) for v in xs]


def ref_softplus(x: float) -> float:
    """``log(1 + e^x)``."""
    with localcontext() as ctx:
        ctx.prec = 60
        u = _dec(x).exp()
        # ln(1 + u) = u − u²/2 + … : for tiny u, 1 + u would round to 1 even at 60 digits
        return float(u - u * u / 2) if u < Decimal("1e-20") else float((1 + u).ln())


def ulps(dtype, scale) -> np.ndarray:
    return np.spacing(np.abs(np.asarray(scale, dtype=dtype)).astype(dtype)).astype(np.float64)


def rows(dtype, rng, n=40, width=4):
    """Random rows of inputs spanning ±1e6 on a log scale, plus hand-picked extremes."""
    mags = 10.0 ** rng.uniform(-3, 6, size=(n, width))
    signs = rng.choice([-1.0, 1.0], size=(n, width))
    R = mags * signs
    extra = np.array([[1e6, 0.0, -1e6, 5.0], [1e6, 1e6, 1e6 - 1.0, -1e6],
                      [-1e6, -1e6, -1e6, -1e6], [0.0, 0.0, 0.0, 1e-300]])
    return np.concatenate([R, extra]).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_exact_over_the_whole_range(dtype):
    x = np.array(XS, dtype=dtype)
    y = logistic(x)
    assert y.dtype == dtype
    ref = np.array([ref_logistic(v) for v in x.astype(np.float64)]).astype(dtype)
    err = np.abs(y.astype(np.float64) - ref.astype(np.float64))
    assert np.all(err <= 2 * ulps(dtype, ref)), list(zip(x, y, ref, strict=True))
    assert np.all((y >= 0) & (y <= 1))
    # The activation object and its derivative y(1 − y) stay finite too.
    f = Logistic()
    g = f.backward(x, f.forward(x), np.ones_like(x))
    assert np.all(np.isfinite(g)) and np.all(g >= 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_and_softmax_exact(dtype):
    X = rows(dtype, np.random.default_rng(5))
    ls = log_softmax(X)
    y = Softmax().forward(X[None])[0]
    assert ls.dtype == dtype and y.dtype == dtype
    eps = float(np.finfo(dtype).eps)
    for row, got_ls, got_y in zip(X.astype(np.float64), ls, y, strict=True):
        ref = np.array(ref_log_softmax(row))
        assert np.all(np.abs(got_ls - ref) <= 4 * ulps(dtype, np.abs(ref) + 1)), (row, got_ls, ref)
        ref_y = np.exp(ref)  # exact enough: errors of exp near 0 are far below eps
        assert np.all(np.abs(got_y.astype(np.float64) - ref_y) <= 4 * eps), (row, got_y, ref_y)
        assert abs(float(got_y.astype(np.float64).sum()) - 1.0) <= 4 * eps


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(3, 700, 10), (2048, 1), (4, 5), (2000, 33)])
def test_max_units_is_numpys_max(dtype, shape):
    # Many short rows take the column-by-column path (the first two shapes); it must give
    # NumPy's reduction exactly, NaN rows and infinities included.
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(dtype) * 50
    flat = x.reshape(-1, shape[-1])
    flat[::97, -1] = np.nan
    flat[1::89, 0] = np.inf
    flat[2::83] = -np.inf
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(max_units(x), x.max(axis=-1, keepdims=True))


@pytest.mark.parametrize("dtype", DTYPES)
def test_logistic_cross_entropy_value_and_gradient_exact(dtype):
    x = np.array(XS, dtype=dtype)
    ce, f = CrossEntropy(), Logistic()
    eps = float(np.finfo(dtype).eps)
    for target in (0.0, 1.0, 0.25):
        d = np.full_like(x, target)
        # one case per replica, so value() gives one number per input
        X3, D3 = x[:, None, None], d[:, None, None]
        y = f.forward(X3)
        E = ce.value(y, D3, X3, f, None)
        grad = ce.dE_dx(y, D3, X3, f, None)
        assert E.dtype == dtype and grad.dtype == dtype
        xs = x.astype(np.float64)
        # E = d·softplus(−x) + (1 − d)·softplus(x)
        ref_E = np.array([target * ref_softplus(-v) + (1 - target) * ref_softplus(v) for v in xs])
        assert np.all(np.abs(E - ref_E) <= 4 * ulps(dtype, ref_E) + 4 * float(np.finfo(dtype).tiny))
        ref_g = np.array([ref_logistic(v) for v in xs]) - target
        assert np.all(np.abs(grad.ravel().astype(np.float64) - ref_g) <= 4 * eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_value_and_gradient_exact(dtype):
    X = rows(dtype, np.random.default_rng(9))
    rng = np.random.default_rng(10)
    onehot = np.eye(X.shape[1])[rng.integers(0, X.shape[1], size=X.shape[0])]
    soft = rng.dirichlet(np.ones(X.shape[1]), size=X.shape[0])
    ce, f = CrossEntropy(), Softmax()
    eps = float(np.finfo(dtype).eps)
    for D in (onehot, soft * 0.8):  # 0.8: targets that do not sum to 1 are handled exactly too
        D = D.astype(dtype)
        X3, D3 = X[:, None, :], D[:, None, :]  # one case per replica
        y = f.forward(X3)
        E = ce.value(y, D3, X3, f, None)
        grad = ce.dE_dx(y, D3, X3, f, None)[:, 0, :]
        for row, d, e, g in zip(X.astype(np.float64), D.astype(np.float64), E, grad, strict=True):
            ls = np.array(ref_log_softmax(row))
            ref_e = float(-(d * ls).sum())
            assert abs(float(e) - ref_e) <= 4 * X.shape[1] * ulps(dtype, abs(ref_e) + 1)
            # dE/dx_k = y_k Σ_j d_j − d_k
            ref_g = np.exp(ls) * d.sum() - d
            assert np.all(np.abs(g.astype(np.float64) - ref_g) <= 4 * eps), (row, d, g, ref_g)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", ["logistic", "softmax"])
def test_network_with_net_inputs_of_a_million(dtype, output):
    """Forward and backward through a whole network whose net inputs reach ±1e6."""
    from backprop86.functions import error_function
    from backprop86.network import Network

    net = Network.mlp([2, 3, 3], output_activation=output, dtype=dtype)
    net.set_params({
        "w:input->hidden1": np.array([[1e6, -1e6, 1.0], [-1e6, 1e6, -1.0]]),
        "w:hidden1->output": np.array([[1e6, -1e6, 0.0], [-1e6, 1e6, 0.0], [0.0, 0.0, 1e6]]),
        "b:hidden1": np.zeros((1, 3)),
        "b:output": np.array([[0.0, 0.0, -1e6]]),
    })
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    D = np.eye(3)[[0, 1, 2, 0]]
    for name in ("cross_entropy", "sse", "tss", "mse", "dead_zone"):
        E, grads = net.gradients(X, D, error_function(name))
        assert E.dtype == dtype and np.all(np.isfinite(E))
        for g in grads.values():
            assert g.dtype == dtype and np.all(np.isfinite(g))
    # Cross-entropy is computed from net inputs, not from saturated outputs, so a
    # confidently wrong answer costs what it should: case 0 has net inputs
    # (1e6, −1e6, −1e6 + 1/(1 + e^−1)·1e6) at the output; with target unit 1 the
    # loss is 2e6 (softmax: −log_softmax; logistic: softplus(1e6) + softplus(1e6)).
    x_out = net.forward(X[:1]).x["output"][0, 0].astype(np.float64)
    E, grads = net.gradients(X[:1], np.array([[0.0, 1.0, 0.0]]), error_function("cross_entropy"))
    assert x_out[0] == 1e6 and x_out[1] == -1e6
    assert E[0] == pytest.approx(2e6, rel=1e-6)
    assert np.all(np.isfinite(grads["w:hidden1->output"]))


# ----------------------------------------------------------------------------
# Divergence sentinel
# ----------------------------------------------------------------------------


def _linear_net(replicas=1):
    from backprop86.network import Network

    return Network.mlp([2, 3, 1], output_activation="linear", replicas=replicas)


def test_divergence_names_sweep_group_and_cause(xor):
    """A linear output and ε = 50 blow up; the error says where, when and why, at once."""
    from backprop86 import DivergenceError, TrainConfig, train

    cfg = TrainConfig(lr=50.0, max_sweeps=1000)
    with pytest.raises(DivergenceError) as info:
        train(_linear_net(), xor, cfg, [0])
    message = str(info.value)
    sweep = int(message.split("sweep ")[1].split(" ")[0])
    assert "in group 'output'" in message
    assert "learning rate 50 is too large" in message and "--set lr=5" in message
    assert "\n" not in message
    # It is the *first* such sweep: one sweep fewer trains without a non-finite number.
    net = _linear_net()
    result = train(net, xor, cfg.replace(max_sweeps=sweep - 1), [0])
    assert not result.diverged.any() and np.all(np.isfinite(result.history))
    assert all(np.all(np.isfinite(w)) for w in net.params.values())


def test_divergence_of_weights_is_caught_in_the_sweep_it_happens():
    """The error of sweep 1 is finite (measured before the update) but the update overflows."""
    from backprop86 import DivergenceError, Task, TrainConfig, train
    from backprop86.network import Network

    net = Network.mlp([1, 1], output_activation="linear", bias=False)
    net.set_params({"w:input->output": np.ones((1, 1))})
    task = Task("two", np.array([[2.0]]), np.array([[0.0]]))
    # y = 2, tss = 4 (finite); dE/dw = (y − d)·x = 4; Δw = −1e308 · 4 = −inf.
    cfg = TrainConfig(lr=1e308, max_sweeps=10)
    with pytest.raises(DivergenceError, match=r"sweep 1 .*in group 'output': its weights "
                                              r"w:input->output became non-finite"):
        train(net, task, cfg, [0], initialized=True)


def test_divergence_with_replicas_marks_them_and_goes_on(xor):
    from backprop86 import TrainConfig, train

    result = train(_linear_net(3), xor, TrainConfig(lr=50.0, max_sweeps=200), [0, 1, 2])
    assert result.diverged.all() and not result.solved.any()
    # one note per sweep in which replicas diverged: it names the first of them and counts the
    # others; each replica stopped counting sweeps at the sweep it diverged in
    counted = 0
    for note in result.notes:
        m = re.match(r"training diverged at sweep (\d+) \(replica (\d+), seed (\d+)"
                     r"(?:; and (\d+) more replicas?)?\)", note)
        assert m, note
        sweep, r, seed, more = int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0)
        assert seed == r  # seeds 0, 1, 2
        assert result.sweeps[r] == sweep
        assert np.sum(result.sweeps == sweep) == 1 + more
        counted += 1 + more
    assert counted == 3  # every replica accounted for, once
    assert (result.sweeps < 200).all()
