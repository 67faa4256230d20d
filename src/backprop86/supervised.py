"""Learning from a table of cases: targets coded for the network, K seeds at once, the best kept.

The 1986 network learns any table whose rows are cases: inputs ``X`` ``(N, n_in)``
and, for a classifier, a class per case, or, for a regressor, ``k`` numbers per
case. This module is what the scikit-learn estimators (:mod:`backprop86.sklearn`),
the ``fit`` / ``predict`` commands and the ``digits`` experiment share; it knows
neither scikit-learn nor files.

Classes as targets (:func:`class_targets`). With ``c`` classes the network has
one output unit per class and case ``n`` of class ``k`` has the target
``d_j = 1`` for ``j = k`` and ``0`` otherwise (the 1986 papers' coding: each
output a logistic unit). Two classes with logistic outputs need one unit only,
``d = 1`` for the second class. A softmax output group (``output =
"softmax"``) always has ``c`` units, ``y_j = e^{x_j} / Σ_k e^{x_k}``, trained
with the cross-entropy ``E = −Σ_c Σ_j d_j log y_j``.

The class a network answers (:func:`class_index`) is the output unit with the
largest activity, ``argmax_j y_j`` (one unit: ``y > mid``, the midpoint of the
two target values).

K seeds (:func:`train_table`): the network is built with ``R = K`` replicas
(:class:`~backprop86.network.Network`), replica ``r`` initialised from seed
``seeds[r]``, and all train together in one :class:`~backprop86.train.Trainer`
on the same cases. :func:`validation_split` holds some cases out and
:func:`best_replica` keeps the replica that scores best on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backprop86.arrays import Array
from backprop86.checkpoint import load_weights, save_weights
from backprop86.config import TrainConfig
from backprop86.errors import ConfigError, DataError, DivergenceError, FileFormatError
from backprop86.init import rng_for
from backprop86.io import load_json, save_json
from backprop86.network import Network, chain, mlp_groups, size_of
from backprop86.resources import check, run_estimate
from backprop86.tasks.base import Task
from backprop86.train import Progress, Trainer, TrainResult

#: Output activations of a classifier: one logistic unit per class (1986) or a softmax group.
CLASS_OUTPUTS = ("logistic", "softmax")

#: The training settings for a table when none is given (``backprop86 fit`` and the
#: estimators' defaults): mini-batches of 32 cases, a new order every sweep, the gradient
#: summed over the batch (as in 1986), ε = 0.05, α = 0.5, weights uniform in ±0.3, 200 sweeps.
TABLE_CONFIG = TrainConfig(error="sse", report="sse", grain="minibatch", batch_size=32,
                           order="shuffled", reduction="sum", lr=0.05, momentum=0.5,
                           init="uniform", init_scale=0.3, max_sweeps=200)
#: ε for regression (linear output units, standardised targets): a linear unit's error is not
#: bounded as a logistic unit's is, so the steps are smaller.
REGRESSION_LR = 0.003


# ----------------------------------------------------------------------------
# Coding classes as targets, and reading them back
# ----------------------------------------------------------------------------


def output_units(n_classes: int, output: str) -> int:
    """Output units for ``n_classes`` classes: 1 for two classes on one logistic unit, else one
    per class."""
    if output not in CLASS_OUTPUTS:
        raise ConfigError(f"output must be one of {', '.join(CLASS_OUTPUTS)}, got {output!r}")
    if n_classes < 2:
        raise DataError(f"a classifier needs at least 2 classes, got {n_classes} class")
    return 1 if n_classes == 2 and output == "logistic" else n_classes


def class_targets(index: Array, n_classes: int, output: str = "logistic") -> Array:
    """Targets ``(N, units)`` for class indices ``index`` ``(N,)`` in ``0 … n_classes − 1``:
    ``d_j = 1`` for the case's class ``j`` and 0 for the others (one unit: ``d = index``)."""
    index = np.asarray(index, dtype=np.int64)
    units = output_units(n_classes, output)
    if units == 1:
        return index.astype(np.float64)[:, None]
    return np.eye(units)[index]


