"""The scikit-learn estimators: scikit-learn's own estimator checks, and what is ours.

``parametrize_with_checks`` runs every check scikit-learn applies to a
classifier and a regressor; the estimators are given a small ``max_sweeps`` so
the checks stay fast (each check fits a few small data sets).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from backprop86.sklearn import BackpropClassifier, BackpropRegressor

#: Checks that cannot apply, per estimator class, with the reason. None: every check passes.
#: scikit-learn itself skips one, check_array_api_input, unless SCIPY_ARRAY_API=1 was set
#: before SciPy was imported; the estimators compute in NumPy and do not claim array API
#: support (their tags say so), so that check would only feed them NumPy arrays. The checks
#: that feed pandas objects run when pandas is installed (the test extra installs it).
EXPECTED_FAILED: dict[str, dict[str, str]] = {}


def expected_failed(estimator) -> dict[str, str]:
    return EXPECTED_FAILED.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [BackpropClassifier(max_sweeps=30), BackpropRegressor(max_sweeps=30)],
    expected_failed_checks=expected_failed,
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ----------------------------------------------------------------------------
# What is ours: K seeds as one batch, partial_fit, the output coding, tooling
# ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def iris():
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def test_n_seeds_trains_every_seed_and_keeps_the_best_on_the_held_out_cases(iris):
    from backprop86 import supervised

    X, y = iris
    clf = BackpropClassifier(n_seeds=6, max_sweeps=15, lr=0.01, seed=3).fit(X, y)
    assert clf.seeds_ == [3, 4, 5, 6, 7, 8]
    assert clf.seed_scores_.shape == (6,)
    assert clf.best_seed_ == clf.seeds_[int(np.argmax(clf.seed_scores_))]
    train, held = supervised.validation_split(len(X), 0.2, 3, y)
    assert len(held) == 30 and np.bincount(y[held]).tolist() == [10, 10, 10]  # stratified
    assert clf.score(X[held], y[held]) == pytest.approx(clf.seed_scores_.max())
    # the kept replica is the network that seed trains alone on the same cases
    alone = BackpropClassifier(seed=clf.best_seed_, max_sweeps=15, lr=0.01).fit(X[train],
                                                                                  y[train])
    for a, b in zip(clf.coefs_ + clf.intercepts_, alone.coefs_ + alone.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_one_logistic_unit_per_class_or_softmax(iris):
    X, y = iris
    logistic = BackpropClassifier(max_sweeps=20).fit(X, y)
    assert [w.shape for w in logistic.coefs_] == [(4, 16), (16, 3)]
    p = logistic.predict_proba(X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (logistic.classes_[p.argmax(axis=1)] == logistic.predict(X)).all()
    assert (logistic.classes_[logistic.decision_function(X).argmax(axis=1)]
            == logistic.predict(X)).all()
    softmax = BackpropClassifier(output="softmax", max_sweeps=20).fit(X, y)
    assert softmax._error() == "cross_entropy" and softmax.score(X, y) > 0.9
    binary = BackpropClassifier(max_sweeps=20).fit(X[y < 2], np.where(y[y < 2], "b", "a"))
    assert binary.coefs_[-1].shape == (16, 1)  # two classes: one logistic unit
    assert set(binary.predict(X[y < 2])) == {"a", "b"}
    assert ((binary.decision_function(X) > 0) == (binary.predict_proba(X)[:, 1] > 0.5)).all()


def test_partial_fit_continues_the_weights_and_the_momentum(iris):
    X, y = iris
    settings = {"grain": "sweep", "order": "sequential", "lr": 0.01, "momentum": 0.9}
    whole = BackpropClassifier(max_sweeps=3, **settings).fit(X, y)
    step = BackpropClassifier(**settings)
    step.partial_fit(X, y, classes=[0, 1, 2])
    step.partial_fit(X, y)
    step.partial_fit(X, y)
    assert step.n_iter_ == whole.n_iter_ == 3 and len(step.loss_curve_) == 3
    for a, b in zip(whole.coefs_, step.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(step.loss_curve_, whole.loss_curve_, rtol=1e-12)
    with pytest.raises(ValueError, match="classes"):
        BackpropClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match="not one of classes_"):
        step.partial_fit(X[:2], [0, 7])


def test_regressor_scales_targets_and_predicts_in_their_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = 1000 + 300 * np.sin(X[:, 0]) + 200 * X[:, 1]
    reg = BackpropRegressor(max_sweeps=150).fit(X, y)
    assert reg.target_mean_[0] == pytest.approx(y.mean())
    assert reg.score(X, y) > 0.9 and reg.predict(X).shape == (200,)
    two = BackpropRegressor(max_sweeps=50).fit(X, np.c_[y, -y])
    assert two.predict(X).shape == (200, 2)
    many = BackpropRegressor(max_sweeps=50, n_seeds=4).fit(X, y)
    assert many.seed_scores_.shape == (4,) and many.best_seed_ in many.seeds_


def test_a_bad_setting_is_one_clear_value_error_at_fit(iris):
    X, y = iris
    for params, words in [({"lr": -1}, "lr must be"), ({"grain": "epoch"}, "grain must be"),
                          ({"output": "tanh"}, "output must be"),
                          ({"n_seeds": 0}, "n_seeds must be"),
                          ({"n_seeds": 2, "validation_fraction": 1.5}, "validation_fraction")]:
        with pytest.raises(ValueError, match=words):
            BackpropClassifier(**params).fit(X, y)


def test_pipeline_and_grid_search(iris):
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = iris
    pipe = make_pipeline(StandardScaler(), BackpropClassifier(max_sweeps=20))
    grid = GridSearchCV(pipe, {"backpropclassifier__hidden": [(2,), (8,)],
                               "backpropclassifier__lr": [0.01, 0.05]}, cv=3)
    grid.fit(X, y)
    assert grid.best_score_ > 0.85
    assert set(grid.best_params_) == {"backpropclassifier__hidden", "backpropclassifier__lr"}


def test_the_estimators_defaults_are_backprop86_fits():
    from backprop86 import supervised

    table = supervised.TABLE_CONFIG
    clf = BackpropClassifier()._config()
    assert clf == table
    reg = BackpropRegressor()._config()
    assert reg == table.replace(lr=supervised.REGRESSION_LR)
