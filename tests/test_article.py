"""`backprop86 xor` against the seed article's code run inline: digit for digit, bit for bit.

The reference is the article's listing ("Backpropagation from scratch in NumPy"),
typed out below with its own names and operations, and the variants the article
suggests ("What to change to experiment"): no hidden layer, 2 hidden units, and
another seed.
"""

from __future__ import annotations

import io
from contextlib import redirect_stdout

import numpy as np
import pytest

from backprop86.cli import main


def article(seed: int = 42, hidden: int = 4, steps: int = 10001, lr: float = 0.5):
    """The article's program; returns (what it prints, W1, W2). ``hidden=0``: its first variant."""
    out = io.StringIO()
    with redirect_stdout(out):
        X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])  # 4 examples, 2 inputs each
        y = np.array([[0], [1], [1], [0]])  # XOR outputs
        np.random.seed(seed)
        if hidden:
            W1 = np.random.randn(2, hidden) * 0.5  # input→hidden
            W2 = np.random.randn(hidden, 1) * 0.5  # hidden→output
        else:
            W1 = np.random.randn(2, 1) * 0.5  # "Change W1 to shape (2,1)"
            W2 = None

        def sigmoid(z):
            return 1 / (1 + np.exp(-z))

        def sigmoid_deriv(z):
            s = sigmoid(z)
            return s * (1 - s)

        for step in range(steps):
            if hidden:
                z1 = X @ W1
                a1 = sigmoid(z1)
                z2 = a1 @ W2
                yhat = sigmoid(z2)
                loss = np.mean((y - yhat) ** 2)
                d_out = -(y - yhat) * sigmoid_deriv(z2)
                dW2 = a1.T @ d_out
                d_hid = (d_out @ W2.T) * sigmoid_deriv(z1)
                dW1 = X.T @ d_hid
                W2 -= lr * dW2
                W1 -= lr * dW1
            else:  # "compute yhat = sigmoid(X @ W1) directly"
                z = X @ W1
                yhat = sigmoid(z)
                loss = np.mean((y - yhat) ** 2)
                d_out = -(y - yhat) * sigmoid_deriv(z)
                dW1 = X.T @ d_out
                W1 -= lr * dW1
            if step % 2000 == 0:
                print(f"Step {step:5d} | Loss: {loss:.4f}")
        print("\nTrained predictions vs correct XOR:")
        for i in range(4):
            a = sigmoid(X[i] @ W1)
            pred = sigmoid(a @ W2)[0] if hidden else a[0]
            print(f" Input {X[i]} → Predicted: {pred:.3f} | Correct: {y[i][0]}")
    return out.getvalue(), W1, W2


@pytest.fixture
def runs(monkeypatch):
    """Record the runs `backprop86 xor` makes, to read the trained weights of the same run."""
    import backprop86.cli.commands.xor as xor_command

    made = []

    def recording_run(*args, **kwargs):
        made.append(xor_command_run(*args, **kwargs))
        return made[-1]

    xor_command_run = xor_command.run
    monkeypatch.setattr(xor_command, "run", recording_run)
    return made


@pytest.mark.parametrize(
    ("argv", "kwargs"),
    [
        ([], {}),
        (["--hidden", "0"], {"hidden": 0}),
        (["--hidden", "2"], {"hidden": 2}),
        (["--seed", "7"], {"seed": 7}),
        (["--steps", "2500", "--lr", "0.25"], {"steps": 2500, "lr": 0.25}),
    ],
    ids=["article", "hidden0", "hidden2", "seed7", "steps-lr"],
)
def test_xor_prints_and_learns_exactly_what_the_article_code_does(argv, kwargs, capsys, runs):
    expected, W1, W2 = article(**kwargs)
    assert main(["xor", *argv]) == 0
    captured = capsys.readouterr()
    assert captured.out == expected  # every character of every line
    assert captured.err == ""
    (r,) = runs
    if kwargs.get("hidden", 4):
        assert list(r.net.params) == ["w:input->hidden1", "w:hidden1->output"]
        assert np.array_equal(r.net.params["w:input->hidden1"][0], W1)
        assert np.array_equal(r.net.params["w:hidden1->output"][0], W2)
    else:
        assert list(r.net.params) == ["w:input->output"]
        assert np.array_equal(r.net.params["w:input->output"][0], W1)


def test_no_hidden_layer_fails_as_the_article_says(runs, capsys):
    """Minsky and Papert: without hidden units XOR is not learned (every output stays at 0.5)."""
    assert main(["xor", "--hidden", "0", "--steps", "3000"]) == 0
    capsys.readouterr()
    (r,) = runs
    assert not r.result.solved[0]
    # no line through the origin separates XOR: every output ends at 0.5, chance
    np.testing.assert_allclose(r.result.final_outputs[0], 0.5, atol=0.01)