def class_scores(x: Array, units: int) -> Array:
    """Decision values from the output net inputs ``x`` ``(…, N, units)``: ``(…, N)`` for one
    unit (``> 0`` means the second class, for targets 0/1) or ``x`` itself (the largest is
    the answer: ``argmax x_j = argmax y_j`` for logistic and softmax units alike)."""
    return x[..., 0] if units == 1 else x


def class_index(outputs: Array, mid: float = 0.5) -> Array:
    """The class each case is given, ``(…, N)``, from outputs ``y`` ``(…, N, units)``:
    ``argmax_j y_j``, or ``y > mid`` for one unit."""
    if outputs.shape[-1] == 1:
        return (outputs[..., 0] > mid).astype(np.int64)
    return np.argmax(outputs, axis=-1)


def class_probabilities(outputs: Array) -> Array:
    """Outputs ``(…, N, units)`` as probabilities ``(…, N, n_classes)`` that sum to 1 per case.

    One logistic unit: ``(1 − y, y)``. Several logistic units are independent
    (their outputs need not sum to 1): each is divided by their sum,
    ``p_j = y_j / Σ_k y_k``. A softmax group's outputs already sum to 1 and are kept.
    """
    if outputs.shape[-1] == 1:
        y = outputs[..., 0]
        return np.stack([1.0 - y, y], axis=-1)
    total = outputs.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = outputs / total
    n = outputs.shape[-1]
    return np.where(total > 0, p, 1.0 / n)  # every unit at exactly 0: no preference


def accuracy(outputs: Array, index: Array, mid: float = 0.5) -> Array:
    """Fraction of cases given their class, per replica: outputs ``(R, N, units)`` → ``(R,)``."""
    return np.mean(class_index(outputs, mid) == np.asarray(index)[None], axis=-1)


def confusion(true: Array, predicted: Array, n_classes: int) -> Array:
    """Counts ``(n_classes, n_classes)``: row = true class, column = the class given."""
    out = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(out, (np.asarray(true), np.asarray(predicted)), 1)
    return out


def r2(outputs: Array, targets: Array) -> Array:
    """Coefficient of determination per replica, averaged over outputs: outputs ``(R, N, k)``,
    targets ``(N, k)`` → ``(R,)``; ``R² = 1 − Σ(y − d)² / Σ(d − d̄)²`` for each output. An output
    whose targets are all equal scores 1 when fitted exactly and 0 otherwise."""
    d = np.asarray(targets)[None]
    resid = np.sum((outputs - d) ** 2, axis=-2)  # (R, k)
    spread = np.sum((d - d.mean(axis=-2, keepdims=True)) ** 2, axis=-2)  # (1, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(spread > 0, 1.0 - resid / spread, np.where(resid == 0, 1.0, 0.0))
    return score.mean(axis=-1)


# ----------------------------------------------------------------------------
# Scaling
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scaling:
    """Standardisation of columns: ``z = (v − mean) / scale``, ``mean`` and ``scale`` ``(n,)``.

    A constant column gets ``scale = 1`` (it becomes 0 everywhere).
    """

    mean: Array
    scale: Array

    @classmethod
    def of(cls, values: Array) -> Scaling:
        """The mean and standard deviation of each column of ``values`` ``(N, n)``."""
        values = np.asarray(values, dtype=np.float64)
        mean = values.mean(axis=0)
        std = values.std(axis=0)
        return cls(mean, np.where(std > 0, std, 1.0))

    @classmethod
    def identity(cls, n: int) -> Scaling:
        return cls(np.zeros(n), np.ones(n))

    def apply(self, values: Array) -> Array:
        return (np.asarray(values, dtype=np.float64) - self.mean) / self.scale

    def invert(self, z: Array) -> Array:
        return np.asarray(z) * self.scale + self.mean


# ----------------------------------------------------------------------------
# Training K seeds, keeping the best
# ----------------------------------------------------------------------------


