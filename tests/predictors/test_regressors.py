"""GraphRegressor (predictors/regressors.py): the scikit-learn contract and the uncertainty."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from core.errors import SparseNASError
from predictors.regressors import (
    KINDS,
    TUNING_GRID,
    GraphRegressor,
    kendall_tau,
    make_pipeline,
)

# Every check applies and passes: none is skipped. (The sample_weight checks are left out
# by scikit-learn itself, since fit takes no sample_weight.) Small ensembles keep it fast.
ESTIMATORS = [
    GraphRegressor(kind=kind, n_estimators=40 if kind == "xgboost" else 10, random_state=0)
    for kind in KINDS
]
ESTIMATORS.append(GraphRegressor(kind="auto", n_estimators=5, inner_cv=2, random_state=0))
ESTIMATORS.append(GraphRegressor(kind="extratrees", n_estimators=5, tune=True, random_state=0))


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_contract(estimator, check):
    check(estimator)


def linear_data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = 0.9 + 0.05 * X[:, 0] - 0.02 * X[:, 1] + 0.002 * rng.normal(size=n)
    return X, y


def test_constructor_only_stores():
    model = GraphRegressor(kind="nonsense", n_estimators=-3)
    assert model.get_params() == {
        "kind": "nonsense",
        "n_estimators": -3,
        "inner_cv": 3,
        "n_bootstrap": 5,
        "tune": False,
        "random_state": None,
    }
    assert clone(model).get_params() == model.get_params()


def test_bad_parameters_fail_in_fit():
    X, y = linear_data()
    with pytest.raises(SparseNASError, match="unknown model kind 'nonsense'"):
        GraphRegressor(kind="nonsense").fit(X, y)
    with pytest.raises(SparseNASError, match="n_estimators must be a positive integer"):
        GraphRegressor(kind="rf", n_estimators=0).fit(X, y)
    with pytest.raises(SparseNASError, match="n_bootstrap must be a non-negative"):
        GraphRegressor(kind="xgboost", n_bootstrap=-1).fit(X, y)


def test_predict_before_fit_names_the_class():
    with pytest.raises(NotFittedError, match="GraphRegressor"):
        GraphRegressor(kind="rf").predict(np.zeros((1, 4)))


@pytest.mark.parametrize("kind", KINDS)
def test_uncertainty_is_positive_and_shaped(kind):
    X, y = linear_data()
    model = GraphRegressor(kind=kind, n_estimators=20, n_bootstrap=3, random_state=1).fit(X, y)
    mean, std = model.predict(X[:7], return_std=True)
    assert mean.shape == std.shape == (7,)
    assert np.all(std >= 0) and np.any(std > 0)
    np.testing.assert_array_equal(mean, model.predict(X[:7]))
    # Far from the data the forests and the Bayesian ridge grow less sure, not more.
    if kind in ("bayesridge",):
        _, far = model.predict(X[:7] + 20, return_std=True)
        assert np.all(far > std)


def test_boosted_kinds_need_bootstraps_for_a_spread():
    X, y = linear_data()
    model = GraphRegressor(kind="xgboost", n_estimators=10, n_bootstrap=0, random_state=0)
    model.fit(X, y)
    assert model.bootstraps_ == []
    with pytest.raises(SparseNASError, match="n_bootstrap >= 1"):
        model.predict(X, return_std=True)


def test_same_seed_same_model_other_seed_other():
    X, y = linear_data()
    a = GraphRegressor(kind="rf", n_estimators=10, random_state=3).fit(X, y).predict(X)
    b = GraphRegressor(kind="rf", n_estimators=10, random_state=3).fit(X, y).predict(X)
    c = GraphRegressor(kind="rf", n_estimators=10, random_state=4).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_auto_picks_by_inner_kendall_tau():
    X, y = linear_data(120)
    model = GraphRegressor(kind="auto", n_estimators=20, random_state=0).fit(X, y)
    assert set(model.cv_scores_) == set(KINDS)
    assert model.kind_ == max(model.cv_scores_, key=model.cv_scores_.get)
    assert model.kind_ == "bayesridge"  # the target is linear
    assert model.cv_scores_["bayesridge"] > 0.9


def test_auto_falls_back_on_tiny_data():
    model = GraphRegressor(kind="auto", n_estimators=5, random_state=0)
    model.fit(np.arange(6.0).reshape(3, 2), [0.1, 0.2, 0.3])
    assert model.kind_ == "extratrees" and model.cv_scores_ == {}


def test_pipelines_scale_first():
    for kind in KINDS:
        pipeline = make_pipeline(kind, n_estimators=5, random_state=0)
        assert [name for name, _ in pipeline.steps] == ["scale", "model"]


def test_kendall_tau_is_nan_for_constant_input():
    assert np.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert kendall_tau([1, 2, 3], [3, 4, 5]) == pytest.approx(1.0)


def test_tune_picks_the_grid_point_of_the_best_inner_r2():
    """A worked example: one informative feature among many wants every feature per split,
    which the default (half of them) does not give; the search, on the training rows
    only, finds it, and the same seed gives the same choice and predictions."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(90, 12))
    y = X[:, 0] + 0.05 * rng.normal(size=90)
    fitted = [
        GraphRegressor(kind="extratrees", n_estimators=30, tune=True, random_state=4).fit(X, y)
        for _ in range(2)
    ]
    assert fitted[0].best_params_["model__max_features"] == 1.0
    assert set(fitted[0].best_params_) == set(TUNING_GRID)
    assert fitted[0].best_params_ == fitted[1].best_params_
    np.testing.assert_array_equal(fitted[0].predict(X), fitted[1].predict(X))
    assert fitted[0].model_[-1].max_features == fitted[0].best_params_["model__max_features"]
    assert GraphRegressor(kind="rf", random_state=0).fit(X, y).best_params_ == {}


def test_tune_applies_to_forests_only():
    X, y = linear_data()
    with pytest.raises(SparseNASError, match="tune searches the forests' grid"):
        GraphRegressor(kind="xgboost", tune=True).fit(X, y)
    with pytest.raises(SparseNASError, match="tune must be True or False"):
        GraphRegressor(kind="rf", tune="yes").fit(X, y)
