"""Peers an experiment runs beside the 1986 network on the same cases: scikit-learn's
``MLPClassifier`` (an experiment's ``compare = ["MLPClassifier"]``).

The peer is given the experiment's own settings where it has them: the hidden
sizes and activation of the experiment's network, plain SGD with momentum α
(not Nesterov's), the same mini-batch size, sweeps (``max_iter``, with early
stopping and the tolerance test switched off so that it trains them all),
pattern order and seeds (``random_state``), no L2 penalty. Its learning rate is
``ε × batch`` when the experiment sums the gradient over a batch
(``reduction = "sum"``), because MLPClassifier averages it. Its output cannot be
one logistic unit per class with the squared error: for more than two classes
it is a softmax with the cross-entropy. Each seed is a separate fit, one after
another (scikit-learn has no batch of networks).

scikit-learn is imported here only when a peer runs; without it the peer is
reported as skipped.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

from backprop86.errors import ConfigError
from backprop86.experiments import Experiment
from backprop86.experiments.schema import PEERS
from backprop86.tasks import Task

#: backprop86's activation names → MLPClassifier's.
_ACTIVATIONS = {"logistic": "logistic", "tanh": "tanh", "relu": "relu", "linear": "identity"}


def run_peers(exp: Experiment, task: Task, seeds: list[int]) -> dict[str, dict[str, Any]]:
    """Every peer the experiment names, trained on ``task`` and scored on ``task.test``."""
    names = list(exp.raw.get("compare", []))
    unknown = [n for n in names if n not in PEERS]
    if unknown:
        raise ConfigError(f"compare: unknown peer(s) {unknown}; expected some of {list(PEERS)}")
    return {name: mlp_classifier(exp, task, seeds) for name in names}


def mlp_settings(exp: Experiment, n_cases: int) -> dict[str, Any]:
    """MLPClassifier's arguments for the experiment's network and training settings."""
    cfg = exp.config
    net = exp.network(replicas=1)
    hidden = tuple(net.group(n).size for n in net.hidden)
    activations = {net.group(n).activation for n in net.hidden} or {"logistic"}
    activation = _ACTIVATIONS.get(next(iter(activations)), "logistic")
    batch = {"minibatch": cfg.batch_size, "pattern": 1, "sweep": n_cases}[cfg.grain]
    lr = cfg.lr * batch if cfg.reduction == "sum" else cfg.lr
    return {
        "hidden_layer_sizes": hidden, "activation": activation, "solver": "sgd",
        "learning_rate": "constant", "learning_rate_init": lr, "momentum": cfg.momentum,
        "nesterovs_momentum": False, "batch_size": batch, "max_iter": cfg.max_sweeps,
        "alpha": 0.0, "shuffle": cfg.order == "shuffled", "tol": 0.0,
        "n_iter_no_change": cfg.max_sweeps + 1, "early_stopping": False,
    }


def mlp_classifier(exp: Experiment, task: Task, seeds: list[int]) -> dict[str, Any]:
    """Train one MLPClassifier per seed; their accuracy on the test cases and the time taken."""
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return {"skipped": "scikit-learn is not installed (pip install 'backprop86[sklearn]')"}
    if task.test is None:
        return {"skipped": "the task has no test cases"}
    settings = mlp_settings(exp, task.n_cases)
    X, y = task.inputs, np.argmax(task.targets, axis=1)
    Xt, yt = task.test.inputs, np.argmax(task.test.targets, axis=1)
    test, train = [], []
    started = time.perf_counter()
    for seed in seeds:
        clf = MLPClassifier(random_state=seed, **settings)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # it trains max_iter sweeps
            clf.fit(X, y)
        test.append(float(clf.score(Xt, yt)))
        train.append(float(clf.score(X, y)))
    seconds = time.perf_counter() - started
    return {"settings": settings, "test_accuracy": test, "train_accuracy": train,
            "seconds": seconds, "output": "softmax + cross-entropy"}