def validation_split(n: int, fraction: float, seed: int, strata: Array | None = None
                     ) -> tuple[Array, Array]:
    """Indices ``(train, validation)`` of ``n`` cases, about ``fraction`` of them held out.

    Drawn from the ``"split"`` random stream of ``seed``. With ``strata`` (a class
    index per case) each class is split in the same proportion, a class with a
    single case staying in training. Both parts are non-empty.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation_fraction must be a number in (0, 1), got {fraction!r}")
    if n < 2:
        raise DataError(f"holding cases out for validation needs at least 2 cases, got {n}")
    rng = rng_for(int(seed), "split")
    groups = [np.arange(n)] if strata is None else [
        np.flatnonzero(np.asarray(strata) == k) for k in np.unique(strata)
    ]
    held = []
    for idx in groups:
        k = round(fraction * len(idx))
        k = min(k, len(idx) - 1)  # keep at least one case of each class for training
        held.append(rng.permutation(idx)[:k])
    val = np.sort(np.concatenate(held)).astype(np.int64)
    if val.size == 0:  # every class too small to give one case: hold out one case anyway
        val = np.sort(rng.permutation(n)[:1]).astype(np.int64)
    train = np.setdiff1d(np.arange(n), val)
    return train, val


def build(n_in: int, hidden: Sequence[int], n_out: int, *, activation: str, output: str,
          replicas: int = 1, dtype: str = "float64") -> Network:
    """The chain ``n_in → hidden… → n_out`` (:meth:`Network.mlp`), biases on every unit."""
    sizes = [int(n_in), *(int(h) for h in hidden), int(n_out)]
    return Network.mlp(sizes, activation=activation, output_activation=output,
                       replicas=replicas, dtype=dtype)


def check_size(n_cases: int, n_in: int, hidden: Sequence[int], n_out: int, replicas: int,
               config: TrainConfig, names: Mapping[str, str] | None = None) -> None:
    """Refuse, in one line, training ``replicas`` chains ``n_in → hidden… → n_out`` on
    ``n_cases`` cases when it would not fit in memory (:mod:`backprop86.resources`);
    nothing is made."""
    groups = mlp_groups([int(n_in), *(int(h) for h in hidden), int(n_out)])
    units, params = size_of(groups, chain(g.name for g in groups))
    estimate = run_estimate(replicas=replicas, cases=n_cases, inputs=n_in, outputs=n_out,
                            units=units, params=params, settings=config)
    check(estimate, f"training {replicas:,} network{'s' * (replicas != 1)} on "
                    f"{n_cases:,} rows", names)


def as_task(X: Array, D: Array, name: str = "table") -> Task:
    """Inputs ``(N, n_in)`` and targets ``(N, n_out)`` as a :class:`Task`, cases named by row."""
    return Task(name, X, D, labels=tuple(str(i) for i in range(len(X))))


def train_table(
    net: Network,
    X: Array,
    D: Array,
    config: TrainConfig,
    seeds: Sequence[int],
    *,
    initialized: bool = False,
    optimizer_state: Mapping[str, Array] | None = None,
    progress: Progress | None = None,
) -> tuple[TrainResult, Trainer]:
    """Train every replica of ``net`` on the cases ``X`` ``(N, n_in)``, ``D`` ``(N, n_out)``.

    Replica ``r`` starts from seed ``seeds[r]`` (or, ``initialized``, from the
    weights ``net`` holds, with the optimizer's state ``optimizer_state`` when
    given: to continue training). Returns the result and the trainer (whose
    optimizer state a later call may continue from). All replicas diverging is
    a :class:`~backprop86.errors.DivergenceError`.
    """
    trainer = Trainer(net, as_task(X, D), config, seeds, initialized=initialized)
    if optimizer_state is not None:
        trainer.optimizer.load_state(optimizer_state)
    result = trainer.train(progress)
    if result.diverged.all():
        raise DivergenceError(result.notes[-1] if result.notes else "training diverged")
    return result, trainer


@dataclass
class Fit:
    """What :func:`fit_best` trained: the kept network (one replica), every seed's score on
    the held-out cases, the kept replica ``r``, the run's result and its trainer."""

    net: Network
    scores: Array
    best: int
    result: TrainResult
    trainer: Trainer
    held_out: Array

    @property
    def loss_curve(self) -> list[float]:
        """The kept replica's error of each sweep."""
        return [float(v) for v in self.result.history[self.best] if np.isfinite(v)]

    def velocity(self) -> dict[str, Array]:
        """The kept replica's optimizer state (its last Δw, for momentum), ``(1, …)`` arrays."""
        r = self.best
        return {k: v[r:r + 1].copy() for k, v in self.trainer.optimizer.state().items()}


