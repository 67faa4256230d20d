"""scikit-learn estimators: the 1986 network in pipelines, cross-validation and grid search.

:class:`BackpropClassifier` and :class:`BackpropRegressor` train a chain
``n_in → hidden… → n_out`` (:meth:`backprop86.network.Network.mlp`) by the
paper's rule, eqs. (1)–(9), with the package's one training loop
(:class:`backprop86.train.Trainer`). Their parameters carry the names of the
:class:`~backprop86.config.TrainConfig` fields they set (``error``,
``reduction``, ``lr`` (ε), ``momentum`` (α), ``grain``, ``batch_size``,
``order``, ``max_sweeps``, ``decay``, ``init``, ``init_scale``, ``engine``),
plus the network's ``hidden`` sizes and ``activation``, and ``seed``.

``n_seeds = K`` trains the seeds ``seed … seed + K − 1`` as one batched array
(replicas, DESIGN §2), holds ``validation_fraction`` of the cases out
(stratified by class), and keeps the network that scores best on them:
the 1986 answer to a seed that gets stuck is to try another, and here the K
tries cost about one. ``seed_scores_`` holds every seed's score.

Fitted attributes: ``coefs_`` (weight matrices ``(n_src, n_tgt)``, the paper's
``w_ji`` at ``[i, j]``), ``intercepts_`` (biases ``(n_tgt,)``), ``loss_curve_``
(the error of each sweep), ``n_iter_`` (sweeps trained), ``seeds_``,
``seed_scores_``, ``best_seed_``, ``classes_`` (classifier), ``n_features_in_``.

This module imports scikit-learn ≥ 1.6 (the optional extra ``backprop86[sklearn]``:
``validate_data`` and the estimator tags ``__sklearn_tags__`` are 1.6's API);
nothing else in the package imports this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from backprop86 import supervised
from backprop86.arrays import Array
from backprop86.config import TrainConfig
from backprop86.network import Network, bias_param


class _Backprop(BaseEstimator):
    """What both estimators share: the settings, training K seeds, the fitted weights."""

    # ------------------------------------------------------------------ settings

    def _error(self) -> str:
        return self.error if self.error is not None else "sse"

    def _output(self) -> str:  # pragma: no cover - each estimator says
        raise NotImplementedError

    def _config(self, max_sweeps: int | None = None) -> TrainConfig:
        """The :class:`TrainConfig` these parameters make (an invalid one: a ``ValueError``)."""
        error = self._error()
        return TrainConfig(
            error=error, report=error, reduction=self.reduction, grain=self.grain,
            batch_size=self.batch_size, order=self.order, lr=self.lr, momentum=self.momentum,
            decay=self.decay, init=self.init, init_scale=self.init_scale,
            max_sweeps=self.max_sweeps if max_sweeps is None else max_sweeps,
            engine=self.engine,
        )

    def _hidden(self) -> tuple[int, ...]:
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)):
            hidden = (hidden,)
        return tuple(int(h) for h in hidden)

    def _seeds(self) -> list[int]:
        k = self.n_seeds
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"n_seeds must be a positive integer, got {k!r}")
        return list(range(int(self.seed), int(self.seed) + int(k)))

    # ------------------------------------------------------------------ training

    def _train(self, X: Array, D: Array, kind: str) -> None:
        """Train K seeds on ``X`` ``(N, n_in)``, ``D`` ``(N, n_out)``; keep the best one
        (:func:`backprop86.supervised.fit_best`). Sets the fitted weights and records."""
        fit = supervised.fit_best(
            X, D, kind=kind, hidden=self._hidden(), activation=self.activation,
            output=self._output(), config=self._config(), seeds=self._seeds(),
            validation_fraction=self.validation_fraction,
        )
        self._keep(fit.net)
        self.seeds_ = list(fit.trainer.seeds)
        self.seed_scores_ = fit.scores
        self.best_seed_ = self.seeds_[fit.best]
        self.loss_curve_ = fit.loss_curve
        self.n_iter_ = int(fit.result.sweeps[fit.best])
        self._velocity = fit.velocity()

    def _partial(self, X: Array, D: Array) -> None:
        """One sweep over ``X``, ``D``, continuing the kept network and its momentum."""
        config = self._config(max_sweeps=1)
        first = not hasattr(self, "coefs_")
        net = supervised.build(X.shape[1], self._hidden(), D.shape[1],
                               activation=self.activation, output=self._output())
        if not first:
            net.set_params(self._params(net))
        # a new pattern order for each call: the order stream of seed + sweeps done so far
        seeds = [int(self.seed) + (0 if first else self.n_iter_)]
        result, trainer = supervised.train_table(
            net, X, D, config, seeds, initialized=not first,
            optimizer_state=None if first else self._velocity,
        )
        self._keep(net)
        self._velocity = {k: v.copy() for k, v in trainer.optimizer.state().items()}
        if first:
            self.seeds_, self.best_seed_, self.loss_curve_, self.n_iter_ = seeds, seeds[0], [], 0
        self.seed_scores_ = supervised.score(net.predict(X), D, self._kind)
        self.loss_curve_ = [*self.loss_curve_, float(result.history[0, 0])]
        self.n_iter_ += 1

    def _keep(self, net: Network) -> None:
        """Store a one-replica network's weights as ``coefs_`` and ``intercepts_``."""
        self.coefs_ = [net.params[p.param][0].copy() for p in net.projections]
        self.intercepts_ = [net.params[bias_param(g.name)][0, 0].copy()
                            for g in net.groups if not g.is_input]

    def _params(self, net: Network) -> dict[str, Array]:
        params = {p.param: w for p, w in zip(net.projections, self.coefs_, strict=True)}
        biases = [g.name for g in net.groups if not g.is_input]
        params.update({bias_param(g): b[None] for g, b in zip(biases, self.intercepts_,
                                                                 strict=True)})
        return params

    def _network(self) -> Network:
        """The fitted network (one replica) rebuilt from ``coefs_`` and ``intercepts_``."""
        check_is_fitted(self, "coefs_")
        n_out = self.coefs_[-1].shape[1]
        net = supervised.build(self.n_features_in_, self._hidden(), n_out,
                               activation=self.activation, output=self._output())
        net.set_params(self._params(net))
        return net

    def _forward(self, X: Any) -> tuple[Array, Array]:
        """Net inputs and outputs of the output units, ``(N, n_out)`` each."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        net = self._network()
        activity = net.forward(X)
        name = net.outputs[0]
        return activity.x[name][0], activity.y[name][0]

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags


class BackpropClassifier(ClassifierMixin, _Backprop):
    """A classifier trained by back-propagation as in Rumelhart, Hinton & Williams (1986).

    Parameters
    ----------
    hidden:
        Units of each hidden group, e.g. ``(16,)``; ``()`` for no hidden layer.
    activation:
        The hidden units' activation: ``logistic`` (1986), ``tanh``, ``relu``, ``linear``.
    output:
        ``logistic``: one logistic unit per class (one unit for two classes),
        targets 1 for the case's class and 0 for the others, as in 1986;
        ``softmax``: a softmax group, ``y_j = e^{x_j} / Σ_k e^{x_k}``.
    error:
        The error descended (:class:`~backprop86.config.TrainConfig`): ``None``
        means ``sse`` (the paper's ``E = ½ Σ_c Σ_j (y_j,c − d_j,c)²``) for
        logistic outputs and ``cross_entropy`` (``E = −Σ_c Σ_j d_j,c log y_j,c``)
        for softmax.
    reduction, lr, momentum, grain, batch_size, order, max_sweeps, decay, init, init_scale,
    engine:
        :class:`~backprop86.config.TrainConfig`'s settings of the same names:
        ``Δw(t) = −ε ∂E/∂w(t) + α Δw(t−1)`` (eqs. 8–9) with ``ε = lr``,
        ``α = momentum``, the gradient summed (or averaged) over the
        ``batch_size`` cases of each update, ``max_sweeps`` passes through the
        training cases.
    seed, n_seeds:
        Seeds ``seed … seed + n_seeds − 1`` are trained as one batch; with more
        than one, ``validation_fraction`` of the cases (stratified by class) is
        held out and the network with the highest accuracy on them is kept.
    validation_fraction:
        The fraction held out when ``n_seeds > 1``.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] | int = (16,),
        activation: str = "logistic",
        output: str = "logistic",
        error: str | None = None,
        reduction: str = "sum",
        lr: float = 0.05,
        momentum: float = 0.5,
        grain: str = "minibatch",
        batch_size: int = 32,
        order: str = "shuffled",
        max_sweeps: int = 200,
        decay: float = 0.0,
        init: str = "uniform",
        init_scale: float = 0.3,
        seed: int = 0,
        n_seeds: int = 1,
        validation_fraction: float = 0.2,
        engine: str = "auto",
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.output = output
        self.error = error
        self.reduction = reduction
        self.lr = lr
        self.momentum = momentum
        self.grain = grain
        self.batch_size = batch_size
        self.order = order
        self.max_sweeps = max_sweeps
        self.decay = decay
        self.init = init
        self.init_scale = init_scale
        self.seed = seed
        self.n_seeds = n_seeds
        self.validation_fraction = validation_fraction
        self.engine = engine

    _kind = "classification"

    def _output(self) -> str:
        if self.output not in supervised.CLASS_OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(supervised.CLASS_OUTPUTS)}, "
                             f"got {self.output!r}")
        return self.output

    def _error(self) -> str:
        if self.error is not None:
            return self.error
        return "cross_entropy" if self._output() == "softmax" else "sse"

    def _targets(self, y: Array) -> tuple[Array, Array]:
        """Class indices ``(N,)`` of ``y`` in ``classes_`` and the targets ``(N, units)``."""
        index = np.searchsorted(self.classes_, y)
        unknown = (index >= len(self.classes_)) | (self.classes_[np.minimum(
            index, len(self.classes_) - 1)] != y)
        if unknown.any():
            raise ValueError(f"y holds the class {y[np.argmax(unknown)]!r}, which is not one "
                             f"of classes_ {list(self.classes_)}")
        return index, supervised.class_targets(index, len(self.classes_), self._output())

    def fit(self, X: Any, y: Any) -> BackpropClassifier:
        """Train ``n_seeds`` networks on ``X`` ``(N, n_features)`` and classes ``y`` ``(N,)``;
        keep the best."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"a classifier needs at least 2 classes; y has one class only: "
                             f"{self.classes_[0]!r}")
        _, D = self._targets(y)
        self._train(X, D, self._kind)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None) -> BackpropClassifier:
        """One sweep over ``X``, ``y`` (pass every class in ``classes`` on the first call),
        continuing the weights and the momentum of the previous call or of ``fit``."""
        first = not hasattr(self, "coefs_")
        X, y = validate_data(self, X, y, dtype=np.float64, reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("the first call of partial_fit needs classes=[every class]")
            self.classes_ = np.unique(classes)
            if len(self.classes_) < 2:
                raise ValueError("a classifier needs at least 2 classes; classes has "
                                 f"{len(self.classes_)}")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise ValueError(f"classes {list(np.unique(classes))} differ from those of the first "
                             f"call, {list(self.classes_)}")
        _, D = self._targets(y)
        self._partial(X, D)
        return self

    def decision_function(self, X: Any) -> Array:
        """Net inputs of the output units, eq. (1): ``(N,)`` for one unit (``> 0``: the second
        class), else ``(N, n_classes)`` (the largest is the class given)."""
        x, _ = self._forward(X)
        return supervised.class_scores(x, x.shape[-1])

    def predict_proba(self, X: Any) -> Array:
        """``(N, n_classes)``: softmax outputs, or the logistic outputs divided by their sum
        (one unit ``y``: ``(1 − y, y)``)."""
        _, y = self._forward(X)
        return supervised.class_probabilities(y)

    def predict(self, X: Any) -> Array:
        """The class of the most active output unit (one unit: ``y > 0.5``), ``(N,)``."""
        _, y = self._forward(X)
        return self.classes_[supervised.class_index(y)]


class BackpropRegressor(RegressorMixin, _Backprop):
    """A regressor trained by back-propagation (1986): linear output units, the paper's error.

    Parameters are :class:`BackpropClassifier`'s, without ``output`` (the output
    units are linear, ``y_j = x_j``) and with ``scale_targets``: when true the
    targets are standardised for training, ``d' = (d − mean) / std`` per output
    (fitted ``target_mean_`` and ``target_scale_``), and predictions are mapped
    back, so that the learning rate does not depend on the targets' units.
    ``error`` ``None`` means ``sse``; ``n_seeds > 1`` keeps the seed with the
    highest R² on the held-out cases.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] | int = (16,),
        activation: str = "logistic",
        error: str | None = None,
        reduction: str = "sum",
        lr: float = 0.003,
        momentum: float = 0.5,
        grain: str = "minibatch",
        batch_size: int = 32,
        order: str = "shuffled",
        max_sweeps: int = 200,
        decay: float = 0.0,
        init: str = "uniform",
        init_scale: float = 0.3,
        seed: int = 0,
        n_seeds: int = 1,
        validation_fraction: float = 0.2,
        engine: str = "auto",
        scale_targets: bool = True,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.error = error
        self.reduction = reduction
        self.lr = lr
        self.momentum = momentum
        self.grain = grain
        self.batch_size = batch_size
        self.order = order
        self.max_sweeps = max_sweeps
        self.decay = decay
        self.init = init
        self.init_scale = init_scale
        self.seed = seed
        self.n_seeds = n_seeds
        self.validation_fraction = validation_fraction
        self.engine = engine
        self.scale_targets = scale_targets

    _kind = "regression"

    def _output(self) -> str:
        return "linear"

    def _coded(self, y: Array) -> Array:
        """Targets ``(N, k)`` in the fitted scaling."""
        Y = y.reshape(len(y), -1)
        return (Y - self.target_mean_) / self.target_scale_

    def _set_scaling(self, y: Array) -> None:
        Y = y.reshape(len(y), -1)
        s = (supervised.Scaling.of(Y) if self.scale_targets
             else supervised.Scaling.identity(Y.shape[1]))
        self.target_mean_, self.target_scale_ = s.mean, s.scale
        self._one_column = y.ndim == 1

    def fit(self, X: Any, y: Any) -> BackpropRegressor:
        """Train ``n_seeds`` networks on ``X`` ``(N, n_features)`` and ``y`` ``(N,)`` or
        ``(N, k)``; keep the best."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True)
        self._set_scaling(y)
        self._train(X, self._coded(y), self._kind)
        return self

    def partial_fit(self, X: Any, y: Any) -> BackpropRegressor:
        """One sweep over ``X``, ``y``, continuing the previous call (or ``fit``); the target
        scaling is that of the first call."""
        first = not hasattr(self, "coefs_")
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, multi_output=True,
                              reset=first)
        if first:
            self._set_scaling(y)
        elif y.reshape(len(y), -1).shape[1] != len(self.target_mean_):
            raise ValueError(f"y has {y.reshape(len(y), -1).shape[1]} columns; the first call "
                             f"had {len(self.target_mean_)}")
        self._partial(X, self._coded(y))
        return self

    def predict(self, X: Any) -> Array:
        """Outputs mapped back to the targets' units: ``(N,)`` for a 1-D ``y``, else ``(N, k)``."""
        _, out = self._forward(X)
        Y = out * self.target_scale_ + self.target_mean_
        return Y[:, 0] if self._one_column else Y

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


__all__ = ["BackpropClassifier", "BackpropRegressor"]