def score(outputs: Array, D: Array, kind: str) -> Array:
    """Each replica's score ``(R,)``: accuracy (classification, the classes coded in ``D``)
    or R² (regression) of outputs ``(R, N, n_out)`` against targets ``D`` ``(N, n_out)``."""
    if kind == "classification":
        return accuracy(outputs, class_index(D))
    return r2(outputs, D)


def fit_best(
    X: Array,
    D: Array,
    *,
    kind: str,
    hidden: Sequence[int],
    activation: str,
    output: str,
    config: TrainConfig,
    seeds: Sequence[int],
    validation_fraction: float = 0.2,
    progress: Progress | None = None,
) -> Fit:
    """Train one network per seed, all as one batch, and keep the best.

    ``X`` ``(N, n_in)``, ``D`` ``(N, n_out)`` (classes coded by
    :func:`class_targets` for ``kind = "classification"``). With one seed every
    case trains and the score is on the training cases; with more,
    ``validation_fraction`` of the cases (stratified by class) is held out, the
    replicas train on the rest and the one scoring best on the held-out cases
    is kept (:func:`best_replica`; a diverged replica is never kept).
    """
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    seeds = list(seeds)
    net = build(X.shape[1], hidden, D.shape[1], activation=activation, output=output,
                replicas=len(seeds), dtype=config.dtype)
    if len(seeds) > 1:
        strata = class_index(D) if kind == "classification" else None
        train, held = validation_split(len(X), validation_fraction, seeds[0], strata)
    else:
        train = held = np.arange(len(X))
    result, trainer = train_table(net, X[train], D[train], config, seeds, progress=progress)
    with np.errstate(all="ignore"):
        scores = score(net.predict(X[held]), D[held], kind)
    scores = np.where(result.diverged, np.nan, scores)
    r = best_replica(scores, result.final_error)
    return Fit(one_replica(net, r), scores, r, result, trainer, held)


def best_replica(scores: Array, errors: Array | None = None) -> int:
    """The replica with the highest finite score; ties go to the lowest ``errors`` (when
    given), then to the first. ``scores`` and ``errors`` ``(R,)``."""
    s = np.where(np.isfinite(scores), scores, -np.inf)
    best = np.flatnonzero(s == s.max())
    if errors is not None and best.size > 1:
        e = np.where(np.isfinite(errors[best]), errors[best], np.inf)
        best = best[e == e.min()]
    return int(best[0])


def one_replica(net: Network, r: int) -> Network:
    """Replica ``r`` of ``net`` as a network of its own (``R = 1``)."""
    single = Network(net.groups, net.projections, replicas=1, outputs=net.outputs,
                     dtype=net.dtype)
    single.set_params({name: w[r] for name, w in net.params.items()})
    return single


def net_inputs(net: Network, X: Array) -> Array:
    """Net inputs ``x`` of the output group, eq. (1), ``(R, N, n_out)`` for inputs ``(N, n_in)``."""
    net.check_cases(X)
    activity = net.forward(X)
    return activity.x[net.outputs[0]]




# ----------------------------------------------------------------------------
# A trained model and its files
# ----------------------------------------------------------------------------

#: The ``format`` of a model's JSON file, and its version.
MODEL_FORMAT, MODEL_VERSION = "backprop86-model", 1
KINDS = ("classification", "regression")


@dataclass
class Model:
    """A trained network with what it needs to be applied to raw rows of a table.

    ``kind``: ``classification`` or ``regression``; ``inputs``: the input column
    names, in the network's order; ``target``: the target column; ``classes``:
    class labels, output unit ``j`` ↔ ``classes[j]`` (one unit: ``classes[1]``
    when ``y > 0.5``); ``input_scaling`` (inputs are standardised before eq. 1)
    and ``target_scaling`` (regression: outputs are mapped back); ``net``: one
    replica; ``record``: settings, seeds and scores, kept in the JSON file.
    """

    kind: str
    inputs: list[str]
    target: str
    classes: list[str]
    input_scaling: Scaling
    target_scaling: Scaling | None
    net: Network
    record: dict

    def outputs(self, X: Array) -> Array:
        """Raw inputs ``(N, n_in)`` → output activities ``(N, n_out)`` (scaled targets)."""
        return self.net.predict(self.input_scaling.apply(X))[0]

    def predict(self, X: Array) -> tuple[list[str] | Array, Array | None]:
        """Answers for raw inputs ``X`` ``(N, n_in)``: class labels and probabilities
        ``(N, n_classes)``, or numbers ``(N, k)`` in the targets' units and ``None``."""
        y = self.outputs(X)
        if self.kind == "classification":
            index = class_index(y)
            return [self.classes[i] for i in index], class_probabilities(y)
        assert self.target_scaling is not None
        return self.target_scaling.invert(y), None

    def save(self, stem: str | Path) -> tuple[Path, Path]:
        """Write ``stem.npz`` (the weights, no pickle) and ``stem.json`` (everything else);
        each write is atomic, the weights first."""
        weights, meta = model_paths(stem)
        save_weights(weights, self.net, {"model": meta.name})
        save_json(meta, {
            "format": MODEL_FORMAT, "version": MODEL_VERSION, "kind": self.kind,
            "weights": weights.name, "inputs": self.inputs, "target": self.target,
            "classes": self.classes,
            "input_scaling": {"mean": self.input_scaling.mean, "scale": self.input_scaling.scale},
            "target_scaling": None if self.target_scaling is None else {
                "mean": self.target_scaling.mean, "scale": self.target_scaling.scale},
            "network": {"sizes": [self.net.group(g.name).size for g in self.net.groups],
                        "activation": self.net.groups[1].activation if len(self.net.groups) > 2
                        else None,
                        "output": self.net.groups[-1].activation},
            **self.record,
        })
        return weights, meta

    @classmethod
    def load(cls, path: str | Path) -> Model:
        """Read a model written by :meth:`save` (``path``: its stem, ``.json`` or ``.npz``)."""
        weights, meta_path = model_paths(path)
        meta = load_json(meta_path, "model")
        if meta.get("format") != MODEL_FORMAT:
            raise FileFormatError(f"{meta_path} is not a backprop86 model file (no \"format\": "
                                  f"\"{MODEL_FORMAT}\"); expected one written by backprop86 fit")
        try:
            kind, inputs, target = meta["kind"], list(meta["inputs"]), str(meta["target"])
            classes = [str(c) for c in meta["classes"]]
            scaling = Scaling(np.asarray(meta["input_scaling"]["mean"], float),
                              np.asarray(meta["input_scaling"]["scale"], float))
            t = meta["target_scaling"]
            target_scaling = None if t is None else Scaling(np.asarray(t["mean"], float),
                                                            np.asarray(t["scale"], float))
            sizes = [int(s) for s in meta["network"]["sizes"]]
            net = build(sizes[0], sizes[1:-1], sizes[-1],
                        activation=meta["network"]["activation"] or "logistic",
                        output=meta["network"]["output"])
        except (KeyError, TypeError, ValueError) as exc:
            raise FileFormatError(f"{meta_path}: its model record is incomplete or damaged "
                                  f"({exc!r}); expected one written by backprop86 fit") from None
        if kind not in KINDS or len(inputs) != sizes[0] or scaling.mean.shape != (sizes[0],):
            raise FileFormatError(f"{meta_path}: its model record does not fit together "
                                  f"(kind {kind!r}, {len(inputs)} inputs, sizes {sizes})")
        load_weights(weights, net)
        record = {k: v for k, v in meta.items() if k not in _MODEL_KEYS}
        return cls(kind, inputs, target, classes, scaling, target_scaling, net, record)


_MODEL_KEYS = {"format", "version", "kind", "weights", "inputs", "target", "classes",
               "input_scaling", "target_scaling", "network"}


def model_paths(path: str | Path) -> tuple[Path, Path]:
    """The weight file and the JSON file of the model named ``path`` (its stem, or either
    file): ``model`` → ``model.npz``, ``model.json``."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".npz") else p
    return stem.with_name(stem.name + ".npz"), stem.with_name(stem.name + ".json")


__all__ = [
    "CLASS_OUTPUTS", "KINDS", "REGRESSION_LR", "TABLE_CONFIG", "Fit", "Model", "Scaling",
    "accuracy", "as_task", "best_replica",
    "build", "class_index", "class_probabilities", "class_scores", "class_targets", "confusion",
    "fit_best", "model_paths", "net_inputs", "one_replica", "output_units", "r2", "score",
    "train_table", "validation_split",
]
